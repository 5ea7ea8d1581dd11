"""The whole compiler, stage by stage: load -> validate -> resolve -> expand -> render.

Each call below is one stage; none reaches back into an earlier one. The
CLI and the public API both go through `render_project`.
"""

from __future__ import annotations

import os
import posixpath
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .compiler import expand, destinations, resolve
from .model import image_ref, load, schema, source
from .errors import BakegenError, Diagnostic
from .model.plan import Plan
from .version import __version__


@dataclass(frozen=True)
class Rendered:
    """Everything one render produced, before anything is written."""

    project_dir: Path
    plan: Plan
    files: dict[str, str]  # path relative to project_dir -> text
    allow: tuple[str, ...] = ()  # --allow=... flags the bake file needs (buildx >= 0.19)
    templates: str | None = None  # the folder of template overrides, if any

    @property
    def inputs(self) -> tuple[str, ...]:
        """What the plan is built from, relative to project_dir: the matrix, the templates,
        every build context, user Dockerfile and secret file. Writing never deletes these."""
        found = [self.plan.source]
        if self.templates:
            found.append(os.path.relpath(self.templates, self.project_dir.resolve()).replace(os.sep, "/"))
        for t in self.plan.targets:
            found += [t.context, posixpath.join(t.context, t.dockerfile)]
            found += [c for c in t.contexts.values() if "://" not in c and not c.startswith("target:")]
            found += [s.split(",src=", 1)[1] for s in t.secret if ",src=" in s]
        return tuple(dict.fromkeys(posixpath.normpath(p) for p in found))

    def bake_command(self) -> str:
        """`docker buildx bake` with the entitlements this project needs."""
        from .render.entitlements import command

        return command(self.allow)

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.plan.warnings


def load_project(matrix_file: str | os.PathLike[str]) -> tuple[resolve.Resolved, Plan]:
    """Load, validate, resolve and expand `matrix_file`; raise BakegenError on bad input."""
    path = Path(matrix_file)
    display = str(matrix_file)
    _check_name(path, display)
    return _validate_and_expand(source.load(path, display), path)


def load_text(text: str, matrix_file: str | os.PathLike[str]) -> tuple[resolve.Resolved, Plan]:
    """`load_project` for a matrix not written yet: `text`, as if it were `matrix_file`.

    Paths in it are relative to `matrix_file`'s folder, which must exist;
    `bakegen init` and `import` check what they would write with it.
    Raises BakegenError on bad input, as load_project does.
    """
    path = Path(matrix_file)
    display = str(matrix_file)
    _check_name(path, display)
    return _validate_and_expand(source.parse(text, display), path)


def _validate_and_expand(doc: source.Document, path: Path) -> tuple[resolve.Resolved, Plan]:
    try:
        matrix = load.validate(doc)
    except BakegenError as exc:
        exc.diagnostics += _later_errors(doc, path)
        raise
    try:
        return _resolve_and_expand(matrix, path)
    except BakegenError as exc:
        # Checks after the schema report paths; give them positions here.
        exc.diagnostics = [doc.positions.locate(d) if not d.line else d for d in exc.diagnostics]
        raise


def _resolve_and_expand(matrix: schema.Matrix, path: Path) -> tuple[resolve.Resolved, Plan]:
    project_dir = path.parent
    resolved = resolve.resolve(matrix, project_dir, path.name)
    plan = expand.expand(resolved, path.name, __version__)
    problems = image_ref.check_plan(matrix, plan) + destinations.check(plan, resolved.output, project_dir, path)
    if problems:
        raise BakegenError(problems)
    return resolved, plan


def _later_errors(doc: source.Document, path: Path) -> list[Diagnostic]:
    """What the checks after the schema find in the rest of an invalid matrix, located.

    Runs them on the matrix without what the schema refused (see
    load.without_refused), and keeps only what they say about other
    services: in a service that lost a value, or runs the image of one that
    did, a later error may only be the same mistake in other words.
    """
    repaired = load.without_refused(doc)
    if repaired is None:
        return []
    matrix, refused = repaired
    tainted = {str(p[1]) for p in refused if p[0] == "services" and len(p) >= 2}
    while True:
        more = {name for name, spec in matrix.services.items() if spec.image_of in tainted} - tainted
        if not more:
            break
        tainted |= more
    spans = [("services", name) for name in tainted] + [p for p in refused if p[0] != "services"]
    try:
        _resolve_and_expand(matrix, path)
    except BakegenError as exc:
        # Also not what is said about a whole that holds a refused value (a prefix of a span).
        return [doc.positions.locate(d) for d in exc.diagnostics
                if not any(d.path[:len(s)] == s or s[:len(d.path)] == d.path for s in spans)]
    return []


def _check_name(path: Path, display: str) -> None:
    # The matrix file's name is written into every banner and the manifest.
    # Control characters and line breaks (U+0085, U+2028 and U+2029 too)
    # would end those comment lines; a surrogate (an undecodable byte in the
    # name) cannot be written at all.
    bad = [c for c in path.name if unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp")]
    if bad:
        raise BakegenError([Diagnostic(
            f"the matrix file's name has characters bakegen cannot write into its banners: "
            f"{' '.join(map(repr, dict.fromkeys(bad)))}", file=display.encode("utf-8", "backslashreplace").decode(),
            hint="rename the file, e.g. to matrix.yaml")])


def build_plan(matrix_file: str | os.PathLike[str]) -> Plan:
    """Load, validate and expand `matrix_file`; raise BakegenError on bad input."""
    return load_project(matrix_file)[1]


def render_project(matrix_file: str | os.PathLike[str], templates: str | None = None) -> Rendered:
    """Render every generated file for `matrix_file` in memory.

    `templates`: a folder of template overrides, instead of the matrix's
    `project.templates`.
    """
    from . import render  # Jinja is imported only by commands that render

    plan = build_plan(matrix_file)
    project_dir = Path(matrix_file).parent
    folder = templates or (str(project_dir / plan.templates) if plan.templates else None)
    if folder is not None and not Path(folder).is_dir():
        raise BakegenError([Diagnostic("template folder not found", file=folder,
                                       hint="pass an existing folder to --templates")])
    override_dir = str(Path(folder).resolve()) if folder else None
    files, allow = render.render(plan, override_dir)
    return Rendered(project_dir, plan, files, allow, override_dir)
