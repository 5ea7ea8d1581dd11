"""`bakegen affected`: the targets whose inputs differ between a commit and the working tree.

Both sides are compiled by this bakegen: the working tree as it is, the
commit from its files written to a temporary folder (tools/git.py). Then
the two plans are compared target by target, by input digest
(tools/digests.py) and by where each image goes (tags, platforms, push):
plans, not files, so a change to matrix.yaml affects only the targets whose
resolved values changed, and a comment or a reordered key affects none.

With `registry`, a pushed target whose inputs did not change (or every
pushed target, without a commit to compare with) is looked for in the
registry (tools/reuse.py): found, it is re-tagged instead of built.

Output (one function per format): `text` prints the targets to build one
per line, which `docker buildx bake $(bakegen affected ...)` takes as
they are, or `none`, the bake file's empty group, when there are none
(bake without targets would build its default group: everything); why
each is affected goes to stderr. `json` is the whole plan for other CI
systems; `github` is the generated workflow's job matrices, as
`$GITHUB_OUTPUT` lines.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BakegenError
from ..model.plan import Plan, Target
from . import digests, git
from .digests import TargetInputs
from .reuse import Held

# The bake file's group with no targets: `docker buildx bake none` builds nothing.
NOTHING = "none"
# File names listed in one reason before "and N more".
SHOWN = 3
NO_PLAN = "no plan to compare with"


@dataclass(frozen=True)
class Change:
    target: str
    affected: bool
    why: tuple[str, ...] = ()  # what differs, when affected


@dataclass(frozen=True)
class Affected:
    """What `bakegen affected` found: every selected target of the working tree's plan."""

    plan: Plan
    inputs: dict[str, TargetInputs]
    changes: tuple[Change, ...]  # the selected targets, in plan order
    since: str | None = None  # the revision compared with, as given
    commit: str | None = None  # ... and the commit it names
    notes: tuple[str, ...] = ()
    registry: bool = False  # whether the registry was asked
    held: dict[str, Held] = field(default_factory=dict)
    problems: tuple[str, ...] = ()  # registry candidates that could not be read
    allow: tuple[str, ...] = ()  # the --allow flags the bake file needs (a CI pipeline's bake runs)

    def action(self, change: Change) -> str:
        """build, retag (the registry holds its image) or none."""
        t = self.plan.target(change.target)
        if t.name in self.held:
            return "retag"
        if change.affected or (self.registry and t.push):
            return "build"
        return "none"

    def why(self, change: Change) -> tuple[str, ...]:
        looked_up = self.registry and self.plan.target(change.target).push and (
            not change.affected or change.why == (NO_PLAN,))
        if looked_up and self.action(change) == "build":
            return ("no image with these inputs in the registry",)
        return change.why

    @property
    def build(self) -> list[str]:
        return [c.target for c in self.changes if self.action(c) == "build"]


def affected(matrix_file: str, since: str | None = None, names: Sequence[str] = (), registry: bool = False,
             reuse_tags: Sequence[str] = (), templates: str | None = None,
             environ: Mapping[str, str] = os.environ) -> Affected:
    """Compare the working tree with `since` (None: every target is affected); restrict to the
    targets and groups `names` (none: all); with `registry`, look for images to re-tag.

    Raises BakegenError for an invalid matrix, an unknown name, an unknown
    revision, no git repository, or no docker (with `registry`).
    """
    from ..pipeline import render_project

    rendered = render_project(matrix_file, templates)
    plan = rendered.plan
    selected = digests.targets_named(plan, names, matrix_file)
    inputs = digests.compute(plan, rendered.project_dir, rendered.files, rendered.templates)
    notes: list[str] = []
    before: tuple[Plan, dict[str, TargetInputs]] | None = None
    commit = None
    if since is None:
        notes.append("no revision to compare with: every target counts as affected")
    else:
        commit, before, note = _at_commit(Path(matrix_file), since, templates)
        if note:
            notes.append(note)
    changes = tuple(compare(before, plan, inputs, t) for t in plan.targets if t.name in selected)
    result = Affected(plan, inputs, changes, since, commit, tuple(notes), allow=rendered.allow)
    if not registry:
        return result
    from . import reuse

    # Unaffected pushed targets; all of them when there is nothing to compare with.
    wanted = [c.target for c in changes if plan.target(c.target).push and (not c.affected or c.why == (NO_PLAN,))]
    found = reuse.lookup(plan, {n: inputs[n].digest for n in wanted}, wanted, environ, reuse_tags)
    return Affected(plan, inputs, changes, since, commit, tuple(notes), True, found.held, found.problems,
                    rendered.allow)


