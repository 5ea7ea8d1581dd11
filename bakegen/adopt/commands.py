"""`bakegen init` and `bakegen import`: validate a new matrix, then write it.

Both never overwrite a file: a matrix that exists is the user's. Before
writing, the matrix text goes through bakegen's own pipeline in memory, so
what the user is told to fix is exactly what `bakegen render` would refuse,
listed once with the edits the draft asks for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import BakegenError, Diagnostic
from ..files.read import is_regular
from .draft import Draft, Note
from .emit import emit
from .scan import COMPOSE_FILES, OVERRIDE_FILES  # the files compose reads on its own

BAKE_SUFFIXES = (".hcl", ".json")


@dataclass(frozen=True)
class Adopted:
    """What init or import did: the file written and what the user should know."""

    path: Path
    services: int
    stages: int
    sources: tuple[str, ...]  # the files read
    notes: tuple[Note, ...]  # what was not imported
    edits: tuple[str, ...]  # what to change in the user's files
    problems: tuple[Diagnostic, ...]  # what `bakegen validate` says that no edit above explains


def variants_of(compose: Path) -> list[Path]:
    """The override file compose merges over `compose` when run with no -f: one or none."""
    if compose.name not in COMPOSE_FILES:
        return []
    found = [compose.parent / name for name in OVERRIDE_FILES if (compose.parent / name).is_file()]
    return found[:1]


def other_variants(compose: Path, read: list[Path]) -> list[Path]:
    """Files beside `compose` that look like its variants (docker-compose.dev.yml) but that
    compose reads only when named, as import does: listed, not read."""
    stem = compose.name.split(".")[0]
    taken = {p.resolve() for p in read}
    return sorted(p for p in compose.parent.iterdir()
                  if p.is_file() and p.resolve() not in taken and p.name.startswith(stem + ".")
                  and p.suffix in (".yml", ".yaml") and p.name not in OVERRIDE_FILES)


def import_files(sources: list[str], output: str | None = None) -> Adopted:
    """Import a compose project (a compose file, then its variants) or a bake file.

    With one compose file, the override file compose would merge over it is
    read too. Without `output`, matrix.yaml goes where every build context is
    inside: next to the first source, or the folder that holds them all.
    Raises BakegenError when a source cannot be read, builds nothing, or the
    output exists.
    """
    paths = [Path(s) for s in sources]
    for p in paths:
        if not is_regular(p):
            what = ("is a folder, not a file" if p.is_dir() else "not a regular file (a pipe, socket or device)"
                    if p.exists() else "file not found")
            raise BakegenError([Diagnostic(what, file=str(p), hint="pass a docker-compose.yml or a docker-bake.hcl")])
    if paths[0].suffix in BAKE_SUFFIXES and len(paths) > 1:
        raise BakegenError([Diagnostic("import reads one bake file at a time", file=str(paths[1]))])
    if paths[0].suffix not in BAKE_SUFFIXES and len(paths) == 1:
        paths += variants_of(paths[0])
    target = Path(output) if output else paths[0].parent / "matrix.yaml"
    _refuse_existing(target)
    draft = _read(paths, target.parent)
    if output is None:
        # A matrix's paths stay inside its folder (unless allow_outside says otherwise):
        # put it where every context is, as compose and bake reach `..` from their file.
        folder = _holding_every_path(draft, target.parent)
        # Never above the folder import runs in: `dockerfile: /etc/passwd` would put it at /.
        if folder != target.parent.resolve() and folder.is_relative_to(Path.cwd().resolve()):
            shown = os.path.relpath(folder) if folder.is_relative_to(Path.cwd()) else str(folder)
            target = Path(shown) / "matrix.yaml"
            _refuse_existing(target)
            draft = _read(paths, target.parent)
            draft.note(f"the matrix is {target}, not beside {paths[0].name}: the build contexts it names reach "
                       "up to that folder, and a matrix's paths stay inside its own", _display(paths[0], target.parent))
    if paths[0].suffix in BAKE_SUFFIXES and paths[0].resolve() == (target.parent / "docker-bake.hcl").resolve():
        draft.edit(
            f"move {paths[0].name} away (e.g. `git mv {paths[0].name} docker-bake.old.hcl`): bakegen writes "
            "its own docker-bake.hcl next to matrix.yaml and never overwrites one it did not write")
    if paths[0].suffix not in BAKE_SUFFIXES and len(sources) == 1:
        others = other_variants(paths[0], paths)
        if others:
            names = " ".join(_shown(p, Path.cwd()) for p in [paths[0], *others])
            draft.note(f"{', '.join(p.name for p in others)}: compose reads {'these' if len(others) > 1 else 'it'} "
                       f"only when named with -f, and so does import; `bakegen import {names}` takes the stages "
                       f"{'they build' if len(others) > 1 else 'it builds'}", _display(paths[0], target.parent))
    return _finish(draft, target, tuple(_shown(p, target.parent) for p in paths))


def _read(paths: list[Path], project_dir: Path) -> Draft:
    from . import bake, compose

    if paths[0].suffix in BAKE_SUFFIXES:
        return bake.read(paths[0], project_dir)
    return compose.read(paths, project_dir)


def _holding_every_path(draft: Draft, project_dir: Path) -> Path:
    """The nearest folder that holds `project_dir` and every context, Dockerfile and named
    context of the draft's services (their paths are relative to `project_dir`)."""
    base = project_dir.resolve()
    found = [base]
    for service in draft.data.get("services", {}).values():
        for value in (service.get("context"), service.get("dockerfile"), *(service.get("contexts") or {}).values()):
            if value:
                found.append(Path(os.path.normpath(base / value)))
    return Path(os.path.commonpath(found))


