"""runtime: dockerfile — the user's own Dockerfile; bakegen writes only bake targets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Diagnostic
from ..schema import BaseImages, Matrix

if TYPE_CHECKING:
    from ..resolve import Resolved, ResolvedService

name = "dockerfile"
template = None

# The user's Dockerfile keeps the user's own .dockerignore.
IGNORE: tuple[str, ...] = ()


def default_base() -> BaseImages:  # pragma: no cover - a user Dockerfile names its own images
    raise NotImplementedError


def http_probe(url: str) -> list[str] | None:
    # We cannot know what a user's image contains; ask for an explicit command.
    return None


def final_users(path: Path) -> dict[str, str | None]:
    """Per stage, the user it ends with: its last USER, else its parent stage's; None if unknown."""
    import dockerfile

    users: dict[str, str | None] = {}
    name, user = "", None
    for command in dockerfile.parse_file(str(path)):
        if command.cmd.upper() == "FROM":
            words = list(command.value)
            name = words[-1].lower() if len(words) >= 3 and words[-2].upper() == "AS" else ""
            user = users.get(words[0].lower())  # a stage built FROM an earlier stage
        elif command.cmd.upper() == "USER" and command.value:
            user = command.value[0]
        if name:
            users[name] = user
    return users


def is_root(user: str | None) -> bool:
    # No USER means the base image's user, which is root for nearly every image.
    return user is None or user.split(":")[0] in ("root", "0")


def stages_of(path: Path) -> list[str]:
    """Stage names of the Dockerfile at `path`, parsed by BuildKit's own parser.

    Raises dockerfile.GoParseError for a Dockerfile BuildKit cannot parse.
    """
    import dockerfile  # a Go extension; imported only when this runtime is used

    names = []
    for command in dockerfile.parse_file(str(path)):
        if command.cmd.upper() == "FROM":
            words = [w for w in command.value]
            if len(words) >= 3 and words[-2].upper() == "AS":
                names.append(words[-1].lower())
    return names


def check(service: ResolvedService, matrix: Matrix, project_dir: Path) -> list[Diagnostic]:
    assert service.dockerfile is not None
    at = ("services", service.name)
    import dockerfile

    try:
        stages = stages_of(project_dir / service.dockerfile)
    except (dockerfile.GoParseError, dockerfile.GoIOError, OSError, UnicodeDecodeError) as exc:
        return [Diagnostic(f"cannot parse {service.dockerfile}: {exc}", path=at + ("dockerfile",))]
    errors = []
    users = final_users(project_dir / service.dockerfile)
    for stage, target in service.targets.items():
        if target in stages and matrix.stages[stage].push and is_root(users.get(target)) \
                and not service.spec.run_as_root:
            errors.append(Diagnostic(
                f"{service.dockerfile}: stage '{target}' (pushed as '{stage}') runs as root",
                path=at + ("dockerfile",),
                hint="end the stage with a non-root USER, e.g. USER 10001:10001, "
                     "or set `run_as_root: true` on the service to accept it"))
        if target not in stages:
            where = at + ("targets", stage) if stage in service.spec.targets else at + ("dockerfile",)
            known = ", ".join(stages) or "none: it has no `FROM ... AS name` stages"
            errors.append(Diagnostic(
                f"{service.dockerfile} has no stage '{target}' (for stage '{stage}')",
                path=where,
                hint=f"its stages: {known}; map stages with `targets: {{{stage}: STAGE}}`"))
    return errors


def extra_contexts(service: ResolvedService, project_dir: Path) -> dict[str, str]:
    return {}


def warnings(service: ResolvedService, project_dir: Path) -> list[str]:
    return []


def values(service: ResolvedService, resolved: Resolved, project_dir: Path) -> dict[str, Any]:
    return {}
