"""Image references as docker reads them, and the names a plan's targets get.

A tag scheme (`{registry}/{service}:{tag}`) is text until bake fills in
REGISTRY and TAG; a mistake in it (an empty name, an uppercase repository,
a doubled slash) would otherwise surface as an error from buildx or the
registry, naming neither the scheme nor the line. `check_plan` expands
every target's tags with the variables' defaults and checks each one here,
at validate time; tools/image_names.py checks the values the environment
gives the same variables.

Grammar: distribution's reference (github.com/distribution/reference):

    reference := name [":" tag]
    name      := [host[":" port] "/"] path-component ["/" path-component]*
    tag       := [\\w][\\w.-]{0,127}

A path component is lowercase letters and digits joined by '.', '_', '__'
or dashes; the first component names a host when it has a '.' or ':' or is
`localhost` (as docker decides it); the whole name is at most 255
characters. Digests (`@sha256:...`) never occur in a tag scheme.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..errors import Diagnostic
from .plan import Interpolated, Plan, Var
from .schema import Matrix

_HOST_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
HOST = re.compile(rf"^(?:{_HOST_PART}(?:\.{_HOST_PART})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$")
PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
TAG = re.compile(r"^[\w][\w.-]{0,127}$")
# distribution's limit on the length of a repository name, host included.
NAME_MAX = 255
TAG_HINT = "up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
COMPONENT_HINT = "lowercase letters and digits, separated by '.', '_', '__' or '-'"

Problem = tuple[str, str]  # (message, hint)


def is_host(component: str) -> bool:
    """Whether the first component of a name is a registry host, as docker decides it."""
    return "." in component or ":" in component or component == "localhost"


def _split(ref: str) -> tuple[str, str | None]:
    """(name, tag or None): the tag follows the last ':' after the last '/'."""
    name, sep, tag = ref.rpartition(":")
    return (name, tag) if sep and "/" not in tag else (ref, None)


def _components(name: str) -> tuple[str | None, list[str]]:
    components = name.split("/")
    host = components.pop(0) if len(components) > 1 and is_host(components[0]) else None
    return host, components


def _lowered(host: str | None, components: list[str]) -> str:
    # Hosts are case-insensitive; repository paths are lowercase only.
    return "/".join(([host] if host is not None else []) + [c.lower() for c in components])


def path_problems(host: str | None, components: list[str], what: str, after: str = "") -> list[Problem]:
    """What is wrong with a host and path components; a hint reads `use {what}NAME{after}`."""
    problems: list[Problem] = []
    if host is not None and not HOST.match(host):
        problems.append((f"'{host}' is not a registry host[:port]",
                         "a host name or IP address, optionally with :PORT, e.g. 127.0.0.1:5000"))
    for component in components:
        if PATH_COMPONENT.match(component):
            continue
        if PATH_COMPONENT.match(component.lower()):
            problems.append((f"repository names must be lowercase: '{component}'",
                             f"use {what}{_lowered(host, components)}{after}"))
        else:
            problems.append((f"'{component}' is not a valid repository path component", COMPONENT_HINT))
    return problems


def registry_problems(value: str) -> list[Problem]:
    """What is wrong with a REGISTRY value such as registry:5000/team (a name's leading part)."""
    if not value:
        return [("is empty", "set it to a registry and namespace, e.g. registry.example.com/team")]
    if "://" in value:
        rest = value.split("://", 1)[1]
        return [("starts with a URL scheme; image names have none", f"use REGISTRY={rest}")]
    if value.endswith("/") or value.startswith("/") or "//" in value:
        fixed = re.sub("/+", "/", value).strip("/")
        return [("has an empty path component (a leading, doubled or trailing '/')", f"use REGISTRY={fixed}")]
    host, components = _components(value)
    if host is None and is_host(value):  # a registry alone: registry.example.com, localhost:5000
        host, components = value, []
    return path_problems(host, components, "REGISTRY=")


def tag_problems(value: str) -> list[Problem]:
    return [] if TAG.match(value) else [("is not a valid tag", TAG_HINT)]


def reference_problems(ref: str) -> list[Problem]:
    """What keeps `ref` (e.g. registry:5000/team/api:1.0) from being an image reference docker takes."""
    name, tag = _split(ref)
    problems: list[Problem] = []
    if not name:
        problems.append(("the name is empty", "start the scheme with a name, e.g. {registry}/{service}:{tag}"))
    elif name.startswith("/") or name.endswith("/") or "//" in name:
        problems.append(("has an empty path component (a leading, doubled or trailing '/')",
                         f"use {re.sub('/+', '/', name).strip('/')}" + (f":{tag}" if tag is not None else "")))
    else:
        host, components = _components(name)
        problems += path_problems(host, components, "", f":{tag}" if tag is not None else "")
        if len(name) > NAME_MAX:
            problems.append((f"the name has {len(name)} characters; image names may have at most {NAME_MAX}",
                             "use a shorter registry or service name"))
    if tag is not None and not TAG.match(tag):
        shown = f"the tag '{tag}'" if tag else "the tag after ':'"
        problems.append((f"{shown} is empty" if not tag else f"{shown} is not a valid tag", TAG_HINT))
    return problems


def fill(value: Interpolated, variables: Mapping[str, str]) -> str:
    """An interpolated string with the variables' values, e.g. registry:5000/team/api:1.0."""
    return "".join(variables[p.name] if isinstance(p, Var) else p for p in value)


def check_plan(matrix: Matrix, plan: Plan) -> list[Diagnostic]:
    """Every image name the plan's targets get, with REGISTRY and TAG at their defaults.

    Each mistake is reported once, at the registry or at the tag scheme that
    made it (the service's, the stage's or the project's `tags`), with the
    first target that shows it.
    """
    defaults = {v.name: str(v.default) for v in plan.variables}
    errors: list[Diagnostic] = []
    registry = defaults.get("REGISTRY")
    bad_registry = registry is not None and bool(registry_problems(registry))
    if registry is not None:
        errors += [Diagnostic(f"registry '{registry}' {message}", path=("project", "registry"), hint=hint)
                   for message, hint in registry_problems(registry)]
    seen: set[tuple[str | int, ...]] = set()
    for target in plan.targets:
        service, stage = matrix.services.get(target.service), matrix.stages.get(target.stage)
        where: tuple[str | int, ...] = (("services", target.service, "tags") if service and service.tags is not None
                                       else ("stages", target.stage, "tags") if stage and stage.tags is not None
                                       else ("project", "tags"))
        for index, tag in enumerate(target.tags):
            path = (*where, index)
            if path in seen or (bad_registry and Var("REGISTRY") in tag):
                continue  # said once; a bad registry is said at the registry
            ref = fill(tag, defaults)
            problems = reference_problems(ref)
            if problems:
                seen.add(path)
                message, hint = problems[0]
                errors.append(Diagnostic(f"'{ref}' (target '{target.name}') is not an image reference: {message}",
                                         path=path, hint=hint))
    return errors
