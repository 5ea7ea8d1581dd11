"""The whole compiler, stage by stage: load -> validate -> resolve -> expand -> render.

Each call below is one stage; none reaches back into an earlier one. The
CLI and the public API both go through `render_project`.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from . import expand, load, outputs, resolve, source
from .errors import BakegenError, Diagnostic
from .plan import Plan


@dataclass(frozen=True)
class Rendered:
    """Everything one render produced, before anything is written."""

    project_dir: Path
    plan: Plan
    files: dict[str, str]  # path relative to project_dir -> text

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.plan.warnings


def load_project(matrix_file: str | os.PathLike[str]) -> tuple[resolve.Resolved, Plan]:
    """Load, validate, resolve and expand `matrix_file`; raise BakegenError on bad input."""
    path = Path(matrix_file)
    display = str(matrix_file)
    _check_name(path, display)
    doc = source.load(path, display)
    matrix = load.validate(doc)
    project_dir = path.parent
    try:
        resolved = resolve.resolve(matrix, project_dir)
        plan = expand.expand(resolved, project_dir, path.name)
        unwritable = outputs.check(plan, resolved.output, project_dir, path)
        if unwritable:
            raise BakegenError(unwritable)
        return resolved, plan
    except BakegenError as exc:
        # Checks after the schema report paths; give them positions here.
        exc.diagnostics = [doc.positions.locate(d) if not d.line else d for d in exc.diagnostics]
        raise


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
    files = render.render(plan, str(Path(folder).resolve()) if folder else None)
    return Rendered(project_dir, plan, files)
