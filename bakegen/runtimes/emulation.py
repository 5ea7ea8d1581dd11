"""Which RUN steps of a user's Dockerfile execute on the target platform.

BuildKit runs a stage on the platform it builds for, unless its FROM says
`--platform=$BUILDPLATFORM` (or another platform), and a stage built FROM an
earlier stage runs where that one does. A RUN step on the target platform
executes only on a machine of that architecture, or under emulation (QEMU):
one machine building linux/amd64 and linux/arm64 needs emulation for the
platform that is not its own, and fails with `exec format error` without it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_BUILD_PLATFORM = re.compile(r"^--platform=(\$BUILDPLATFORM|\$\{BUILDPLATFORM\})$")
_FIXED_PLATFORM = re.compile(r"^--platform=([a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?)$")
_FROM_FLAG = re.compile(r"^--from=(.+)$")
_MOUNT_FROM = re.compile(r"(?:^|,)from=([^,]+)")


@dataclass(frozen=True)
class RunStep:
    line: int
    platform: str | None  # a fixed platform it runs on whatever the target; None: the target's


@dataclass
class _Stage:
    name: str
    index: int
    on_build: bool  # runs on the build platform
    fixed: str | None  # runs on this platform whatever the target
    runs: list[int]
    uses: list[str]  # stages it is built FROM or copies/mounts from


def target_runs(commands: Iterable[object], targets: Iterable[str]) -> tuple[RunStep, ...]:
    """The RUN steps that execute on the target platform when building the stages `targets`.

    `commands`: the Dockerfile as BuildKit's parser reads it (dockerfile.parse_file).
    A target "" is the last stage. Stages the targets do not use are left out.
    """
    stages: list[_Stage] = []
    by_name: dict[str, _Stage] = {}
    for command in commands:
        cmd = command.cmd.upper()  # type: ignore[attr-defined]
        flags = command.flags  # type: ignore[attr-defined]
        words = list(command.value)  # type: ignore[attr-defined]
        if cmd == "FROM":
            base = words[0].lower() if words else ""
            name = words[-1].lower() if len(words) >= 3 and words[-2].upper() == "AS" else ""
            parent = by_name.get(base) or (stages[int(base)] if base.isdigit() and int(base) < len(stages) else None)
            on_build = any(_BUILD_PLATFORM.match(f) for f in flags)
            fixed = next((m.group(1) for f in flags if (m := _FIXED_PLATFORM.match(f))), None)
            if parent is not None and not flags:
                on_build, fixed = parent.on_build, parent.fixed
            stage = _Stage(name, len(stages), on_build, fixed, [], [parent.name or str(parent.index)] if parent else [])
            stages.append(stage)
            if name:
                by_name[name] = stage
        elif stages:
            stage = stages[-1]
            for flag in flags:
                found = _FROM_FLAG.match(flag) or (_MOUNT_FROM.search(flag) if flag.startswith("--mount=") else None)
                if found:
                    stage.uses.append(found.group(1).lower())
            if cmd == "RUN":
                stage.runs.append(command.start_line)  # type: ignore[attr-defined]
    if not stages:
        return ()
    used: dict[int, _Stage] = {}
    todo = [stages[-1] if not t else by_name.get(t.lower()) for t in targets]
    while todo:
        stage = todo.pop()
        if stage is None or stage.index in used:
            continue
        used[stage.index] = stage
        for ref in stage.uses:
            todo.append(by_name.get(ref) or (stages[int(ref)] if ref.isdigit() and int(ref) < len(stages) else None))
    return tuple(RunStep(line, stage.fixed)
                 for stage in sorted(used.values(), key=lambda s: s.index) if not stage.on_build
                 for line in stage.runs)
