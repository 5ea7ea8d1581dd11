"""Render a project and build it with `docker buildx bake` on the real engine.

The generated files are built as they are. What only this machine needs
goes into a second bake file given with `-f`: host networking for RUN steps
(the engine here has no bridge), nothing else.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine import Engine

from dockerfile_checks import runs_on_target

from bakegen import build_plan
from bakegen.model.plan import Plan, Target, Var

REPO = Path(__file__).resolve().parents[2]
PROJECTS = REPO / "tests" / "projects"
HARNESS_FILE = "e2e.hcl"
# Every project whose generated files must build: the example and each fixture.
PROJECT_NAMES = ["example", *sorted(p.name for p in PROJECTS.iterdir() if (p / "matrix.yaml").is_file())]
TAG = "e2e"
# BuildKit runs the SBOM scanner on the engine's bridge network, whatever the
# target's `network`: an engine without a bridge (BAKEGEN_E2E_BRIDGE=none, a
# second engine beside the first) cannot make SBOMs, so its builds skip them.
SBOM = os.environ.get("BAKEGEN_E2E_BRIDGE") != "none"
# This machine's platform: the only one whose RUN steps can execute here.
BUILD_PLATFORM = "linux/amd64"

# A RUN step BuildKit executed on linux/arm64 (not cached). Steps of stages on
# the build platform show as "linux/amd64->arm64" and do not match.
ARM64_RUN = re.compile(r"^#(\d+) \[(?:[^\]]* )?linux/arm64(?:/v8)? ([^\]]*)\] (RUN .*)$", re.MULTILINE)
# A step of a Dockerfile stage in plain progress output ("[target platform stage 3/4] RUN ..."),
# FROM lines left out.
STAGE_STEP = re.compile(r"^\[[^\]]* \d+/\d+\] (?!FROM )")


def copy_project(name: str, dest: Path) -> Path:
    """Copy the example (`example`) or tests/projects/NAME to `dest`; return its matrix.yaml."""
    if name == "example":
        dest.mkdir(parents=True)
        shutil.copy2(REPO / "matrix.yaml", dest / "matrix.yaml")
        shutil.copytree(REPO / "example", dest / "example")
    else:
        shutil.copytree(PROJECTS / name, dest)
    return dest / "matrix.yaml"


def bakegen(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bakegen", *args], cwd=cwd, env=env, text=True,
                          capture_output=True)


def forget_images(engine: Engine, prefix: str) -> None:
    """Untag the engine's images named under `prefix` (pushes keep a local copy), by
    name only: an image that has other names keeps them."""
    out = engine.docker("image", "ls", "--no-trunc", "--format",
                        "{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}}").stdout
    refs = []
    for line in out.splitlines():
        repository, tag, digest, image_id = line.split(" ")
        if repository.startswith(prefix + "/"):
            # Pushed by digest: no tag, and the name is held with the image's digest.
            refs.append(f"{repository}:{tag}" if tag != "<none>" else f"{repository}@{digest or image_id}")
    if refs:
        engine.docker("image", "rm", *sorted(set(refs)), check=False)


@dataclass
class Build:
    """One `docker buildx bake` run: its command, exit code, log and metadata."""

    command: list[str]
    returncode: int
    log: str
    metadata: dict
    seconds: float

    def failure(self) -> str:
        errors = [line for line in self.log.splitlines() if "ERROR" in line or "error:" in line]
        return "\n".join([" ".join(self.command), *errors[-15:], *self.log.splitlines()[-15:]])

    def arm64_runs(self) -> list[str]:
        """RUN steps that executed on linux/arm64, as 'stage N/M: RUN ...'."""
        cached = set(re.findall(r"^#(\d+) CACHED", self.log, re.MULTILINE))
        return [f"{m.group(2)}: {m.group(3)}" for m in ARM64_RUN.finditer(self.log) if m.group(1) not in cached]

    def failed_steps(self, error: str) -> list[str]:
        """Progress names ("[target stage N/M] RUN ...") of the steps whose output says `error`."""
        numbers = set(re.findall(rf"^#(\d+) .*{re.escape(error)}", self.log, re.MULTILINE))
        names = dict(re.findall(r"^#(\d+) (\[.*)$", self.log, re.MULTILINE))
        return sorted(names[n] for n in numbers if n in names)

    def cached_steps(self) -> list[str]:
        """Every step whose result came from the build cache, by its progress name."""
        names = dict(re.findall(r"^#(\d+) (\[.*)$", self.log, re.MULTILINE))
        cached = set(re.findall(r"^#(\d+) CACHED", self.log, re.MULTILINE))
        return [names[n] for n in names if n in cached]

    def executed_steps(self) -> list[str]:
        """Every step that ran (not CACHED), by its progress name."""
        names = dict(re.findall(r"^#(\d+) (\[.*)$", self.log, re.MULTILINE))
        done = set(re.findall(r"^#(\d+) DONE", self.log, re.MULTILINE))
        cached = set(re.findall(r"^#(\d+) CACHED", self.log, re.MULTILINE))
        return [names[n] for n in names if n in done and n not in cached]

    def stage_steps(self, cached: bool = False) -> list[str]:
        """Dockerfile steps that ran (with `cached`, that came from the cache), FROM lines left out."""
        return [s for s in (self.cached_steps() if cached else self.executed_steps()) if STAGE_STEP.match(s)]


@dataclass
class Project:
    """A rendered copy of a fixture project (or the example) and the engine that builds it."""

    name: str
    matrix: Path
    engine: Engine
    registry: str  # e.g. 127.0.0.1:5000
    plan: Plan = field(init=False)

    def __post_init__(self) -> None:
        result = bakegen("render", "-f", str(self.matrix), cwd=self.dir)
        assert result.returncode == 0, result.stderr
        self.plan = build_plan(self.matrix)
        self.write_harness_file()

    @property
    def dir(self) -> Path:
        return self.matrix.parent

    @property
    def registry_prefix(self) -> str:
        return f"{self.registry}/{self.name}"

    def write_harness_file(self) -> None:
        # Host networking for RUN steps: this machine's engine has no bridge.
        blocks = []
        for t in self.plan.targets:
            lines = ['  network = "host"', '  entitlements = ["network.host"]']
            if not SBOM and "type=sbom" in t.push_attest:
                kept = [a for a in t.push_attest if a != "type=sbom"] + ["type=sbom,disabled=true"]
                lines.append(f"  attest = {json.dumps(kept)}")
            blocks.append(f'target "{t.name}" {{\n' + "\n".join(lines) + "\n}\n")
        (self.dir / HARNESS_FILE).write_text("\n".join(blocks))

    def env(self, **extra: str) -> dict[str, str]:
        # Pushed targets carry their SBOM, as a push asks (SBOM=true), where the engine can make one.
        return {**self.engine.env, "REGISTRY": self.registry_prefix, "TAG": TAG, "SBOM": str(SBOM).lower(), **extra}

    def bake(self, *args: str, old_buildx: bool = False, **env: str) -> Build:
        """`docker buildx bake -f docker-bake.hcl -f e2e.hcl ARGS`, with plain progress."""
        engine_env = self.env(**env)
        if old_buildx:
            engine_env["DOCKER_CONFIG"] = self.engine.old_buildx_env["DOCKER_CONFIG"]
        allow = [] if old_buildx else ["--allow=network.host", *self.allow()]
        metadata = self.dir / "metadata.json"
        metadata.unlink(missing_ok=True)
        command = ["docker", "buildx", "bake", "-f", "docker-bake.hcl", "-f", HARNESS_FILE, *allow,
                   "--progress=plain", "--metadata-file", str(metadata), *args]
        start = time.monotonic()
        result = self.engine.docker(*command[1:], check=False, cwd=self.dir, env=engine_env, timeout=3600)
        seconds = time.monotonic() - start
        meta = json.loads(metadata.read_text()) if metadata.is_file() else {}
        return Build(command, result.returncode, result.stdout, meta, seconds)

    def allow(self) -> list[str]:
        """The --allow flags the generated header names (buildx 0.19+)."""
        header = (self.dir / "docker-bake.hcl").read_text().split("\nvariable", 1)[0]
        return re.findall(r"--allow=\S+?(?=[ `])", header)

    def print_targets(self, old_buildx: bool = False) -> dict:
        env = self.env()
        if old_buildx:
            env["DOCKER_CONFIG"] = self.engine.old_buildx_env["DOCKER_CONFIG"]
        result = self.engine.docker("buildx", "bake", "-f", "docker-bake.hcl", "--print", "default",
                                    cwd=self.dir, env=env, check=False)
        assert result.returncode == 0, result.stdout
        return json.loads(result.stdout[result.stdout.index("{"):])

    def emulated(self) -> dict[str, list[str]]:
        """target -> the platforms on which it executes RUN steps: the steps the
        README documents as needing emulation (a dependency without a wheel)."""
        out: dict[str, list[str]] = {}
        for t in self.plan.targets:
            for platform in t.platforms:
                if platform != BUILD_PLATFORM and runs_on_target(self.dir / t.context / t.dockerfile, t.target,
                                                                 platform):
                    out.setdefault(t.name, []).append(platform)
        return out

    def build_all(self) -> Build:
        """Bake every target for every platform it builds without emulation."""
        targets, narrowed = [], []
        emulated = self.emulated()
        for t in self.plan.targets:
            rest = [pl for pl in t.platforms if pl not in emulated.get(t.name, [])]
            if rest:
                targets.append(t.name)
            if rest and rest != list(t.platforms):
                narrowed += ["--set", f"{t.name}.platform={','.join(rest)}"]
        return self.bake(*targets, *narrowed)

    def own_dockerfiles(self) -> set[str]:
        """Services built from the team's own Dockerfile (runtime: dockerfile): not bakegen's to judge."""
        generated = {d.service for d in self.plan.dockerfiles}
        return {t.service for t in self.plan.targets if t.service not in generated}

    def matrix_run_as_root(self) -> set[str]:
        """Services whose production images the matrix lets run as root."""
        from bakegen.pipeline import load_project

        resolved, _ = load_project(self.matrix)
        return {s.name for s in resolved.services if s.run_as_root}

    def tag(self, target: Target, index: int = 0, registry: str | None = None) -> str:
        """The image reference bake gives `target` here (its first tag by default), or with
        REGISTRY=`registry`."""
        values = {"REGISTRY": registry or self.registry_prefix, "TAG": TAG}
        return "".join(values[p.name] if isinstance(p, Var) else p for p in target.tags[index])

    def image_config(self, target: Target, platform: str) -> dict:
        out = self.engine.docker("image", "inspect", "--platform", platform, self.tag(target)).stdout
        return json.loads(out)[0]["Config"]
