"""What the local docker and buildx can do, checked before `bakegen bake` hands over.

Two things make a generated bake file fail with a message that does not say
what to do: a buildx older than the file format (0.13), and the `docker`
driver on the classic image store, which cannot build multi-platform images
("Multi-platform build is not supported for the docker driver").
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from ..render.entitlements import ALLOW_SINCE
from ..errors import BakegenError, Diagnostic
from ..model.plan import Plan

# The oldest buildx that reads generated bake files (Debian 13 ships it).
MINIMUM = (0, 13)

ENGINE_HINT = (
    "multi-platform images need the containerd image store (Docker Desktop: Settings > General > "
    "'Use containerd for pulling and storing images'; Docker Engine: add "
    '{"features": {"containerd-snapshotter": true}} to /etc/docker/daemon.json and restart), or a '
    "docker-container builder (`docker buildx create --use --driver docker-container`); "
    "or build for this machine only: LOCAL_PLATFORM=true bakegen bake ... --load"
)


@dataclass(frozen=True)
class Buildx:
    docker: str
    version: tuple[int, int, int]
    driver: str  # of the builder bake will use: docker, docker-container, kubernetes, remote
    containerd_store: bool  # the docker engine stores images in containerd (multi-platform capable)

    @property
    def supports_allow(self) -> bool:
        return self.version[:2] >= ALLOW_SINCE

    @property
    def multi_platform(self) -> bool:
        return self.driver != "docker" or self.containerd_store


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True)


def _fail(message: str, hint: str) -> BakegenError:
    return BakegenError([Diagnostic(message, file="docker", hint=hint)])


def probe(builder: str | None = None) -> Buildx:
    """Ask the local docker what it can build; raise BakegenError when it cannot build our files."""
    docker = shutil.which("docker")
    if docker is None:
        raise _fail("docker is not installed or not on PATH",
                    "install Docker (Desktop, or the engine with the buildx plugin)")
    result = _run(docker, "buildx", "version")
    if result.returncode != 0:
        raise _fail("docker buildx is not available: " + ((result.stderr or result.stdout).strip().splitlines()
                                                          or ["no output"])[-1],
                    "install the buildx plugin (Debian/Ubuntu: docker-buildx; see https://docs.docker.com/build/)")
    match = re.search(r"\bv?(\d+)\.(\d+)\.(\d+)", result.stdout)
    if match is None:
        raise _fail(f"cannot read the buildx version from: {result.stdout.strip()}",
                    "check that `docker buildx version` works")
    version = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if version[:2] < MINIMUM:
        raise _fail(f"buildx {'.'.join(map(str, version))} is older than {'.'.join(map(str, MINIMUM))}, "
                    "the oldest that reads generated bake files",
                    "update Docker, or install a current buildx plugin")
    inspect = _run(docker, "buildx", "inspect", *(["--builder", builder] if builder else []))
    driver_line = re.search(r"^Driver:\s*(\S+)", inspect.stdout, re.MULTILINE)
    driver = driver_line.group(1) if driver_line else "docker"
    containerd = False
    if driver == "docker":
        info = _run(docker, "info", "--format", "{{json .DriverStatus}}")
        containerd = "io.containerd.snapshotter" in info.stdout
    return Buildx(docker, version, driver, containerd)


def selected_targets(plan: Plan, bake_args: tuple[str, ...]) -> list[str]:
    """The targets a `docker buildx bake ARGS` call builds (groups expanded)."""
    groups = {g.name: g.targets for g in plan.groups}
    names, skip = [], False
    for arg in bake_args:
        if skip:
            skip = False
        elif arg.startswith("-"):
            # Flags that take a separate value; everything else is a target or group.
            skip = "=" not in arg and arg in ("-f", "--file", "--set", "--builder", "--progress",
                                                "--metadata-file", "--allow", "--call", "--provenance",
                                                "--sbom", "--list")
        else:
            names.append(arg)
    out: list[str] = []
    for name in names or ["default"]:
        for target in groups.get(name, (name,)):
            if target not in out:
                out.append(target)
    return out


def check_can_build(buildx: Buildx, plan: Plan, bake_args: tuple[str, ...]) -> None:
    """Refuse, saying what to do, a multi-platform build the builder cannot do."""
    if buildx.multi_platform or os.environ.get("LOCAL_PLATFORM", "").lower() in ("1", "true"):
        return
    if any(a.startswith("--set") and ".platform" in a for a in bake_args):
        return
    by_name = {t.name: t for t in plan.targets}
    multi = [n for n in selected_targets(plan, bake_args) if n in by_name and len(by_name[n].platforms) > 1]
    if multi:
        raise _fail(f"the builder uses the docker driver on the classic image store, which cannot build "
                    f"the multi-platform target{'s' if len(multi) > 1 else ''} {', '.join(multi[:5])}"
                    f"{' ...' if len(multi) > 5 else ''}", ENGINE_HINT)
