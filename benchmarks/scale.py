"""How much work one bake shares: executed and cached steps of a cold build.

Services with the same base image and the same dependency files should not
repeat identical steps: BuildKit runs a step once per bake when its inputs
are the same, and bakegen's builder stages are written so that they are.
For the repository's example and for a synthetic fleet of N Python services
(each in its own folder, all with the same requirements), on an emptied
build cache: every target for every platform, then the steps BuildKit
executed and the ones it found in its cache, and how many of the executed
ones installed dependencies.

Run from the repository root, as root on Debian, on an engine no one else
uses (it empties the build cache; see tests/e2e/engine.py):

    python benchmarks/scale.py [--services 50]

Timings are for this script and the README, never assertions in the tests.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests" / "e2e"), str(REPO / "tests")]

from engine import Engine  # noqa: E402
from harness import Project, copy_project  # noqa: E402
from registry import Registry  # noqa: E402
from standins import StandIns  # noqa: E402

# A step that installs dependencies (not the project's own wheels, not tests).
INSTALL = re.compile(r"\] RUN .*(pip install|uv pip install).* -r /requirements/")
REQUIREMENTS = "starlette==1.10.0\nuvicorn==0.54.0\n"


def fleet(root: Path, services: int) -> Path:
    """A project of `services` pip services, each in its own folder with the same
    requirements and its own module; every one built for two platforms."""
    lines = ["version: 1", "project:", "  name: fleet", "  registry: registry.example.com/fleet",
             "  platforms: [linux/amd64, linux/arm64]", "  dockerfile_syntax: builtin",
             "images:", "  python: python:3.12-slim-bookworm",
             "stages:", "  production: {push: true}", "services:"]
    for i in range(services):
        name = f"svc-{i:02d}"
        app = root / "services" / name
        (app / "app").mkdir(parents=True)
        (app / "requirements.txt").write_text(REQUIREMENTS)
        (app / "app" / "__init__.py").write_text(f'"""Service {i}."""\nSHARD = {i}\n')
        lines += [f"  {name}:", "    runtime: python", f"    context: services/{name}",
                  "    command: [uvicorn, app:app]", "    python: {package_manager: pip}"]
    matrix = root / "matrix.yaml"
    matrix.write_text("\n".join(lines) + "\n")
    return matrix


def measure(engine: Engine, project: Project) -> dict[str, object]:
    StandIns(engine).ensure([getattr(d.values, k) for d in project.plan.dockerfiles
                             for k in ("base_build", "base_run", "uv_image") if getattr(d.values, k, None)])
    engine.docker("buildx", "prune", "--all", "--force")
    build = project.build_all()
    if build.returncode:
        raise SystemExit(build.failure())
    executed, cached = build.stage_steps(), len(build.stage_steps(cached=True))
    return {"targets": len(project.plan.targets), "images": sum(len(t.platforms) for t in project.plan.targets),
            "seconds": build.seconds, "executed": len(executed), "cached": cached,
            "installs": sum(1 for s in executed if INSTALL.search(s))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=50, help="size of the synthetic fleet")
    args = parser.parse_args()

    engine = Engine().up()
    registry = Registry(engine.root).start()
    work = Path(tempfile.mkdtemp(prefix="bakegen-scale-"))
    example = Project("example", copy_project("example", work / "example"), engine, registry.address)
    synthetic = Project("fleet", fleet(work / "fleet", args.services), engine, registry.address)
    rows = [(f"example ({len({t.service for t in example.plan.targets})} services)", measure(engine, example)),
            (f"synthetic ({args.services} services, same requirements)", measure(engine, synthetic))]

    print(f"{datetime.date.today()}, {platform.machine()}, {os.cpu_count()} cores, buildx {engine.buildx_version()}; "
          "cold build (emptied build cache) of every target for every platform\n")
    print("| project | targets | target x platform | cold | steps executed | steps cached | dependency installs |")
    print("|---|---|---|---|---|---|---|")
    for name, m in rows:
        print(f"| {name} | {m['targets']} | {m['images']} | {m['seconds']:.1f} s | {m['executed']} | {m['cached']} "
              f"| {m['installs']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
