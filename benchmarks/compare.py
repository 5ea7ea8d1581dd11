"""Side by side: the teams' hand-written Dockerfiles against bakegen's output.

For three seed cases (benchmarks/handwritten/<case>/Dockerfile, each built
from the app of the fixture of the same name under tests/projects), on the
engine the end-to-end suite uses and in one run, per platform:

- cold:        an empty build cache (`docker buildx prune --all`), then a build;
- no change:   the same build again: the floor of any rebuild;
- source:      one line added to one source file, then a build;
- dependency:  one dependency added (or a local module changed), then a build;
- size:        the compressed size of the image as pushed (what a deploy pulls),
               and its number of layers;
- RUN on target: RUN steps that execute on the target platform (counted on the
               Dockerfile, as the e2e suite does); on a platform that is not the
               build machine's they need emulation, which this machine does not
               have, so such a build has no time: "needs emulation".

Both sides are built with `docker buildx bake` and host networking (as in the
e2e suite): the team's Dockerfile at its final stage, once per image its
setup makes (case 3's compose file builds `build: .` for three services).
Run from the repository root, as root on Debian (see tests/e2e/engine.py), on
an engine no one else uses: it empties the build cache before every cold
build (BAKEGEN_E2E_HOME/_RUN/_BRIDGE/_REGISTRY choose a second engine).

    python benchmarks/compare.py [--case NAME ...] [--runs N]

Timings are for this script and the README, never assertions in the tests.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform as host
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HANDWRITTEN = REPO / "benchmarks" / "handwritten"
sys.path[:0] = [str(REPO / "tests" / "e2e"), str(REPO / "tests")]

from dockerfile_checks import parse, runs_on_target  # noqa: E402
from engine import Engine  # noqa: E402
from harness import BUILD_PLATFORM, Build, Project, copy_project  # noqa: E402
from registry import Registry  # noqa: E402
from standins import SBOM_SCANNER, StandIns, from_images  # noqa: E402

PLATFORMS = ("linux/amd64", "linux/arm64")


def append_line(path: Path, comment: str) -> None:
    """A line the build cache cannot have seen before."""
    path.write_text(path.read_text() + f"{comment} changed {uuid.uuid4()}\n")


def apply_patch(folder: Path, patch: Path) -> None:
    subprocess.run(["patch", "-s", "-p1", "-d", str(folder), "-i", str(patch)], check=True)


@dataclass(frozen=True)
class Case:
    name: str  # folder under benchmarks/handwritten and tests/projects
    title: str
    context: str  # the service's folder in the fixture, where the team's Dockerfile sits
    bakegen_targets: tuple[str, ...]  # what bakegen builds for what the team's build gives
    source: str  # file (in the fixture) that gets one more line
    dependency: Callable[[Path], None]  # changes the dependencies, given the project folder
    dependency_label: str
    images: dict[str, str] = field(default_factory=dict)  # matrix images set to the team's
    # The team's script makes a build context of its own (case 4); else the folder itself.
    team_context: Callable[[Path, Path], None] | None = None
    # Images the team's build makes from its Dockerfile: docker-compose builds
    # the same `build: .` once per service (case 3).
    team_images: tuple[str, ...] = ("image",)


def go_context(project: Path, dest: Path) -> None:
    """What the team's build script does: the function and ../shared/* in one
    temporary context, go.mod's replace lines rewritten to ./shared/..."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(project / "functions" / "finalize", dest)
    shutil.copytree(project / "shared", dest / "shared")
    go_mod = dest / "go.mod"
    go_mod.write_text(go_mod.read_text().replace("../../shared/", "./shared/"))
    shutil.copy2(HANDWRITTEN / "go-lambda" / "Dockerfile", dest / "Dockerfile")


CASES = (
    Case("two-arch-service", "Python service, two architectures (seed 001)", "reports",
         ("reports-production", "reports-test"), "reports/reports/__init__.py",
         lambda p: (p / "reports/requirements.txt").open("a").write("six==1.17.0\n"),
         "six added to requirements.txt", images={"python": "python:3.11-slim"}),
    Case("shared-image", "One image, several services, Poetry (seed 002)", "portal",
         ("api-production", "app-production", "scheduler-production"), "portal/portal/api.py",
         lambda p: apply_patch(p / "portal", HANDWRITTEN / "shared-image" / "dependency-change.patch"),
         "six added to pyproject.toml and poetry.lock", team_images=("api", "app", "scheduler")),
    Case("go-lambda", "Go Lambda function, shared modules (seed 003)", "functions/finalize",
         ("finalize-production",), "functions/finalize/main.go",
         lambda p: append_line(p / "shared/logger/logger.go", "//"),
         "a line of the shared logger module", team_context=go_context),
)