def _at_commit(matrix: Path, since: str, templates: str | None
               ) -> tuple[str, tuple[Plan, dict[str, TargetInputs]] | None, str | None]:
    """The commit `since` names, the plan and input digests of the matrix in it (None if it
    has none or it does not load), and a note saying why there is none."""
    from ..pipeline import render_project

    project = matrix.resolve().parent
    repo = git.toplevel(project)
    sha = git.commit(since, repo)
    where = matrix.resolve().relative_to(repo.resolve())
    with tempfile.TemporaryDirectory(prefix="bakegen-affected-") as tmp:
        tree = Path(tmp) / "tree"
        git.export(sha, repo, tree)
        old_matrix = tree / where
        if not old_matrix.is_file():
            return sha, None, f"{since} has no {where.as_posix()}: every target counts as affected"
        # A --templates folder inside the repository is read as the commit has it.
        old_templates = templates
        if templates is not None:
            inside = Path(templates).resolve()
            if inside.is_relative_to(repo.resolve()):
                old_templates = str(tree / inside.relative_to(repo.resolve()))
        try:
            rendered = render_project(old_matrix, old_templates)
        except BakegenError as exc:
            return sha, None, (f"{where.as_posix()} at {since} does not compile ({len(exc.diagnostics)} "
                               "error(s)): every target counts as affected")
        old = digests.compute(rendered.plan, rendered.project_dir, rendered.files, rendered.templates)
        return sha, (rendered.plan, old), None


def compare(before: tuple[Plan, dict[str, TargetInputs]] | None, plan: Plan,
            inputs: dict[str, TargetInputs], t: Target) -> Change:
    """Whether target `t` of `plan` is affected, and why."""
    if before is None:
        return Change(t.name, True, (NO_PLAN,))
    old_plan, old_inputs = before
    if t.name not in old_inputs:
        return Change(t.name, True, ("a new target",))
    old, new = old_inputs[t.name], inputs[t.name]
    why = _why(old, new, digests.published(old_plan.target(t.name)), digests.published(t))
    if not why and old.platforms != new.platforms:
        why = ["its inputs changed"]
    return Change(t.name, bool(why), tuple(why))


def _why(old: TargetInputs, new: TargetInputs, old_pub: dict[str, Any], new_pub: dict[str, Any]) -> list[str]:
    a, b = old.parts, new.parts
    out = []
    if a["bakegen"] != b["bakegen"]:
        out.append(f"bakegen {a['bakegen']} -> {b['bakegen']}")
    old_files, new_files = a["files"], b["files"]
    for verb, paths in (("changed", [f for f in new_files if f in old_files and old_files[f] != new_files[f]]),
                        ("added", [f for f in new_files if f not in old_files]),
                        ("removed", [f for f in old_files if f not in new_files])):
        if paths:
            more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
            out.append(f"{verb}: {', '.join(paths[:SHOWN])}{more}")
    for key, what in (("dockerfile", "its generated Dockerfile changed"),
                      ("dockerignore", "its generated .dockerignore changed")):
        if a[key] != b[key]:
            out.append(what)
    templates = [n for n in {**a["templates"], **b["templates"]} if a["templates"].get(n) != b["templates"].get(n)]
    if templates:
        out.append(f"template {', '.join(templates)} changed")
    if a["images"] != b["images"]:
        out.append(f"images {', '.join(a['images']) or '(none)'} -> {', '.join(b['images']) or '(none)'}")
    attributes = [k for k in b["build"] if a["build"].get(k) != b["build"][k]]
    if attributes:
        out.append(f"bake {', '.join(attributes)} changed")
    upstream = [u for u in b["upstream"] if a["upstream"].get(u) != b["upstream"][u]]
    if upstream:
        out.append(f"built on {', '.join(upstream)}, which changed")
    published = [k for k in new_pub if old_pub.get(k) != new_pub[k]]
    if published:
        out.append(f"{', '.join(published)} changed")
    return out


