"""What each CLI command does, as functions over values (no click here)."""

from __future__ import annotations

from dataclasses import dataclass

from .pipeline import Rendered, render_project
from .model.plan import SBOM, Plan, display
from .render.write import MANIFEST, FileStatus, compare, kept_warnings, previous_source, sync


@dataclass(frozen=True)
class RenderOutcome:
    """What one `render` did: a status per file, the warnings, and the bake command to use."""

    statuses: tuple[FileStatus, ...]
    warnings: tuple[str, ...]
    bake_command: str | None  # set when building needs flags (`--allow`)

    def lines(self, verbosity: int = 0) -> list[str]:
        """What `render` prints: -1 nothing, 0 a summary, 1 also one line per changed file."""
        if verbosity < 0:
            return []
        out = [f"{s.state:<9} {s.path}" for s in self.statuses if s.changed] if verbosity > 0 else []
        written = sum(s.state in ("create", "update") for s in self.statuses)
        deleted = sum(s.state == "delete" for s in self.statuses)
        unchanged = sum(s.state == "unchanged" for s in self.statuses)
        out.append(f"{written} file(s) written, {unchanged} unchanged" + (f", {deleted} deleted" if deleted else ""))
        if self.bake_command:
            out.append(f"build with: {self.bake_command}")
        return out


def render_files(matrix_file: str, force: bool = False, templates: str | None = None) -> RenderOutcome:
    """Render and write; return what was done, for the CLI to report."""
    rendered = render_project(matrix_file, templates)
    previous = previous_source(rendered.project_dir)
    statuses = sync(rendered.project_dir, rendered.files, force=force, protected=rendered.inputs)
    command = f"{rendered.bake_command()}  (--allow: buildx 0.19 and later)" if rendered.allow else None
    return RenderOutcome(tuple(statuses), (*rendered.warnings, *kept_warnings(statuses),
                                           *_replaced(previous, rendered.plan.source, statuses)), command)


def _replaced(previous: str | None, source: str, statuses: list[FileStatus]) -> list[str]:
    """A warning when this render replaced what another matrix file in the folder generated."""
    changed = [s for s in statuses if s.changed and s.path != MANIFEST]
    if previous is None or previous == source or not changed:
        return []
    deleted = [s.path for s in changed if s.state == "delete"]
    gone = f"; deleted {len(deleted)} file(s) only it generated: {', '.join(deleted)}" if deleted else ""
    return [f"the generated files here were rendered from {previous}; {source} replaced them{gone}. "
            f"`bakegen render -f {previous}` brings them back"]


def check_files(matrix_file: str, templates: str | None = None) -> tuple[tuple[str, ...], list[FileStatus]]:
    """Render in memory; return the warnings and the files that differ from disk.

    The facts behind both `check` and `diff`.
    """
    rendered = render_project(matrix_file, templates)
    changed = [s for s in compare(rendered.project_dir, rendered.files, rendered.inputs) if s.changed]
    # The manifest changes whenever another file does: report it only on its
    # own (a render was interrupted), so that each change shows once.
    if any(s.path != MANIFEST for s in changed):
        changed = [s for s in changed if s.path != MANIFEST]
    return rendered.warnings, changed


def target_table(plan: Plan) -> str:
    rows = [("TARGET", "SERVICE", "STAGE", "PLATFORMS", "TAGS")]
    for t in plan.targets:
        rows.append((t.name, t.service, t.stage, ",".join(t.platforms),
                     " ".join(display(tag) for tag in t.tags)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def graph_text(matrix_file: str, fmt: str) -> str:
    from .tools import graph
    from .pipeline import load_project

    resolved, plan = load_project(matrix_file)
    return graph.mermaid(resolved, plan) if fmt == "mermaid" else graph.dot(resolved, plan)


def run_bake(matrix_file: str, render_first: bool, bake_args: tuple[str, ...],
             templates: str | None = None) -> int:
    """Make sure the generated files are current, then hand over to `docker buildx bake`.

    Returns docker's exit code; raises BakegenError when the files are stale
    (without --render), REGISTRY or TAG would make invalid image names, or
    docker, buildx or the builder cannot build them.
    """
    import os
    import subprocess

    from .tools import buildx as buildx_module
    from .tools import image_names
    from .errors import BakegenError, Diagnostic

    rendered = render_project(matrix_file, templates)
    image_names.values(rendered.plan, os.environ)
    if any(s.changed for s in compare(rendered.project_dir, rendered.files, rendered.inputs)):
        if not render_first:
            raise BakegenError([Diagnostic(
                "generated files are not current", file=matrix_file,
                hint="run `bakegen render` first, or `bakegen bake --render ...`")])
        sync(rendered.project_dir, rendered.files, protected=rendered.inputs)
    builder = next((a.split("=", 1)[1] for a in bake_args if a.startswith("--builder=")), None)
    if builder is None and "--builder" in bake_args[:-1]:
        builder = bake_args[bake_args.index("--builder") + 1]
    found = buildx_module.probe(builder)
    buildx_module.check_can_build(found, rendered.plan, bake_args)
    # A builder of several nodes: which node builds which platform (on stderr).
    buildx_module.report_nodes(found, rendered.plan, bake_args)
    # buildx before 0.19 has no --allow (and checks no entitlements).
    allow = list(rendered.allow) if found.supports_allow else []
    command = [found.docker, "buildx", "bake", "--file", "docker-bake.hcl", *allow, *_input_labels(rendered),
               *bake_args]
    env = dict(os.environ)
    if "--push" in bake_args and any(v.name == SBOM for v in rendered.plan.variables):
        env.setdefault(SBOM, "true")  # a push carries the SBOM; a local build needs no scanner image
    return subprocess.run(command, cwd=rendered.project_dir, env=env).returncode


def _input_labels(rendered: Rendered) -> list[str]:
    """`--set` arguments that label every target's images with its input digest: set when
    building, not written into the bake file, which a source edit then leaves current.
    bake ignores those of targets it does not build; the caller's own `--set`s come after."""
    from .tools import digests

    found = digests.compute(rendered.plan, rendered.project_dir, rendered.files, rendered.templates)
    return [arg for name, inputs in found.items() for arg in ("--set", f"{name}.labels.{digests.LABEL}={inputs.digest}")]


def github_workflow(matrix_file: str) -> tuple[str, str, bool]:
    """(path, text, in the matrix) of the GitHub Actions workflow for `matrix_file`."""
    from .pipeline import build_plan
    from .render import github_workflow as render_workflow
    from .compiler.project import github_ci

    plan = build_plan(matrix_file)
    ci = plan.ci_github or github_ci()
    return ci.workflow, render_workflow(plan, ci), plan.ci_github is not None


def write_github_workflow(matrix_file: str) -> list[str]:
    """Write the workflow next to the matrix (never over a file bakegen did not write); return warnings."""
    from pathlib import Path

    path, text, configured = github_workflow(matrix_file)
    state = sync(Path(matrix_file).parent, {path: text})[0].state
    print(f"{state:<9} {path}" if state != "unchanged" else f"unchanged {path}")
    if configured:
        return []
    return [f"{matrix_file} has no `ci: {{github: {{}}}}`: `bakegen check` does not keep {path} current; "
            "add it to the matrix so render and check cover the workflow"]
