"""What the importers need to know about a user's Dockerfile: its stages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DockerfileInfo:
    stages: tuple[str, ...]  # named stages, in order
    last: str | None  # name of the final stage (what a build without target builds); None if unnamed
    last_line: int  # line of the final FROM
    users: dict[str, str | None]  # stage -> the user it ends as (None: the base image's)


def read(path: Path) -> DockerfileInfo | None:
    """Parse `path` with BuildKit's parser; None if it is missing or unparsable."""
    import dockerfile

    from ..runtimes.dockerfile import final_users

    try:
        commands = dockerfile.parse_file(str(path))
    except (dockerfile.GoParseError, dockerfile.GoIOError, OSError, UnicodeDecodeError):
        return None
    stages: list[str] = []
    last: str | None = None
    last_line = 0
    for command in commands:
        if command.cmd.upper() != "FROM":
            continue
        words = list(command.value)
        last = words[-1].lower() if len(words) >= 3 and words[-2].upper() == "AS" else None
        last_line = command.start_line
        if last:
            stages.append(last)
    return DockerfileInfo(tuple(stages), last, last_line, final_users(path))
