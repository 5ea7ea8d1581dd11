"""The REGISTRY and TAG that image names are made of, checked before docker sees them.

bake fills `${REGISTRY}` and `${TAG}` from the environment when it runs,
long after the matrix was validated. A mistake there (an uppercase
repository, a scheme, a stray slash) would surface as an error from buildx
or from the registry, on the first push, naming neither variable.
`bakegen bake` and `bakegen sizes` check the values they hand over here.

Grammar: distribution's reference (github.com/distribution/reference): a
name is an optional `host[:port]` then `/`-separated lowercase path
components; a tag is up to 128 word characters, dots and dashes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..errors import BakegenError, Diagnostic
from ..model.plan import Interpolated, Plan, Var, repository

_HOST_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
HOST = re.compile(rf"^(?:{_HOST_PART}(?:\.{_HOST_PART})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$")
PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
TAG = re.compile(r"^[\w][\w.-]{0,127}$")
# distribution's limit on the length of a repository name, host included.
NAME_MAX = 255
WHERE = "environment"


def _is_host(component: str) -> bool:
    """Whether the first component names a registry host, as docker decides it."""
    return "." in component or ":" in component or component == "localhost"


def registry_problems(value: str) -> list[tuple[str, str]]:
    """(message, hint) for each mistake in a REGISTRY value such as registry:5000/team/app."""
    if not value:
        return [("is empty", "set it to a registry and namespace, e.g. registry.example.com/team")]
    if "://" in value:
        rest = value.split("://", 1)[1]
        return [("starts with a URL scheme; image names have none", f"use REGISTRY={rest}")]
    if value.endswith("/") or "//" in value:
        fixed = re.sub("/+", "/", value).strip("/")
        return [("has an empty path component (a leading, doubled or trailing '/')", f"use REGISTRY={fixed}")]
    components = value.split("/")
    host = components.pop(0) if _is_host(components[0]) else None
    problems = []
    if host is not None and not HOST.match(host):
        problems.append((f"'{host}' is not a registry host[:port]",
                         "a host name or IP address, optionally with :PORT, e.g. 127.0.0.1:5000"))
    # Hosts are case-insensitive; repository paths are lowercase only.
    lowered = "/".join(([host] if host is not None else []) + [c.lower() for c in components])
    for component in components:
        if PATH_COMPONENT.match(component):
            continue
        if PATH_COMPONENT.match(component.lower()):
            problems.append((f"repository names must be lowercase: '{component}'", f"use REGISTRY={lowered}"))
        else:
            problems.append((f"'{component}' is not a valid repository path component",
                             "lowercase letters and digits, separated by '.', '_', '__' or '-'"))
    return problems


def tag_problems(value: str) -> list[tuple[str, str]]:
    if TAG.match(value):
        return []
    return [("is not a valid tag", "up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'")]


CHECKS = {"REGISTRY": registry_problems, "TAG": tag_problems}


def values(plan: Plan, environ: Mapping[str, str]) -> dict[str, str]:
    """Each bake variable's value (the environment's, else the matrix's default), after
    checking REGISTRY, TAG and every tag they make; raises BakegenError naming the variable."""
    found = {v.name: environ.get(v.name, str(v.default)) for v in plan.variables}
    errors = []
    for name, check in CHECKS.items():
        if name not in found:
            continue
        origin = "environment" if name in environ else "matrix default"
        for message, hint in check(found[name]):
            errors.append(Diagnostic(f"{name}={found[name]!r} ({origin}) {message}", file=WHERE, hint=hint))
    if not errors:
        names = [repository(fill(tag, found)) for t in plan.targets for tag in t.tags]
        longest = max(names, key=len, default="")
        if len(longest) > NAME_MAX:
            errors.append(Diagnostic(f"image names may have at most {NAME_MAX} characters; {longest} has "
                                     f"{len(longest)}", file=WHERE, hint="use a shorter REGISTRY"))
    if errors:
        raise BakegenError(errors)
    return found


def fill(value: Interpolated, variables: Mapping[str, str]) -> str:
    """An interpolated string with the variables' values, e.g. registry:5000/team/api:1.0."""
    return "".join(variables[p.name] if isinstance(p, Var) else p for p in value)
