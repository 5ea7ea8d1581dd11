"""Broken matrices: exact `file:line:col` messages, exit code 2, nothing written.

Each tests/invalid/NAME.yaml is copied as matrix.yaml into a copy of the
`minimal` fixture project; tests/invalid/NAME.txt is the exact stderr.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import PROJECTS, tree

INVALID = Path(__file__).parent / "invalid"
CASES = sorted(p.stem for p in INVALID.glob("*.yaml"))


def make_case(tmp_path: Path, name: str) -> Path:
    root = tmp_path / "project"
    shutil.copytree(PROJECTS / "minimal", root)
    shutil.copy2(INVALID / f"{name}.yaml", root / "matrix.yaml")
    return root


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("command", ["validate", "render", "check", "list"])
def test_invalid_matrix(tmp_path, run, name, command):
    root = make_case(tmp_path, name)
    before = tree(root)
    result = run(command, cwd=root)
    assert result.exit_code == 2
    assert result.stderr == (INVALID / f"{name}.txt").read_text(encoding="utf-8")
    assert result.stdout == ""
    assert tree(root) == before, "an invalid matrix must not write anything"


def test_missing_matrix_file(tmp_path, run):
    result = run("validate", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        "matrix.yaml: matrix file not found: matrix.yaml\n"
        "  hint: run bakegen in the folder that holds matrix.yaml, or pass -f PATH\n"
    )


def test_directory_instead_of_file(tmp_path, run):
    (tmp_path / "matrix.yaml").mkdir()
    result = run("render", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith("matrix.yaml: expected a YAML file but this is a directory\n")


def test_not_utf8(tmp_path, run):
    (tmp_path / "matrix.yaml").write_bytes(b"version: 1\nproject:\n  name: caf\xe9\n")
    result = run("validate", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        "matrix.yaml:3:12: the file is not valid UTF-8 (byte 0xe9)\n"
        "  hint: save matrix.yaml as UTF-8\n"
    )


def test_alias_bomb_fails_fast(tmp_path, run):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    lines.append("version: 1")
    (tmp_path / "matrix.yaml").write_text("\n".join(lines) + "\n")
    result = run("validate", cwd=tmp_path)
    assert result.exit_code == 2
    assert "YAML aliases here expand to more than 2,000,000 values" in result.stderr
    assert result.stderr.startswith("matrix.yaml:7:")


def test_errors_are_reported_in_file_order(tmp_path, run):
    root = make_case(tmp_path, "unknown-references")
    lines = run("validate", cwd=root).stderr.splitlines()
    located = [line for line in lines if line.startswith("matrix.yaml:")]
    positions = [tuple(int(n) for n in line.split(":")[1:3]) for line in located]
    assert positions == sorted(positions) and len(positions) == 2


def test_unreadable_file(tmp_path, run, monkeypatch):
    (tmp_path / "matrix.yaml").write_text("version: 1\n")
    real = Path.read_bytes

    def denied(self):
        if self.name == "matrix.yaml":
            raise PermissionError(13, "Permission denied")
        return real(self)

    # Tests may run as root, who can read anything: simulate the denial.
    monkeypatch.setattr(Path, "read_bytes", denied)
    result = run("validate", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        "matrix.yaml: cannot read the file: Permission denied\n"
        "  hint: check the file's permissions\n"
    )


def test_thousands_of_errors_are_capped(tmp_path, run):
    lines = ["version: 1", "project: {name: big, registry: r.example.com/big}",
             "images: {python: 'python:3.12-slim', uv: 'ghcr.io/astral-sh/uv:0.13.9'}",
             "stages: {production: {}}", "services:"]
    for i in range(3000):
        lines.append(f"  svc{i}: {{runtime: python, context: svc, colour: blue}}")
    (tmp_path / "matrix.yaml").write_text("\n".join(lines) + "\n")
    result = run("validate", cwd=tmp_path)
    assert result.exit_code == 2
    out = result.stderr.splitlines()
    located = [line for line in out if line.startswith("matrix.yaml:")]
    assert len(located) == 100
    assert located[0] == "matrix.yaml:6:41: unknown key 'colour'"
    assert out[-1] == "... and 2900 more errors (showing the first 100)"
