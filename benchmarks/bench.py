"""Benchmark bakegen on synthetic matrices of 10, 100 and 1000 services.

Each service has three stages, two platforms, args and labels, and the
project uses a registry build cache. For each size, every measurement is a
separate process (interpreter start-up included), the median of --runs:

- validate: `bakegen validate`
- render:  `bakegen render` into a project with no generated files
- no-op:   `bakegen render` again, nothing changed (must write nothing)
- check:   `bakegen check`
- peak RSS of the render into an empty project
- bake:    `docker buildx bake --print` of the rendered files (what every
  build starts with), run interleaved with the renders, so that the ratios
  render / bake and no-op / bake hold on a shared, noisy machine where
  seconds do not

Every Python service shares one build context with a real lock file (the
example's catalog-api: pyproject.toml and a 58 KB uv.lock), as a monorepo's
services often do. Also measures the repository's example. Run from the
repository root:

    python benchmarks/bench.py [--sizes 10 100 1000] [--runs 5] [--buildx PATH]

The bake column needs a buildx plugin binary (--buildx, BAKEGEN_BUILDX, the
end-to-end suite's, or `docker buildx`); without one it is left out.
Timings are for this script, never assertions in the test suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Run the CLI in a child that reports its own peak RSS (KiB on Linux) on the
# pipe whose descriptor BENCH_FD names. Through main(), as the `bakegen`
# command runs: it also sets the process up (the garbage collector).
CHILD = (
    "import os, resource, sys\n"
    "from bakegen.cli import main\n"
    "try:\n"
    "    main()\n"
    "finally:\n"
    "    os.write(int(os.environ['BENCH_FD']), str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss).encode())\n"
)


# A real uv project whose lock file every synthetic Python service shares.
LOCKED_PROJECT = REPO / "example" / "services" / "catalog-api"


def synthetic(root: Path, services: int) -> Path:
    """Write a project with `services` services; return its matrix.yaml."""
    ctx = root / "services" / "app"
    (ctx / "app").mkdir(parents=True)
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy2(LOCKED_PROJECT / name, ctx / name)
    (ctx / "app" / "__init__.py").write_text("")
    go = root / "services" / "fn"
    go.mkdir(parents=True)
    (go / "go.mod").write_text("module example.com/fn\n\ngo 1.24\n")
    lines = [
        "version: 1",
        "project:",
        "  name: bench",
        "  registry: registry.example.com/bench",
        "  platforms: [linux/amd64, linux/arm64]",
        "  cache: {backend: registry}",
        "  labels: {org.opencontainers.image.vendor: Bench Inc.}",
        "images:",
        "  python: python:3.12-slim-bookworm",
        "  uv: ghcr.io/astral-sh/uv:0.13.9",
        "  go: golang:1.24-bookworm",
        "  static: gcr.io/distroless/static-debian12:nonroot",
        "stages:",
        "  development:",
        "  test: {output: [type=cacheonly]}",
        "  production: {push: true}",
        "services:",
    ]
    for i in range(services):
        runtime = "go" if i % 10 == 9 else "python"
        lines += [
            f"  svc-{i:04d}:",
            f"    runtime: {runtime}",
            f"    context: services/{'fn' if runtime == 'go' else 'app'}",
            f"    command: [python, -m, app, --shard, '{i}']" if runtime == "python" else "    command: [serve]",
            "    port: 8000",
            "    args: {APP_VERSION: '1.2.3', WORKERS: {linux/amd64: '4', linux/arm64: '2'}}",
            f"    labels: {{team: team-{i % 7}, tier: backend}}",
        ]
    matrix = root / "matrix.yaml"
    matrix.write_text("\n".join(lines) + "\n")
    return matrix


def run(matrix: Path, *args: str) -> tuple[float, int, int]:
    """Wall seconds, peak RSS (KiB) and exit code of one bakegen process."""
    read, write = os.pipe()
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, *args, "-f", str(matrix)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            pass_fds=(write,),
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "BENCH_FD": str(write)})
    os.close(write)
    _, err = proc.communicate()
    code = proc.returncode
    elapsed = time.perf_counter() - start
    if code not in (0,):
        sys.stderr.write(err.decode(errors="replace"))
    rss = os.read(read, 64).decode() or "0"
    os.close(read)
    return elapsed, int(rss), code


def compile_bytecode() -> None:
    """Measure bakegen as pip installs it: with the bytecode of every module.

    pip compiles a wheel's modules when it installs them; an editable install
    compiles on first import, unless PYTHONDONTWRITEBYTECODE is set (some CI
    images set it), and then every run would compile every module again.
    """
    import bakegen
    import compileall

    compileall.compile_dir(Path(bakegen.__file__).parent, quiet=2)  # a read-only install: measured as it is


def buildx_command(given: str | None) -> list[str] | None:
    """How to run buildx: --buildx, BAKEGEN_BUILDX, the end-to-end suite's, or `docker buildx`."""
    sys.path.insert(0, str(REPO / "tests"))
    from buildx import buildx_command as found  # the tests' finder

    if given:
        return [given]
    return found()


