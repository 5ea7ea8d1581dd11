"""The installed package (not only an editable checkout) finds its templates."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from bakegen import render_project
from conftest import REPO, copy_example


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(REPO)],
        check=True, capture_output=True,
    )
    (built,) = out.glob("bakegen-*.whl")
    return built


def test_wheel_ships_the_templates(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"bakegen/_templates/{p.name}" for p in (REPO / "templates").glob("*.j2")}
    assert shipped, "no templates found in templates/"
    assert shipped <= names
    assert "bakegen/_templates/docker-bake.hcl.j2" in names


def test_installed_wheel_renders_the_example(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # The test environment's site-packages provide the dependencies (no
    # network needed). A plain path line in a .pth is appended to sys.path
    # without running that folder's own .pth files, so an editable bakegen
    # there stays invisible and the wheel is what gets imported.
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True)
    work = tmp_path / "work"
    work.mkdir()
    matrix = copy_example(work)
    where = subprocess.run([str(python), "-c", "import bakegen; print(bakegen.__file__)"],
                           check=True, capture_output=True, text=True, cwd=tmp_path).stdout
    assert where.startswith(str(env_dir)), f"imported {where} instead of the installed wheel"

    result = subprocess.run([str(env_dir / "bin" / "bakegen"), "render"], cwd=work,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    expected = render_project(matrix).files
    for path, text in expected.items():
        assert (work / path).read_text(encoding="utf-8") == text, path
