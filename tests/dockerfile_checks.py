"""Static analysis of generated Dockerfiles, on BuildKit's own parser.

- which RUN steps execute on the target platform (and so need emulation when
  it differs from the build machine's) for a given bake target and platform;
- build args a RUN reads must be declared with ARG in its own stage;
- the rules of BuildKit's build checks that generated files could break.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import dockerfile

from bakegen.runtimes.common import platform_slug

SELECT = "${TARGETOS}-${TARGETARCH}${TARGETVARIANT}"
PLATFORM_ARGS = {"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
                 "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT"}


@dataclass
class Stage:
    name: str
    base: str
    on_build_platform: bool
    commands: list[dockerfile.Command] = field(default_factory=list)

    def deps(self) -> set[str]:
        out = set()
        for c in self.commands:
            for flag in c.flags:
                match = re.search(r"(?:^--from=|[,=]from=)([^,\s]+)", flag)
                if match and c.cmd in ("COPY", "RUN", "ADD"):
                    out.add(match.group(1))
        return out

    def args(self) -> set[str]:
        names = set()
        for c in self.commands:
            if c.cmd == "ARG":
                names.update(v.split("=", 1)[0] for v in c.value)
        return names


def parse(path: Path) -> tuple[list[dockerfile.Command], dict[str, Stage]]:
    commands = dockerfile.parse_file(str(path))
    stages: dict[str, Stage] = {}
    current = None
    for c in commands:
        if c.cmd == "FROM":
            words = list(c.value)
            name = words[2].lower() if len(words) >= 3 else f"stage-{len(stages)}"
            current = Stage(name, words[0], any(f == "--platform=$BUILDPLATFORM" for f in c.flags))
            stages[name] = current
        elif current is not None:
            current.commands.append(c)
    return commands, stages


def runs_on_target(path: Path, target: str, platform: str) -> list[str]:
    """"stage: first line" of every RUN that executes on the target platform."""
    _, stages = parse(path)
    slug = platform_slug(platform)

    def resolve(base: str) -> str:
        return base.replace(SELECT, slug)

    def on_build(name: str) -> bool:
        stage = stages[name]
        if stage.on_build_platform:
            return True
        parent = resolve(stage.base)
        return parent in stages and on_build(parent)

    seen: list[str] = []

    def visit(name: str) -> None:
        if name in seen or name not in stages:
            return
        seen.append(name)
        stage = stages[name]
        visit(resolve(stage.base))
        for dep in sorted(stage.deps()):
            visit(dep)

    visit(target)
    found = []
    for name in stages:  # file order
        if name in seen and not on_build(name):
            for c in stages[name].commands:
                if c.cmd == "RUN":
                    found.append(f"{name}: {c.original.splitlines()[0]}")
    return found


def undeclared_args(path: Path, build_args: set[str]) -> list[str]:
    """RUN steps that read a build or platform arg their stage does not declare."""
    _, stages = parse(path)
    problems = []
    for stage in stages.values():
        declared = stage.args()
        for c in stage.commands:
            if c.cmd != "RUN":
                continue
            used = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", c.original))
            for name in sorted(used & (build_args | PLATFORM_ARGS) - declared):
                problems.append(f"{stage.name}: RUN reads ${name} without ARG {name}")
    return problems


_SECRET = re.compile(r"(?i)(?:_|^)(?:apikey|auth|credentials?|key|password|pword|passwd|secret|token)(?:_|$)")
_SECRET_ALLOWED = re.compile(r"(?i)(?:_|^)(?:public|file|version)(?:_|$)")


def buildkit_check_violations(path: Path) -> list[str]:
    """The BuildKit build checks that generated Dockerfiles could break."""
    commands, stages = parse(path)
    problems = []
    for c in commands:
        line = c.original.splitlines()[0]
        if c.cmd == "FROM":
            words = c.original.split()
            as_words = [w for w in words if w.upper() == "AS"]
            if as_words and (as_words[0].isupper() != words[0].isupper()):
                problems.append(f"FromAsCasing: {line}")
            if len(c.value) >= 3 and c.value[2] != c.value[2].lower():
                problems.append(f"StageNameCasing: {line}")
        if c.cmd in ("CMD", "ENTRYPOINT") and not c.json:
            problems.append(f"JSONArgsRecommended: {line}")
        if c.cmd == "ENV" and not re.match(r"^ENV\s+[A-Za-z_][A-Za-z0-9_]*=", c.original):
            problems.append(f"LegacyKeyValueFormat: {line}")
        if c.cmd in ("ARG", "ENV"):
            keys = [v.split("=", 1)[0] for v in c.value] if c.cmd == "ARG" else list(c.value[::2])
            for key in keys:
                if _SECRET.search(key) and not _SECRET_ALLOWED.search(key):
                    problems.append(f"SecretsUsedInArgOrEnv: {key} in {line}")
    return problems
