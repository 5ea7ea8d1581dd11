"""Benchmark real builds of generated files on the engine the end-to-end suite uses.

For a project (the example by default), on a build cache emptied first:

- cold:    `docker buildx bake` of every target, both platforms;
- no-op:   the same again, nothing changed;
- source:  after a one-line change to one service's source (which steps re-ran).

Run from the repository root, as root on Debian (it installs and starts the
engine like `BAKEGEN_E2E=1 pytest` does, see tests/e2e/engine.py):

    python benchmarks/build.py [--project example] [--service catalog-api]

Timings are for this script and the README, never assertions in the tests.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests" / "e2e"), str(REPO / "tests")]

from engine import Engine  # noqa: E402
from harness import Project, copy_project  # noqa: E402
from registry import Registry  # noqa: E402
from standins import StandIns, from_images  # noqa: E402

# A step of a Dockerfile stage in plain progress output, FROM lines left out.



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default="example", help="example, or a folder name under tests/projects")
    parser.add_argument("--service", default="catalog-api", help="the service whose source changes")
    parser.add_argument("--source", default=None, help="file (in the project) to change; default: first .py")
    args = parser.parse_args()

    engine = Engine().up()
    registry = Registry(engine.root).start()
    work = Path(tempfile.mkdtemp(prefix="bakegen-build-bench-"))
    p = Project(args.project, copy_project(args.project, work / args.project), engine, registry.address)
    refs = [getattr(d.values, k) for d in p.plan.dockerfiles for k in ("base_build", "base_run", "uv_image")
            if getattr(d.values, k, None)]
    for t in p.plan.targets:
        if not any(d.service == t.service for d in p.plan.dockerfiles):
            refs += from_images(p.dir / t.context / t.dockerfile)
    StandIns(engine).ensure(refs)

    engine.docker("buildx", "prune", "--all", "--force")
    cold = p.build_all()
    if cold.returncode:
        print(cold.failure(), file=sys.stderr)
        return 1
    noop = p.build_all()

    service = p.plan.target(f"{args.service}-production")
    context = p.dir / service.context
    source = context / args.source if args.source else sorted(
        f for f in context.rglob("*.py") if "tests" not in f.parts)[0]
    source.write_text(source.read_text() + f"# changed {uuid.uuid4()}\n")
    changed = p.build_all()

    targets = len(p.plan.targets)
    images = sum(len(t.platforms) for t in p.plan.targets)
    print(f"{args.project}: {targets} targets, {images} target x platform images; "
          f"{datetime.date.today()}, {platform.machine()}, {os.cpu_count()} cores, "
          f"buildx {engine.buildx_version()}\n")
    print("| build | time | steps executed |")
    print("|---|---|---|")
    for label, build in (("cold (empty build cache)", cold), ("no change", noop),
                         (f"one line of {args.service} changed", changed)):
        print(f"| {label} | {build.seconds:.1f} s | {len(build.stage_steps())} |")
    print(f"\nRe-ran after the change: {', '.join(sorted(set(changed.stage_steps()))) or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
