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
from .draft import Draft, Note
from .emit import emit

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
    """Files that vary `compose` (docker-compose.dev.yml, compose.override.yaml, ...), sorted."""
    stem = compose.name.split(".")[0]
    found = [p for p in compose.parent.iterdir()
             if p.is_file() and p != compose and p.name.startswith(stem + ".") and p.suffix in (".yml", ".yaml")]
    return sorted(found)


def import_files(sources: list[str], output: str | None = None) -> Adopted:
    """Import a compose project (a compose file, then its variants) or a bake file.

    With one compose file, its variants next to it are read too. Raises
    BakegenError when a source cannot be read or the output exists.
    """
    from . import bake, compose

    paths = [Path(s) for s in sources]
    for p in paths:
        if not p.is_file():
            raise BakegenError([Diagnostic("file not found", file=str(p),
                                           hint="pass a docker-compose.yml or a docker-bake.hcl")])
    target = Path(output) if output else paths[0].parent / "matrix.yaml"
    _refuse_existing(target)
    project_dir = target.parent
    if paths[0].suffix in BAKE_SUFFIXES:
        if len(paths) > 1:
            raise BakegenError([Diagnostic("import reads one bake file at a time", file=str(paths[1]))])
        draft = bake.read(paths[0], project_dir)
        if paths[0].resolve() == (project_dir / "docker-bake.hcl").resolve():
            draft.edit(
                f"move {paths[0].name} away (e.g. `git mv {paths[0].name} docker-bake.old.hcl`): bakegen writes "
                "its own docker-bake.hcl next to matrix.yaml and never overwrites one it did not write")
    else:
        if len(paths) == 1:
            paths += variants_of(paths[0])
        draft = compose.read(paths, project_dir)
    return _finish(draft, target, tuple(_shown(p, project_dir) for p in paths))


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


def _shown(path: Path, project_dir: Path) -> str:
    return os.path.relpath(path, project_dir).replace(os.sep, "/")


def _refuse_existing(target: Path) -> None:
    if target.exists():
        raise BakegenError([Diagnostic(
            f"{target.name} exists; bakegen never overwrites a matrix", file=str(target),
            hint="remove or rename it, or write elsewhere with -o FILE")])


def _finish(draft: Draft, target: Path, sources: tuple[str, ...]) -> Adopted:
    from ..pipeline import load_text
    from ..render.write import atomic_write

    text = emit(draft)
    # The folder first: the matrix's paths are relative to it, also in memory.
    target.parent.mkdir(parents=True, exist_ok=True)
    problems: tuple[Diagnostic, ...] = ()
    try:
        load_text(text, target)
    except BakegenError as exc:
        problems = tuple(d for d in exc.diagnostics if not _explained(d, draft))
    # Checked again just before writing: nothing may have appeared meanwhile.
    _refuse_existing(target)
    atomic_write(target, text)
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