# -- output --------------------------------------------------------------------


def text(result: Affected) -> tuple[str, list[str]]:
    """(stdout: the targets to build, one per line, or `none`; stderr: why, and a summary)."""
    build = result.build
    err = [*result.notes]
    for c in result.changes:
        action = result.action(c)
        if action == "build" and result.why(c) != (NO_PLAN,):  # a note says so once
            err.append(f"{c.target}: {'; '.join(result.why(c))}")
        elif action == "retag":
            err.append(f"{c.target}: unchanged, re-tag {result.held[c.target].source}")
    err += [f"registry: {p}" for p in result.problems[:SHOWN]]
    since = f" since {result.since} ({result.commit[:12]})" if result.since and result.commit else ""
    total = len(result.changes)
    if build:
        err.append(f"{len(build)} of {total} target(s) to build{since}")
        return "\n".join(build) + "\n", err
    err.append(f"no target to build{since}: `docker buildx bake {NOTHING}` builds nothing")
    return NOTHING + "\n", err


def as_json(result: Affected) -> str:
    """The plan as JSON, for CI systems other than GitHub Actions (docs/affected.md)."""
    targets = []
    for c in result.changes:
        t = result.plan.target(c.target)
        found = result.inputs[c.target]
        action = result.action(c)
        held = result.held.get(c.target) if action == "retag" else None
        targets.append({
            "target": t.name, "service": t.service, "stage": t.stage, "push": t.push,
            "platforms": found.platforms, "inputs": found.digest,
            "affected": c.affected, "why": list(result.why(c)) if action == "build" else [],
            "action": action, "source": held.source if held else None,
        })
    return json.dumps({
        "since": result.since, "commit": result.commit, "notes": list(result.notes),
        "registry": result.registry, "label": digests.LABEL,
        "build": result.build, "bake": result.build or [NOTHING],
        "targets": targets,
    }, indent=2) + "\n"


def github(result: Affected) -> str:
    """`$GITHUB_OUTPUT` lines: each job's matrix of the generated workflow, as one-line JSON."""
    from ..compiler.project import github_ci
    from ..render import ci_github

    plan = result.plan
    ci = plan.ci_github or github_ci()
    build = {c.target: result.inputs[c.target].digest for c in result.changes
             if plan.target(c.target).push and result.action(c) == "build"}
    retag = {n: (result.inputs[n].digest, h.source) for n, h in result.held.items()
             if n in {c.target for c in result.changes} and n not in build}
    matrices = ci_github.matrices(plan, ci, build, retag)
    return "".join(f"{name}={json.dumps(entries, separators=(',', ':'))}\n" for name, entries in matrices.items())


def gitlab(result: Affected) -> str:
    """The generated GitLab pipeline's merge-request child pipeline: build jobs of the
    pushed targets to build (render/ci_gitlab.py)."""
    from ..compiler.project import gitlab_ci
    from ..render import ci_gitlab

    plan = result.plan
    ci = plan.ci_gitlab or gitlab_ci()
    return ci_gitlab.render_merge_request(plan, ci, result.allow, result.build)
