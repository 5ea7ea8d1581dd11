"""Render the plan into file contents, in memory: {relative path: text}.

Nothing is written here, so a failure in any template leaves the project
untouched (write.py writes only after every file rendered).
"""

from __future__ import annotations

import re

import jinja2

from . import entitlements, templating
from ..errors import BakegenError, Diagnostic
from ..model.plan import BAKE_FILE, Plan
from ..model.resolved import GithubCi
from .write import MANIFEST, manifest_text

_BLANK_LINES = re.compile(r"\n{3,}")
DOCKERIGNORE_TEMPLATE = "dockerignore.j2"


def render(plan: Plan, override_dir: str | None = None) -> tuple[dict[str, str], tuple[str, ...]]:
    """Render every generated file of `plan`; raise BakegenError if a template fails.

    Returns the files ({relative path: text}) and the `--allow=...` flags the
    bake file needs. `override_dir`: a folder whose templates replace shipped
    ones of the same name.
    """
    env = templating.environment(override_dir)
    files: dict[str, str] = {}
    for dockerfile in plan.dockerfiles:
        text = _render(env, dockerfile.template, plan.source, source=plan.source, service=dockerfile.service,
                       syntax=plan.syntax, values=dockerfile.values)
        # Optional sections leave runs of blank lines: one separates stages.
        files[dockerfile.path] = _check_lines(dockerfile.path, plan.source, _BLANK_LINES.sub("\n\n", text))
        if dockerfile.dockerignore is not None:
            files[dockerfile.dockerignore_path] = _render(
                env, DOCKERIGNORE_TEMPLATE, plan.source, source=plan.source,
                service=dockerfile.service, patterns=dockerfile.dockerignore)
    files[BAKE_FILE], allow = _render_bake(env, plan)
    if plan.ci_github is not None:
        files[plan.ci_github.workflow] = github_workflow(plan, plan.ci_github)
    if plan.ci_gitlab is not None:
        from . import ci_gitlab

        files[plan.ci_gitlab.file] = ci_gitlab.render(plan, plan.ci_gitlab, allow, plan.source)
    files[MANIFEST] = manifest_text(plan.source, files)
    return files, allow


def _render_bake(env: jinja2.Environment, plan: Plan) -> tuple[str, tuple[str, ...]]:
    """The bake file, whose header names every entitlement it needs.

    A template override may add attributes that need more (ssh, host
    network): those are read from a first rendering, then written into the
    header of the second.
    """
    needed = entitlements.from_plan(plan)
    for _ in range(2):
        allow = entitlements.flags(needed)
        text = _render(env, templating.BAKE_TEMPLATE, plan.source, source=plan.source,
                       variables=plan.variables, allow=allow, bake=entitlements.command(allow),
                       groups=plan.groups, targets=plan.targets, base_targets=plan.base_targets)
        found = entitlements.from_text(text)
        if set(found) <= set(needed):
            break
        needed += found
    return text, allow


# BuildKit refuses a Dockerfile with a longer line.
MAX_DOCKERFILE_LINE = 65_535


def _check_lines(path: str, matrix_name: str, text: str) -> str:
    """`text`, if BuildKit can read every line of it; else a BakegenError."""
    if len(text) * 4 <= MAX_DOCKERFILE_LINE:  # no line can be longer (4 bytes a character at most)
        return text
    for number, line in enumerate(text.split("\n"), 1):  # BuildKit splits at \n only
        size = len(line.encode("utf-8"))
        if size > MAX_DOCKERFILE_LINE:
            raise BakegenError([Diagnostic(
                f"line {number} of {path} would be {size:,} bytes; BuildKit reads lines of at most "
                f"{MAX_DOCKERFILE_LINE:,}", file=matrix_name,
                hint="shorten the values that line holds (command, env, args), or keep long data in files")])
    return text


def github_workflow(plan: Plan, ci: GithubCi) -> str:
    """The GitHub Actions workflow for `plan` (see ci_github.py)."""
    from . import ci_github

    registry = next(v.default for v in plan.variables if v.name == "REGISTRY")
    return ci_github.render(plan, ci, str(registry), plan.source)


def _render(env: jinja2.Environment, name: str, matrix_name: str, **context: object) -> str:
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise BakegenError([Diagnostic(f"template syntax error: {exc.message}",
                                       file=exc.filename or name, line=exc.lineno or 0, column=1)]) from None
    except jinja2.TemplateNotFound as exc:
        raise BakegenError([Diagnostic(f"template not found: {exc.name}", file=name,
                                       hint="shipped templates are reachable as bakegen/NAME")]) from None
    except jinja2.UndefinedError as exc:
        raise BakegenError([Diagnostic(f"template {name} uses an undefined value: {exc.message}",
                                       file=matrix_name)]) from None
    except ValueError as exc:  # raised by the escaping filters for values they cannot carry
        raise BakegenError([Diagnostic(f"cannot render {name}: {exc}", file=matrix_name)]) from None
