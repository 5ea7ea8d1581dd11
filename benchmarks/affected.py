"""Benchmark building only what changed: the generated workflow's build jobs and wall time.

On the example in a git repository of its own, four pushes to main, each
compared with the same first commit:

- full:    the first commit, nothing to compare with and an empty registry;
- service: one line of catalog-api's source changed;
- shared:  one line of the Go module every function names as a context;
- readme:  README.md changed.

For each: the build jobs the plan job starts (target x platform), the
targets re-tagged instead of built, and (unless --plan-only) the wall time
of the whole workflow run by the end-to-end suite's stand-in runner
(tests/e2e/actions.py: jobs one after another on this machine, where
GitHub runs a level's jobs in parallel) on a private engine whose build
cache is emptied before each push, as a fresh runner's is; the registry
cache (`ci.github.cache: registry`) is what a runner reads.

Run from the repository root, as root on Debian (it starts a private
engine like the end-to-end suite's, see tests/e2e/engine.py):

    python benchmarks/affected.py            # builds: several minutes
    python benchmarks/affected.py --plan-only   # only `bakegen affected`: seconds, no engine

Timings are for this script and docs/scaling.md, never assertions in the tests.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests" / "e2e"), str(REPO / "tests")]

GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
           "GIT_AUTHOR_DATE": "1800000000 +0000", "GIT_COMMITTER_DATE": "1800000000 +0000"}
# Each change: (label, file in the project, text appended).
CHANGES = [
    ("one service (catalog-api's source)", "example/services/catalog-api/catalog/main.py", "# changed\n"),
    ("shared module (example/functions/shared)", None, "// changed\n"),
    ("README.md only", "README.md", "More words.\n"),
]


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, env=GIT_ENV, check=True, capture_output=True,
                          text=True).stdout.strip()


def project(root: Path) -> Path:
    """The example in a git repository, with `ci.github.cache: registry`; its first commit."""
    shutil.copy2(REPO / "matrix.yaml", root / "matrix.yaml")
    shutil.copytree(REPO / "example", root / "example")
    matrix = root / "matrix.yaml"
    matrix.write_text(matrix.read_text().replace("github: {cache: gha}", "github: {cache: registry}"))
    (root / "README.md").write_text("# The shop\n")
    subprocess.run([sys.executable, "-m", "bakegen", "render", "-q", "-f", str(matrix)], check=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the shop")
    return matrix


def change(root: Path, base: str, path: str | None, text: str) -> str:
    """A commit on top of `base` that appends `text` to `path` (None: a file of the shared module)."""
    git(root, "reset", "-q", "--hard", base)
    target = root / path if path else min((root / "example/functions/shared").rglob("*.go"))
    target.write_text(target.read_text() + text)
    git(root, "commit", "-q", "-am", f"change {target.name}")
    return git(root, "rev-parse", "HEAD")


def plan_jobs(matrix: Path, since: str | None) -> tuple[int, float]:
    """(build jobs, seconds) of `bakegen affected --format github` as the plan job runs it."""
    args = [sys.executable, "-m", "bakegen", "affected", "-f", str(matrix), "--format", "github"]
    start = time.monotonic()
    result = subprocess.run(args + (["--since", since] if since else []), capture_output=True, text=True,
                            check=True, cwd=matrix.parent)
    seconds = time.monotonic() - start
    outputs = dict(line.split("=", 1) for line in result.stdout.splitlines())
    return sum(len(json.loads(v)) for k, v in outputs.items() if k.startswith("build")), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan-only", action="store_true", help="count the jobs `bakegen affected` plans; no builds")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bakegen-affected-bench-"))
    root = work / "shop"
    root.mkdir()
    matrix = project(root)
    base = git(root, "rev-parse", "HEAD")
    rows: list[tuple[str, int, int, str]] = []
    if args.plan_only:
        jobs, seconds = plan_jobs(matrix, None)
        rows.append(("full build (nothing to compare with)", jobs, 0, f"plan {seconds:.1f} s"))
        for label, path, text in CHANGES:
            commit = change(root, base, path, text)
            jobs, seconds = plan_jobs(matrix, base)
            rows.append((label, jobs, 0, f"plan {seconds:.1f} s"))
            assert commit
        print_table(rows, "plan only", full=rows[0][1])
        shutil.rmtree(work, ignore_errors=True)
        return 0

    from actions import Runner, push_to_main
    from buildkit import standalone_builder
    from engine import Engine
    from harness import HARNESS_FILE, Project
    from registry import Registry
    from standins import SBOM_SCANNER, StandIns, from_images

    shared = Engine().up()
    registry = Registry(shared.root).start()
    engine = Engine(instance=f"affected-bench-{os.getpid()}")
    engine.start()
    try:
        p = Project("example", matrix, engine, registry.address)
        refs = {ref for d in p.plan.dockerfiles for ref in from_images(p.dir / d.path)}
        refs |= {ref for t in p.plan.targets if not any(d.service == t.service for d in p.plan.dockerfiles)
                 for ref in from_images(p.dir / t.context / t.dockerfile)}
        StandIns(engine).ensure(sorted(refs | {SBOM_SCANNER}))
        git(root, "add", "-A")  # the harness's bake file
        git(root, "commit", "-q", "--amend", "--no-edit")
        base = git(root, "rev-parse", "HEAD")
        prefix = f"{registry.address}/{uuid.uuid4().hex[:10]}/bench"
        with standalone_builder(engine, "affected-bench") as builder:
            env = {**builder, "PATH": f"{Path(sys.executable).parent}:{builder['PATH']}"}

            def push(sha: str, before: str, name: str) -> tuple[int, int, float]:
                engine.prune_build_cache()  # a fresh runner: only the registry cache
                runner = Runner(workflow=p.dir / ".github/workflows/bakegen.yml", checkout=p.dir, env=env,
                                work=work / name, github=push_to_main(sha, before), vars={"REGISTRY": prefix},
                                secrets={"REGISTRY_USERNAME": "ci", "REGISTRY_PASSWORD": "-"},
                                extra_bake_files=(HARNESS_FILE,), extra_allow=("network.host",))
                start = time.monotonic()
                jobs = runner.run()
                seconds = time.monotonic() - start
                builds = sum(j.job.startswith("build") for j in jobs)
                retagged = sum(j.job.startswith("merge") and j.matrix["mode"] == "copy" for j in jobs)
                return builds, retagged, seconds

            builds, retagged, seconds = push(base, "0" * 40, "full")
            rows.append(("full build (nothing to compare with)", builds, retagged, f"{seconds:.0f} s"))
            for index, (label, path, text) in enumerate(CHANGES):
                commit = change(root, base, path, text)
                builds, retagged, seconds = push(commit, base, f"change-{index}")
                rows.append((label, builds, retagged, f"{seconds:.0f} s"))
    finally:
        engine.remove()
    print(f"example: {len(p.plan.targets)} targets, {sum(t.push for t in p.plan.targets)} pushed; "
          f"{datetime.date.today()}, {platform.machine()}, {os.cpu_count()} cores, "
          f"buildx {shared.buildx_version()}\n")
    print_table(rows, "workflow", full=rows[0][1])
    shutil.rmtree(work, ignore_errors=True)
    return 0


def print_table(rows: list[tuple[str, int, int, str]], kind: str, full: int) -> None:
    print("| push | build jobs | fewer than full | re-tagged | wall time |")
    print("|---|---|---|---|---|")
    for label, jobs, retagged, seconds in rows:
        ratio = "-" if jobs == full else ("all" if jobs == 0 else f"{full / jobs:.0f}x")
        print(f"| {label} | {jobs} | {ratio} | {retagged} | {seconds} |")
    if kind == "plan only":
        print("\n(plan only: `bakegen affected --format github` as the plan job runs it, no registry)")


if __name__ == "__main__":
    sys.exit(main())