def init_folder(folder: str, output: str | None = None) -> Adopted:
    """Scan `folder` and write a matrix for the projects found there."""
    from . import init

    root = Path(folder)
    if not root.is_dir():
        raise BakegenError([Diagnostic("not a folder", file=folder, hint="pass the project's folder")])
    target = Path(output) if output else root / "matrix.yaml"
    _refuse_existing(target)
    draft = init.draft_for(root, target.parent)
    return _finish(draft, target, ())


def _display(path: Path, project_dir: Path) -> str:
    """A source file as the importers name it in notes: as given, or relative to the matrix."""
    return _shown(path, project_dir) if path.is_absolute() else str(path)


def _shown(path: Path, project_dir: Path) -> str:
    return os.path.relpath(path, project_dir).replace(os.sep, "/")


def _refuse_existing(target: Path) -> None:
    if target.exists():
        raise BakegenError([Diagnostic(
            f"{target.name} exists; bakegen never overwrites a matrix", file=str(target),
            hint="remove or rename it, or write elsewhere with -o FILE")])


def _finish(draft: Draft, target: Path, sources: tuple[str, ...]) -> Adopted:
    from ..pipeline import load_text
    from ..render.write import make_folders, write_file

    text = emit(draft)
    # The folder first: the matrix's paths are relative to it, also in memory.
    make_folders(target)
    problems: tuple[Diagnostic, ...] = ()
    try:
        load_text(text, target)
    except BakegenError as exc:
        problems = tuple(d for d in exc.diagnostics if not _explained(d, draft))
    # Checked again just before writing: nothing may have appeared meanwhile.
    _refuse_existing(target)
    write_file(target, text)
    services = draft.data.get("services", {})
    return Adopted(target, len(services), len(draft.data.get("stages", {})), sources, tuple(draft.sorted_notes()),
                   tuple(e.message for e in draft.edits), problems)


def _explained(d: Diagnostic, draft: Draft) -> bool:
    """Whether an edit the draft asks for already says what `d` says (see Edit)."""
    if len(d.path) < 3 or d.path[0] != "services":
        return False
    service = draft.data.get("services", {}).get(d.path[1], {})
    return any(e.dockerfile and e.dockerfile == service.get("dockerfile")
               and d.path[2] in e.covers for e in draft.edits)


def report(adopted: Adopted) -> list[str]:
    """The lines init and import print: what was written, what was not imported, and every
    edit the matrix needs before `bakegen render` (the draft's, then the pipeline's), once each."""
    from ..errors import format_diagnostics

    lines = [f"wrote {adopted.path}: {adopted.services} service(s), {adopted.stages} stage(s)"
             + (f" from {', '.join(adopted.sources)}" if adopted.sources else "")]
    if adopted.notes:
        lines.append(f"not imported ({len(adopted.notes)}, also listed as comments in {adopted.path.name}):")
        lines.extend(f"  {n.format()}" for n in adopted.notes)
    if adopted.edits or adopted.problems:
        lines.append("edit before `bakegen render`:")
        lines.extend(f"  {e}" for e in adopted.edits)
        if adopted.problems:
            lines.extend("  " + line for line in format_diagnostics(list(adopted.problems)).splitlines())
    else:
        lines.append(f"next: bakegen render -f {adopted.path} && docker buildx bake")
    return lines
