"""What the local docker and buildx can do, checked before `bakegen bake` hands over.

Two things make a generated bake file fail with a message that does not say
what to do: a buildx older than the file format (0.13), and the `docker`
driver on the classic image store, which cannot build multi-platform images
("Multi-platform build is not supported for the docker driver").

A builder can also have several nodes (`docker buildx create --append`), each
a BuildKit on its own machine, often one per architecture. buildx sends each
platform to the node that declares it (`--platform` on `buildx create`),
else to one whose BuildKit reports it, else to the first node, where its RUN
steps need emulation. `bakegen bake` says which node gets which platform.
"""

from __future__ import annotations

import fnmatch
import os
import platform as host
import re
import shutil
import subprocess
import sys
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
class Node:
    """One node of a builder, as `docker buildx inspect` lists it."""

    name: str
    status: str  # running, inactive, stopped, ...
    declared: tuple[str, ...]  # platforms given to `buildx create --platform` (inspect marks them *)
    platforms: tuple[str, ...]  # every platform inspect lists: the declared ones, then what BuildKit reports


@dataclass(frozen=True)
class Buildx:
    docker: str
    version: tuple[int, int, int]
    driver: str  # of the builder bake will use: docker, docker-container, kubernetes, remote
    containerd_store: bool  # the docker engine stores images in containerd (multi-platform capable)
    builder: str = ""  # its name
    nodes: tuple[Node, ...] = ()

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
    if inspect.returncode != 0 and builder:
        # Not "the docker driver": a builder that cannot be read is not known to be one.
        raise _fail(f"cannot inspect the builder {builder}: " + ((inspect.stderr or inspect.stdout).strip().splitlines()
                                                                  or ["no output"])[-1],
                    "`docker buildx ls` lists the builders; `docker buildx inspect --bootstrap NAME` starts one")
    name, driver, nodes = parse_inspect(inspect.stdout)
    containerd = False
    if driver == "docker":
        info = _run(docker, "info", "--format", "{{json .DriverStatus}}")
        containerd = "io.containerd.snapshotter" in info.stdout
    return Buildx(docker, version, driver, containerd, name or builder or "", nodes)


def parse_inspect(text: str) -> tuple[str, str, tuple[Node, ...]]:
    """(name, driver, nodes) of a builder from `docker buildx inspect` (buildx 0.13 to 0.29 print the same
    fields): a header, then after `Nodes:` one block per node, each starting with its `Name:`."""
    head, _, body = text.partition("\nNodes:\n")
    name = re.search(r"^Name:\s*(\S+)", head, re.MULTILINE)
    driver = re.search(r"^Driver:\s*(\S+)", head, re.MULTILINE)
    nodes = []
    for block in re.split(r"^(?=Name:)", body, flags=re.MULTILINE):
        fields = dict(re.findall(r"^(Name|Status|Platforms):[ \t]*(.*)$", block, re.MULTILINE))
        if "Name" not in fields:
            continue
        listed = [p.strip() for p in fields.get("Platforms", "").split(",") if p.strip()]
        nodes.append(Node(fields["Name"].strip(), fields.get("Status", "").strip(),
                          tuple(p.rstrip("*") for p in listed if p.endswith("*")),
                          tuple(p.rstrip("*") for p in listed)))
    return (name.group(1) if name else "", driver.group(1) if driver else "docker", tuple(nodes))


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


def _normal(platform: str) -> str:
    """linux/arm64/v8 is linux/arm64, linux/amd64/v1 is linux/amd64 (containerd's normalisation)."""
    return re.sub(r"^(linux/arm64)/v8$|^(linux/amd64)/v1$", lambda m: m.group(1) or m.group(2), platform.strip())


def _runs(node_platform: str, platform: str) -> bool:
    """A BuildKit that reports `node_platform` runs `platform` natively (containerd's platforms.Only):
    amd64/vN also runs amd64 below vN and 386; arm64 also runs 32-bit arm."""
    have, want = _normal(node_platform), _normal(platform)
    if have == want:
        return True
    level = re.fullmatch(r"linux/amd64(?:/v(\d))?", have)
    if level:
        wanted = re.fullmatch(r"linux/amd64(?:/v(\d))?", want)
        return want == "linux/386" or bool(wanted and int(wanted.group(1) or 1) <= int(level.group(1) or 1))
    return have == "linux/arm64" and want.startswith("linux/arm/")


