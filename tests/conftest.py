"""Fixtures: fixture projects copied to a temporary folder, and a CLI runner."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

from bakegen.cli import cli

# Timings are for the benchmark, never for tests: no per-example deadline
# (python-hcl2 builds its grammar on first use, which a deadline would flag).
# CI (CI=true) is derandomized so a run is reproducible; locally each run
# explores new examples. `pytest --hypothesis-profile=soak` runs many more.
settings.register_profile("bakegen", deadline=None, derandomize=bool(os.environ.get("CI")))
settings.register_profile("soak", deadline=None, max_examples=2000)
settings.load_profile("bakegen")

# Tests get their own cache folder (compiled templates, parsed lock files).
os.environ.setdefault("BAKEGEN_CACHE_DIR", tempfile.mkdtemp(prefix="bakegen-test-cache-"))

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
PROJECTS = Path(__file__).resolve().parent / "projects"


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def copy_example(dest: Path) -> Path:
    """Copy the repository's example (matrix.yaml and example/) to `dest`."""
    shutil.copy2(REPO / "matrix.yaml", dest / "matrix.yaml")
    shutil.copytree(REPO / "example", dest / "example")
    if (REPO / "docker-bake.hcl").exists():
        shutil.copy2(REPO / "docker-bake.hcl", dest / "docker-bake.hcl")
    return dest / "matrix.yaml"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the repository example; returns its matrix.yaml."""
    return copy_example(tmp_path)


@pytest.fixture
def project(tmp_path: Path) -> Callable[[str], Path]:
    """Copy tests/projects/NAME to a temporary folder; returns its matrix.yaml."""

    def make(name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(PROJECTS / name, dest)
        return dest / "matrix.yaml"

    return make


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run the bakegen CLI in-process: run(*args, cwd=PATH)."""

    def invoke(*args: str, cwd: Path | None = None) -> Result:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)

    return invoke


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root`, by relative path: to assert nothing changed."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
