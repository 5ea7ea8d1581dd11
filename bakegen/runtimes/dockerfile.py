"""runtime: dockerfile — the user's own Dockerfile; bakegen writes only bake targets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import Diagnostic
from . import emulation
from .base import Runtime
from .common import split_per_platform

if TYPE_CHECKING:
    from ..files.project import ProjectFiles
    from ..model import schema
    from ..model.resolved import ResolvedService


# A Dockerfile is a few KiB; a larger file is refused before BuildKit's parser sees it.
MAX_DOCKERFILE_BYTES = 4 * 1024 * 1024


def parse(path: Path) -> list:
    """The instructions of the Dockerfile at `path`, as BuildKit's own parser reads them.

    Only a regular file of bounded size is read (files/read.py). Raises OSError,
    UnicodeDecodeError or dockerfile.GoParseError.
    """
    import dockerfile

    from ..files.read import read_bytes

    return list(dockerfile.parse_string(read_bytes(path, MAX_DOCKERFILE_BYTES).decode("utf-8")))


def final_users(path: Path | list, build_args: dict[str, str] | None = None) -> dict[str, str | None]:
    """Per stage, the user it ends with: its last USER, else its parent stage's; None if none.
    The key "" is the last stage, named or not (the one bake builds when a target names none).

    Variables in USER are expanded as BuildKit would, from `build_args` (the
    service's args), ARG defaults and ENV; a user that names a variable
    bakegen cannot resolve is returned as written, `$` and all.
    """
    import dockerfile

    build_args = build_args or {}
    users: dict[str, str | None] = {}
    scopes: dict[str, dict[str, str]] = {}  # each stage's variables, for stages built FROM it
    global_args: dict[str, str] = {}
    name, user, variables = "", None, global_args
    for command in dockerfile.parse_file(str(path)) if isinstance(path, Path) else path:
        cmd = command.cmd.upper()
        if cmd == "FROM":
            words = list(command.value)
            name = words[-1].lower() if len(words) >= 3 and words[-2].upper() == "AS" else ""
            parent = words[0].lower()
            user = users.get(parent)  # a stage built FROM an earlier stage
            variables = dict(scopes.get(parent, {}))
        elif cmd == "ARG":
            for word in command.value:
                key, equals, default = word.partition("=")
                # A build arg wins; in a stage, `ARG NAME` brings in the global default.
                value = build_args.get(key, _unquote(default) if equals else None)
                if value is None and variables is not global_args:
                    value = global_args.get(key)
                if value is not None:
                    variables[key] = _expand(value, variables) or value
        elif cmd == "ENV" and variables is not global_args:
            words = list(command.value)
            for key, value in zip(words[::2], words[1::2], strict=False):
                variables[key] = _expand(_unquote(value), variables) or _unquote(value)
        elif cmd == "USER" and command.value:
            user = _expand(command.value[0], variables) or command.value[0]
        if name:
            users[name] = user
            scopes[name] = variables
    users[""] = user
    return users


_VARIABLE = re.compile(r"\$(?:\{(\w+)(?:(:?[-+])([^}]*))?\}|(\w+))")


def _expand(text: str, variables: dict[str, str]) -> str | None:
    """`text` with $NAME, ${NAME}, ${NAME:-word} and ${NAME:+word} replaced; None if one is unknown."""
    unknown = False

    def value(match: re.Match[str]) -> str:
        nonlocal unknown
        current = variables.get(match.group(1) or match.group(4))
        operator, word = match.group(2), match.group(3) or ""
        is_set = current is not None and (current != "" or not (operator or "").startswith(":"))
        if operator and operator.endswith("-"):
            return current if is_set else word  # type: ignore[return-value]
        if operator:  # :+ or +
            return word if is_set else ""
        if current is None:
            unknown = True
            return ""
        return current

    expanded = _VARIABLE.sub(value, text)
    return None if unknown else expanded


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'" else value


def is_root(user: str | None) -> bool:
    """Whether `user` may be root: no USER (the base image's user, root for nearly every
    image), root by name or by number (0, 0000), or a variable bakegen could not resolve."""
    if user is None or "$" in user:
        return True
    name = user.split(":")[0]
    return name == "root" or (name.isdigit() and int(name) == 0)


def stages_of(path: Path | list) -> list[str]:
    """Stage names of the Dockerfile at `path`, parsed by BuildKit's own parser.

    Raises dockerfile.GoParseError for a Dockerfile BuildKit cannot parse.
    """
    import dockerfile  # a Go extension; imported only when this runtime is used

    names = []
    for command in dockerfile.parse_file(str(path)) if isinstance(path, Path) else path:
        if command.cmd.upper() == "FROM":
            words = [w for w in command.value]
            if len(words) >= 3 and words[-2].upper() == "AS":
                names.append(words[-1].lower())
    return names


@dataclass(frozen=True)
class DockerfileFacts:
    """What a user's Dockerfile says, read once while resolving."""

    # RUN steps that execute on the target platform in the stages the service builds.
    target_runs: tuple[emulation.RunStep, ...]
    emulation: str  # project.emulation: allow, warn or forbid
    # Pushed Dockerfile stages ("" the last) that set no CMD or ENTRYPOINT, themselves or
    # through the stages they are built FROM: their image runs what its base image runs.
    no_command: tuple[str, ...] = ()


class Dockerfile(Runtime):
    """The user's Dockerfile keeps the user's own .dockerignore, images and health check tools."""

    name = "dockerfile"

    def facts(self, service: ResolvedService, spec: schema.Service, matrix: schema.Matrix,
              files: ProjectFiles) -> tuple[DockerfileFacts | None, list[Diagnostic]]:
        assert service.dockerfile is not None
        import dockerfile

        try:
            commands = parse(files.root / service.dockerfile)  # once: every check below reads these
        except (dockerfile.GoParseError, dockerfile.GoIOError, OSError, UnicodeDecodeError) as exc:
            return None, [Diagnostic(f"cannot parse {service.dockerfile}: {exc}",
                                     path=("services", service.name, "dockerfile"))]
        errors = _check(service, spec, matrix, commands)
        if errors:
            return None, errors
        pushed = [target for stage, target in service.targets.items() if matrix.stages[stage].push]
        facts = DockerfileFacts(emulation.target_runs(commands, service.targets.values()), matrix.project.emulation,
                                tuple(commandless_stages(commands, pushed)))
        if facts.emulation == "forbid" and _needs_emulation(service, facts):
            errors.append(Diagnostic(
                f"{_emulation_text(service, facts)}, and project.emulation is forbid",
                path=("services", service.name, "dockerfile"),
                hint="run those steps in a stage `FROM --platform=$BUILDPLATFORM` that cross-builds for "
                     "$TARGETPLATFORM, or build the service for one platform"))
        return facts, errors

    def warnings(self, service: ResolvedService) -> list[str]:
        facts = service.facts
        if not isinstance(facts, DockerfileFacts):
            return []
        out = [f"service '{service.name}': {service.dockerfile}: "
               + (f"stage '{stage}'" if stage else "its last stage")
               + " sets no CMD or ENTRYPOINT, so its image runs what its base image runs; "
               "end it with CMD [...] if that is not what the service runs" for stage in facts.no_command]
        if facts.emulation == "warn" and _needs_emulation(service, facts):
            out += [f"service '{service.name}': {_emulation_text(service, facts, platform)}: needs emulation (QEMU) "
                    f"or a native {platform.rpartition('/')[2]} builder"
                    for platform in service.platforms]
        return out


def commandless_stages(commands: list, targets: list[str]) -> list[str]:
    """Of the stages `targets` ("" the last), those with no CMD or ENTRYPOINT in themselves or
    in the stages of the same Dockerfile they are built FROM."""
    stages: list[tuple[str, str, bool]] = []  # (name, parent, sets a command)
    for command in commands:
        cmd = command.cmd.upper()
        if cmd == "FROM":
            words = list(command.value)
            name = words[-1].lower() if len(words) >= 3 and words[-2].upper() == "AS" else ""
            stages.append((name, words[0].lower() if words else "", False))
        elif cmd in ("CMD", "ENTRYPOINT") and stages:
            name, parent, _ = stages[-1]
            stages[-1] = (name, parent, True)
    by_name = {name: i for i, (name, _, _) in enumerate(stages) if name}
    out = []
    for target in dict.fromkeys(targets):
        i = by_name.get(target) if target else len(stages) - 1
        seen = set()
        while i is not None and i not in seen and not stages[i][2]:
            seen.add(i)
            i = by_name.get(stages[i][1])
        if i is None and (target in by_name or not target) and stages:
            out.append(target)
    return out


def _needs_emulation(service: ResolvedService, facts: DockerfileFacts) -> bool:
    """One machine builds every platform of the service: steps on the target platform need emulation
    for the platforms that are not the machine's own."""
    return len(service.platforms) > 1 and bool(facts.target_runs)


def _emulation_text(service: ResolvedService, facts: DockerfileFacts, platform: str | None = None) -> str:
    steps = facts.target_runs
    lines = ", ".join(str(s.line) for s in steps[:5]) + (", ..." if len(steps) > 5 else "")
    where = platform or ", ".join(service.platforms)
    return (f"{len(steps)} RUN step{'s' if len(steps) != 1 else ''} of {service.dockerfile} "
            f"(line{'s' if len(steps) != 1 else ''} {lines}) run on {where}")


def _check(service: ResolvedService, spec: schema.Service, matrix: schema.Matrix,
           commands: list) -> list[Diagnostic]:
    assert service.dockerfile is not None
    at = ("services", service.name)
    stages = stages_of(commands)
    errors = []
    # Per-platform args reach bake under other names (see expand.py): only
    # the values common to every platform are the Dockerfile's build args.
    users = final_users(commands, split_per_platform(service.args)[0])
    for stage, target in service.targets.items():
        user = users.get(target)
        if (target in stages or not target) and matrix.stages[stage].push and is_root(user) and not service.run_as_root:
            unresolved = user is not None and "$" in user
            errors.append(Diagnostic(
                f"{service.dockerfile}: " + (f"stage '{target}'" if target else "its last stage") + f" (pushed as '{stage}') "
                + (f"may run as root: USER {user} names a variable bakegen cannot resolve" if unresolved
                   else "runs as root"),
                path=at + ("dockerfile",),
                hint=("give the variable a non-root default (ARG NAME=10001) or a value in the service's `args`, "
                      if unresolved else "end the stage with a non-root USER, e.g. USER 10001:10001, ")
                + "or set `run_as_root: true` on the service to accept it"))
        if target and target not in stages:
            where = at + ("targets", stage) if stage in spec.targets else at + ("dockerfile",)
            known = ", ".join(stages) or "none: it has no `FROM ... AS name` stages"
            errors.append(Diagnostic(
                f"{service.dockerfile} has no stage '{target}' (for stage '{stage}')",
                path=where,
                hint=f"its stages: {known}; map stages with `targets: {{{stage}: STAGE}}`"))
    return errors


runtime = Dockerfile()
