"""What the importers need to know about a user's Dockerfile: its stages, and per stage
the user it ends as, the command it runs, and what fixes the platform it builds for."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

# Variables BuildKit sets per target platform: a stage that reads none of them
# builds the same thing whatever the target platform.
TARGET_VARIABLES = ("TARGETPLATFORM", "TARGETARCH", "TARGETOS", "TARGETVARIANT")
_GOARCH = re.compile(r"\bGOARCH[= ]+[\"']?([a-z0-9]+)\b")
_GO_BUILD = re.compile(r"\bgo\s+(?:build|install)\b")
_FROM_STAGE = re.compile(r"^--from=(.+)$")
_MOUNT_FROM = re.compile(r"(?:^|,)from=([^,]+)")


@dataclass
class Stage:
    """One FROM ... section of a Dockerfile."""

    index: int
    name: str | None  # lowercased, as BuildKit compares stage names; None: unnamed
    line: int  # of its FROM
    base: str  # the image or stage it is built FROM, as written
    platform: str | None = None  # FROM --platform=..., as written
    depends: list[str] = field(default_factory=list)  # stages it copies or mounts from (names or indexes)
    reads: set[str] = field(default_factory=set)  # ARG names it declares
    user: str | None = None  # its last USER, as written (None: its parent's)
    command: tuple[list[str], bool, int] | None = None  # (CMD words, exec form, line)
    entrypoint: tuple[list[str], bool, int] | None = None
    goarch: tuple[str, int] | None = None  # a literal GOARCH it sets, and where
    go_build: int = 0  # line of a `go build` it runs (0: none)


@dataclass(frozen=True)
class DockerfileInfo:
    path: Path
    stages: tuple[str, ...]  # named stages, in order
    last: str | None  # name of the final stage (what a build without target builds); None if unnamed
    last_line: int  # line of the final FROM
    users: dict[str, str | None]  # stage -> the user it ends as (None: the base image's)
    sections: tuple[Stage, ...] = ()  # every stage, named or not, in order
    last_user: str | None = None  # the user the final stage ends as, named or not

    def section(self, target: str | None) -> Stage | None:
        """The stage a build of `target` ends with (None or an unknown name: the final one)."""
        found = [s for s in self.sections if target is not None and s.name == target]
        return found[0] if found else (self.sections[-1] if self.sections and target is None else None)

    def chain(self, target: str | None) -> list[Stage]:
        """The stages a build of `target` runs: it and every stage it is FROM or copies from."""
        start = self.section(target)
        if start is None:
            return []
        by_name = {s.name: s for s in self.sections if s.name}
        by_index = {str(s.index): s for s in self.sections}
        out: list[Stage] = []
        todo = [start]
        while todo:
            stage = todo.pop()
            if stage in out:
                continue
            out.append(stage)
            for ref in [stage.base.lower(), *stage.depends]:
                found = by_name.get(ref.lower()) or by_index.get(ref)
                if found is not None and found.index < stage.index:
                    todo.append(found)
        return sorted(out, key=lambda s: s.index)

    def platform_limits(self, target: str | None) -> list[tuple[str | None, int, str]]:
        """What ties a build of `target` to one platform, for each stage of its chain:
        (the platform, the line, why). The platform is None when it is the build machine's,
        and "" when the stage may be fine (a note, not a limit).

        The final stage pinned to a platform (`FROM --platform=linux/amd64`) is an image
        for that platform; a literal GOARCH compiles for that architecture; a `go build`
        that reads no TARGETARCH (or the like) in a stage pinned to a platform compiles
        for that platform, and in one that runs on the build machine
        (`--platform=$BUILDPLATFORM`) for the build machine. Another pinned stage is fine
        for platform-neutral files (web assets), not for binaries: said, not limited.
        """
        found: list[tuple[str | None, int, str]] = []
        chain = self.chain(target)
        for stage in chain:
            cross = bool(stage.reads & set(TARGET_VARIABLES))
            pin = stage.platform
            fixed = pin is not None and "$" not in pin
            if stage.goarch is not None:
                arch, line = stage.goarch
                found.append((f"linux/{arch}", line, f"GOARCH={arch} compiles for linux/{arch} only"))
            elif fixed and (stage is chain[-1] or stage.go_build and not cross):
                found.append((pin, stage.line, f"FROM --platform={pin} builds this stage for {pin} only"))
            elif fixed and not cross:
                found.append(("", stage.line, f"FROM --platform={pin}: stage {stage.name or stage.index} runs on "
                              f"{pin} for every target platform; right for platform-neutral files, wrong for "
                              "binaries"))
            elif pin and "BUILDPLATFORM" in pin and stage.go_build and not cross:
                found.append((None, stage.go_build, "`go build` runs on the build machine (FROM --platform="
                              f"{pin}) and reads no TARGETARCH: it compiles for the machine that builds"))
        return found

    def user_of(self, target: str | None, args: dict[str, str] | None = None) -> str | None:
        """The user `target` (None: the final stage) ends as, with `args` as the build's args."""
        if args:
            from ..runtimes.dockerfile import final_users

            users = final_users(self.path, args)
        else:
            users = self.users
        if target is not None and target in users:
            return users[target]
        return self.last_user if target is None or target == self.last else None