def bake_print(buildx: list[str], folder: Path) -> float:
    """Wall seconds of `bake --print` of every target in `folder`."""
    start = time.perf_counter()
    subprocess.run([*buildx, "bake", "--print"], cwd=folder, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


# What a copy of a project leaves out, so that each render starts with no generated file.
GENERATED = shutil.ignore_patterns("generated", "docker-bake.hcl", ".bakegen-manifest")


def measure(source: Path, runs: int, buildx: list[str] | None, scratch: Path) -> dict[str, float]:
    """Median timings for one project folder (copied fresh into `scratch` for cold renders).

    Nothing is deleted until every size is measured (see main): on ext4
    without a journal, creating a file scans past every inode deleted in the
    last minutes, and the renders would time the benchmark's own clean-up.
    """
    times: dict[str, list[float]] = {k: [] for k in ("validate", "render", "noop", "check", "bake", "rss")}
    for i in range(runs):
        work = scratch / f"run{i}"
        shutil.copytree(source, work, ignore=GENERATED)
        matrix = work / "matrix.yaml"
        seconds, _, code = run(matrix, "validate")
        assert code == 0, f"validate failed in {work}"
        times["validate"].append(seconds)
        seconds, peak, code = run(matrix, "render")
        assert code == 0, f"render failed in {work}"
        times["render"].append(seconds)
        times["rss"].append(peak)
        if buildx:  # right after the render it is compared with
            times["bake"].append(bake_print(buildx, work))
        before = {p: p.stat().st_mtime_ns for p in work.rglob("*") if p.is_file()}
        seconds, _, code = run(matrix, "render")
        assert code == 0
        times["noop"].append(seconds)
        after = {p: p.stat().st_mtime_ns for p in work.rglob("*") if p.is_file()}
        assert before == after, "a no-op render wrote files"
        seconds, _, code = run(matrix, "check")
        assert code == 0, "check found stale files right after render"
        times["check"].append(seconds)
    out = {k: statistics.median(v) for k, v in times.items() if v and k != "rss"}
    out["rss"] = max(times["rss"]) / 1024
    if buildx:
        # Ratio of each run's render to the bake --print right after it, then the median.
        out["ratio"] = statistics.median(r / b for r, b in zip(times["render"], times["bake"], strict=True))
        # The no-op render creates no file: its ratio is the part that does not depend on how
        # fast the disk makes new files (on ext4 without a journal, slower after deletions).
        out["noop_ratio"] = statistics.median(r / b for r, b in zip(times["noop"], times["bake"], strict=True))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--buildx", help="a docker-buildx plugin binary, for the bake --print comparison")
    args = parser.parse_args()
    buildx = buildx_command(args.buildx)
    compile_bytecode()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        example = Path(tmp) / "example"
        example.mkdir()
        shutil.copy2(REPO / "matrix.yaml", example / "matrix.yaml")
        shutil.copytree(REPO / "example", example / "example", ignore=GENERATED)
        rows.append(("example (10 services)", measure(example, args.runs, buildx, Path(tmp) / "runs-example")))
        for n in args.sizes:
            project = Path(tmp) / f"n{n}"
            project.mkdir()
            synthetic(project, n)
            rows.append((f"N = {n}", measure(project, args.runs, buildx, Path(tmp) / f"runs-{n}")))

    cpus = os.cpu_count()
    print(f"bakegen benchmark: Python {platform.python_version()}, {platform.machine()}, {cpus} CPUs, "
          f"median of {args.runs} runs, each a separate process")
    print()
    bake = " bake --print | render / bake | no-op / bake |" if buildx else ""
    print(f"| matrix | validate | render (empty) | render (no-op) | check | peak RSS |{bake}")
    print("|---|---|---|---|---|---|" + ("---|---|---|" if buildx else ""))
    for name, m in rows:
        line = (f"| {name} | {m['validate']:.2f} s | {m['render']:.2f} s | {m['noop']:.2f} s | {m['check']:.2f} s "
                f"| {m['rss']:.0f} MB |")
        if buildx:
            line += f" {m['bake']:.2f} s | {m['ratio']:.2f} | {m['noop_ratio']:.2f} |"
        print(line)
    if not buildx:
        print("\n(no buildx found: the bake --print comparison is left out; see --buildx)")
    by_size = {name: m for name, m in rows}
    if "N = 100" in by_size and "N = 1000" in by_size:
        ratio = by_size["N = 1000"]["render"] / by_size["N = 100"]["render"]
        print(f"\nt(1000) / t(100) = {ratio:.1f} (render into an empty folder)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