def _local_platform() -> str:
    machine = host.machine().lower()
    return "linux/" + {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def bake_platforms(plan: Plan, bake_args: tuple[str, ...]) -> list[str]:
    """Every platform a `docker buildx bake ARGS` call builds, in first-seen order: the selected targets'
    platforms, after `--set TARGET.platform=...` overrides and LOCAL_PLATFORM."""
    if os.environ.get("LOCAL_PLATFORM", "").lower() in ("1", "true"):
        return [_local_platform()]
    overrides: list[tuple[str, list[str]]] = []
    for i, arg in enumerate(bake_args):
        value = arg.split("=", 1)[1] if arg.startswith("--set=") else (
            bake_args[i + 1] if arg == "--set" and i + 1 < len(bake_args) else None)
        if value and "=" in value:
            key, platforms = value.split("=", 1)
            if key.endswith(".platform"):
                overrides.append((key.rsplit(".", 1)[0], [p for p in platforms.split(",") if p]))
    by_name = {t.name: t for t in plan.targets}
    out: list[str] = []
    for name in selected_targets(plan, bake_args):
        platforms = list(by_name[name].platforms) if name in by_name else []
        for pattern, value in overrides:
            if fnmatch.fnmatchcase(name, pattern):
                platforms = value
        out += [p for p in platforms if p not in out]
    return out


def node_plan(buildx: Buildx, platforms: list[str]) -> list[tuple[Node, str, str]]:
    """(node, platform, how) for each platform: how buildx picks the node (build/resolver in docker/buildx):
    "declared" (the first node created with --platform for it), "reported" (the first whose BuildKit runs
    it), "first" (none does: the first node, which needs emulation for RUN steps on it) or "unknown"
    (no node declares it and some node has not started, so its platforms are not known yet)."""
    out = []
    for platform in platforms:
        declared = [n for n in buildx.nodes if any(_normal(p) == _normal(platform) for p in n.declared)]
        reported = [n for n in buildx.nodes if any(_runs(p, platform) for p in n.platforms)]
        if declared:
            out.append((declared[0], platform, "declared"))
        elif reported:
            out.append((reported[0], platform, "reported"))
        elif any(not n.platforms for n in buildx.nodes):
            out.append((buildx.nodes[0], platform, "unknown"))
        else:
            out.append((buildx.nodes[0], platform, "first"))
    return out


def describe_nodes(buildx: Buildx, plan: Plan, bake_args: tuple[str, ...]) -> list[str]:
    """For a builder of several nodes: which node builds which platform of this bake (empty for one node)."""
    if len(buildx.nodes) < 2:
        return []
    lines = [(f"builder {buildx.builder}: {len(buildx.nodes)} nodes ({buildx.driver} driver); buildx sends each "
              "platform to its node:")]
    notes = {"declared": "", "reported": " (its BuildKit reports it; no node declares it with --platform)",
             "first": " (no node declares or runs it: RUN steps for it need emulation there)",
             "unknown": " (no node declares it; buildx picks a node once the builder has started: "
                        f"`docker buildx inspect --bootstrap {buildx.builder}` shows what each runs)"}
    planned = node_plan(buildx, bake_platforms(plan, bake_args))
    for node in buildx.nodes:
        mine = [(platform, how) for n, platform, how in planned if n is node]
        state = "" if node.status in ("running", "") else f" ({node.status})"
        if not mine:
            lines.append(f"  node {node.name}{state}: none of this bake's platforms")
        for platform, how in mine:
            lines.append(f"  node {node.name}{state} builds {platform}{notes[how]}")
    return lines


def report_nodes(buildx: Buildx, plan: Plan, bake_args: tuple[str, ...]) -> None:
    """Print describe_nodes on stderr (stdout is bake's: `--print` writes JSON there)."""
    for line in describe_nodes(buildx, plan, bake_args):
        print(line, file=sys.stderr)