def read(path: Path) -> DockerfileInfo | None:
    """Parse `path` with BuildKit's parser; None if it is missing, unparsable, has no FROM, is not
    a regular file (a FIFO would block the parser) or is larger than runtimes.dockerfile's bound."""
    import dockerfile

    from ..runtimes.dockerfile import final_users, parse

    # `..` collapses on the path, not on the disk: the matrix's folder (`import -o new/m.yaml`)
    # may not exist yet.
    path = Path(os.path.realpath(path))
    try:
        commands = parse(path)  # only a regular file of bounded size reaches the parser
        users = final_users(commands)
    except (dockerfile.GoParseError, dockerfile.GoIOError, OSError, UnicodeDecodeError):
        return None
    sections: list[Stage] = []
    for command in commands:
        cmd = command.cmd.upper()
        if cmd == "FROM":
            words = list(command.value)
            name = words[-1].lower() if len(words) >= 3 and words[-2].upper() == "AS" else None
            platform = next((f.split("=", 1)[1] for f in command.flags if f.startswith("--platform=")), None)
            sections.append(Stage(len(sections), name, command.start_line, words[0] if words else "", platform))
            continue
        if not sections:
            continue  # global ARGs
        stage = sections[-1]
        text = " ".join(command.value)
        if cmd == "ARG":
            stage.reads.update(w.split("=", 1)[0] for w in command.value)
        elif cmd == "USER" and command.value:
            stage.user = command.value[0]
        elif cmd in ("CMD", "ENTRYPOINT"):
            value = (list(command.value), bool(command.json), command.start_line)
            if cmd == "CMD":
                stage.command = value
            else:
                stage.entrypoint = value
        for flag in command.flags:
            found = _FROM_STAGE.match(flag) if cmd in ("COPY", "ADD") else None
            if found:
                stage.depends.append(found.group(1).lower())
            if cmd == "RUN" and flag.startswith("--mount="):
                stage.depends += [m.lower() for m in _MOUNT_FROM.findall(flag[len("--mount="):])]
        if cmd in ("RUN", "ENV", "ARG"):
            goarch = _GOARCH.search(text)
            if goarch and "$" not in goarch.group(0) and stage.goarch is None:
                stage.goarch = (goarch.group(1), command.start_line)
        if cmd == "RUN" and _GO_BUILD.search(text) and not stage.go_build:
            stage.go_build = command.start_line
    if not sections:
        return None  # no FROM: BuildKit builds nothing from it (`compose ... dockerfile: /etc/passwd`)
    named = [s.name for s in sections if s.name]
    last = sections[-1] if sections else None
    return DockerfileInfo(path, tuple(named), last.name if last else None, last.line if last else 0, users,
                          tuple(sections), _final_user(sections, users))


def _final_user(sections: list[Stage], users: dict[str, str | None]) -> str | None:
    """The user the final stage ends as, also when it is unnamed (final_users keys stages by name)."""
    if not sections:
        return None
    last = sections[-1]
    if last.name:
        return users.get(last.name)
    return last.user if last.user is not None else users.get(last.base.lower())


def language(context: Path, info: DockerfileInfo | None) -> str | None:
    """The runtime that could generate this image's Dockerfile ("python" or "go"), from the
    build context's project files, else the images the Dockerfile builds FROM; None: neither."""
    context = Path(os.path.realpath(context))
    if (context / "go.mod").is_file():
        return "go"
    if any((context / name).is_file() for name in ("pyproject.toml", "requirements.txt", "setup.py", "Pipfile")):
        return "python"
    bases = [s.base.lower().rsplit("/", 1)[-1] for s in (info.sections if info else ())]
    if any(b.startswith("golang:") or b == "golang" for b in bases):
        return "go"
    if any(b.startswith("python:") or b == "python" for b in bases):
        return "python"
    return None
