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
    assert "| matrix | render (empty) | render (no-op) | check | peak RSS |" in lines
    assert any(line.startswith("| N = 3 |") for line in lines)
    assert any(line.startswith("| example (10 services) |") for line in lines)