# The builds of one side on one platform, in order; "no change" is the floor
# of a bake that finds everything in its cache.
BUILDS = ("cold", "no change", "source", "dependency")


@dataclass
class Measured:
    builds: dict[str, list[Build]] = field(default_factory=dict)  # one per run
    size: int | None = None  # bytes, compressed, as pushed
    layers: int | None = None
    runs_on_target: int = 0

    def seconds(self, what: str) -> float | None:
        runs = sorted(b.seconds for b in self.builds.get(what, []))
        return runs[len(runs) // 2] if runs else None

    def merge(self, other: Measured) -> None:
        for what, builds in other.builds.items():
            self.builds.setdefault(what, []).extend(builds)


class TeamProject:
    """The team's Dockerfile, built with bake like bakegen's output (same engine, same flags)."""

    def __init__(self, case: Case, root: Path, engine: Engine, registry: str) -> None:
        self.case, self.root, self.engine, self.registry = case, root, engine, registry
        self.refs = [f"{registry}/team-{case.name}/{image}:bench" for image in case.team_images]

    @property
    def context(self) -> Path:
        if self.case.team_context:
            return self.root.parent / f"{self.root.name}-context"
        return self.root / self.case.context

    def prepare(self) -> None:
        """Run the team's script part (its own context), put its Dockerfile in place."""
        if self.case.team_context:
            self.case.team_context(self.root, self.context)
        else:
            shutil.copy2(HANDWRITTEN / self.case.name / "Dockerfile", self.context / "Dockerfile")

    @property
    def dockerfile(self) -> Path:
        return self.context / "Dockerfile"

    @property
    def target(self) -> str:
        """The stage the team builds: the last one (an unnamed final stage gets parse()'s name)."""
        return list(parse(self.dockerfile)[1])[-1]

    def bake(self, *args: str, platform: str) -> Build:
        self.prepare()
        stage = self.target
        # The e2e harness's host networking, in the same bake file (there is no other).
        file = self.root / "team.json"
        targets = {image: {
            "context": str(self.context), "dockerfile": "Dockerfile", "platforms": [platform],
            "tags": [ref], "network": "host", "entitlements": ["network.host"],
            **({} if stage.startswith("stage-") else {"target": stage}),
        } for image, ref in zip(self.case.team_images, self.refs)}
        file.write_text(json.dumps({"group": {"team": {"targets": list(targets)}}, "target": targets}))
        metadata = self.root / "metadata.json"
        metadata.unlink(missing_ok=True)
        command = ["buildx", "bake", "-f", str(file), "--allow=network.host", "--progress=plain",
                   "--metadata-file", str(metadata), *args, "team"]
        return timed(self.engine, command, self.root, metadata)


def timed(engine: Engine, command: list[str], cwd: Path, metadata: Path, env: dict[str, str] | None = None) -> Build:
    start = time.monotonic()
    result = engine.docker(*command, check=False, cwd=cwd, env=env, timeout=3600)
    seconds = time.monotonic() - start
    meta = json.loads(metadata.read_text()) if metadata.is_file() else {}
    build = Build(["docker", *command], result.returncode, result.stdout, meta, seconds)
    if build.returncode:
        raise SystemExit(build.failure())
    return build


def pushed_size(registry: Registry, ref: str, platform: str) -> tuple[int, int]:
    """(compressed bytes, layers) of `ref` for `platform`, as the registry serves it."""
    repository, _, tag = ref.removeprefix(registry.address + "/").rpartition(":")
    _, manifest = registry.manifest(repository, tag)
    if "manifests" in manifest:
        arch = platform.split("/")[1]
        entry = next(m for m in manifest["manifests"] if m.get("platform", {}).get("architecture") == arch)
        _, manifest = registry.manifest(repository, entry["digest"])
    return sum(layer["size"] for layer in manifest["layers"]), len(manifest["layers"])


def measure(engine: Engine, registry: Registry, case: Case, side: str, work: Path) -> dict[str, Measured]:
    """Cold, source-change and dependency-change builds of one side, per platform."""
    out: dict[str, Measured] = {}
    for platform in PLATFORMS:
        root = work / f"{side}-{platform.replace('/', '-')}"
        copy_project(case.name, root)
        if side == "bakegen":
            matrix = root / "matrix.yaml"
            text = matrix.read_text()
            for key, image in case.images.items():
                text = re.sub(rf"(?m)^(  {key}:) .*$", rf"\1 {image}", text)
            matrix.write_text(text)
            project = Project(case.name, matrix, engine, registry.address)
            # Pushed targets carry an SBOM: BuildKit runs its scanner image on every build.
            StandIns(engine).ensure([SBOM_SCANNER] + [getattr(d.values, k) for d in project.plan.dockerfiles
                                     for k in ("base_build", "base_run", "uv_image") if getattr(d.values, k, None)])
            narrow = [f"--set={t}.platform={platform}" for t in case.bakegen_targets]
            runs = sum(len(runs_on_target(root / t.context / t.dockerfile, t.target, platform))
                       for t in map(project.plan.target, case.bakegen_targets))

            def build(*extra: str) -> Build:
                b = project.bake(*case.bakegen_targets, *narrow, *extra)
                if b.returncode:
                    raise SystemExit(b.failure())
                return b
            refs = [project.tag(project.plan.target(case.bakegen_targets[0]))]
        else:
            team = TeamProject(case, root, engine, registry.address)
            team.prepare()
            StandIns(engine).ensure(from_images(team.dockerfile))
            runs = len(runs_on_target(team.dockerfile, team.target, platform))

            def build(*extra: str) -> Build:
                return team.bake(*extra, platform=platform)
            refs = team.refs
        m = out[platform] = Measured(runs_on_target=runs)
        if platform != BUILD_PLATFORM and runs:
            continue  # needs emulation: no time on this machine
        engine.docker("buildx", "prune", "--all", "--force")
        m.builds["cold"] = [build()]
        m.builds["no change"] = [build()]
        build("--push")
        m.size, m.layers = pushed_size(registry, refs[0], platform)
        append_line(root / case.source, "//" if case.source.endswith(".go") else "#")
        m.builds["source"] = [build()]
        case.dependency(root)
        m.builds["dependency"] = [build()]
    return out


def seconds(value: float | None) -> str:
    return f"{value:.1f} s" if value is not None else "-"


def megabytes(size: int | None) -> str:
    return f"{size / 1e6:.1f} MB" if size is not None else "-"


def table(results: list[tuple[Case, dict[str, dict[str, Measured]]]]) -> str:
    lines = ["| case | platform | Dockerfiles | cold | no change | source change | dependency change | size "
             "| layers | RUN on target |", "|---|---|---|---|---|---|---|---|---|---|"]
    for case, sides in results:
        for platform in PLATFORMS:
            for side, label in (("team", "hand-written"), ("bakegen", "bakegen")):
                m = sides[side][platform]
                runs = str(m.runs_on_target)
                if not m.builds:
                    timing = [f"needs emulation: {m.runs_on_target} RUN steps", "-", "-", "-"]
                else:
                    timing = [seconds(m.seconds(what)) for what in BUILDS]
                lines.append(f"| {case.name} | {platform} | {label} | " + " | ".join(timing)
                             + f" | {megabytes(m.size)} | {m.layers if m.layers is not None else '-'} | {runs} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=[c.name for c in CASES],
                        help="only this case (repeatable); default: all three")
    parser.add_argument("--runs", type=int, default=1, help="repeat every measurement; times are medians")
    args = parser.parse_args()
    cases = [c for c in CASES if not args.case or c.name in args.case]

    engine = Engine().up()
    registry = Registry(engine.root).start()
    work = Path(tempfile.mkdtemp(prefix="bakegen-compare-"))
    results = []
    for case in cases:
        sides = {}
        for run in range(args.runs):
            for side in ("team", "bakegen"):
                measured = measure(engine, registry, case, side, work / f"{case.name}-{run}")
                if side not in sides:
                    sides[side] = measured
                else:
                    for platform, m in measured.items():
                        sides[side][platform].merge(m)
        results.append((case, sides))

    print(f"Side by side, {datetime.date.today()}: {host.machine()}, {os.cpu_count()} cores, Docker "
          f"{engine.docker('version', '--format', '{{.Server.Version}}').stdout.strip()} (containerd image "
          f"store), buildx {engine.buildx_version()}, stand-in base images; times are the median of "
          f"{args.runs} run(s).\n")
    print(table(results))
    for case, sides in results:
        print(f"\n{case.name}: {case.title}; dependency change: {case.dependency_label}.")
        for side, label in (("team", "hand-written"), ("bakegen", "bakegen")):
            m = sides[side][BUILD_PLATFORM]
            for what in ("source", "dependency"):
                steps = m.builds[what][0].stage_steps() if m.builds else []
                print(f"- {label}, {BUILD_PLATFORM}, after the {what} change, {len(steps)} steps ran: "
                      + "; ".join(steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
