"""The benchmark script runs (its timings are for people, never asserted here)."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_benchmark_script_prints_its_table():
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench.py"), "--sizes", "3", "--runs", "1"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("| matrix | validate | render (empty) | render (no-op) | check | peak RSS |")
               for line in lines)
    assert any(line.startswith("| N = 3 |") for line in lines)
    assert any(line.startswith("| example (10 services) |") for line in lines)


def test_engine_benchmarks_start():
    """build.py, compare.py and scale.py need the engine to measure; their imports and options do not."""
    for script in ("build.py", "compare.py", "scale.py"):
        result = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), "--help"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, (script, result.stderr)
        assert result.stdout.startswith("usage:"), script


def test_every_comparison_case_names_files_and_targets_that_exist():
    check = """
import sys
sys.path.insert(0, "benchmarks")
import compare
from bakegen import build_plan
for case in compare.CASES:
    project = compare.REPO / "tests" / "projects" / case.name
    assert (compare.HANDWRITTEN / case.name / "Dockerfile").is_file(), case.name
    assert (project / case.source).is_file(), case.source
    assert (project / case.context).is_dir(), case.context
    plan = build_plan(project / "matrix.yaml")
    for target in case.bakegen_targets:
        plan.target(target)
print(len(compare.CASES))
"""
    result = subprocess.run([sys.executable, "-c", check], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def test_affected_benchmark_counts_the_jobs_each_change_builds():
    """Without the engine (--plan-only), the jobs the workflow's plan job would start."""
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "affected.py"), "--plan-only"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = {line.split(" | ")[0].removeprefix("| "): line.split(" | ")[1:3]
            for line in result.stdout.splitlines() if line.startswith("| ") and not line.startswith("| push")}
    assert rows["full build (nothing to compare with)"] == ["14", "-"]
    assert rows["one service (catalog-api's source)"] == ["1", "14x"]
    assert rows["README.md only"] == ["0", "all"]
