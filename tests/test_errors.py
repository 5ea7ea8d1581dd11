"""Broken matrices: exact `file:line:col` messages, exit code 2, nothing written.

Each tests/invalid/NAME.yaml is copied as matrix.yaml into a copy of the
`minimal` fixture project; tests/invalid/NAME.txt is the exact stderr.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import bakegen.files.read
import bakegen.model.source

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
    real = bakegen.files.read.os.open

    def denied(path, *args, **kwargs):
        if Path(path).name == "matrix.yaml":
            raise PermissionError(13, "Permission denied")
        return real(path, *args, **kwargs)

    # Tests may run as root, who can read anything: simulate the denial.
    monkeypatch.setattr(bakegen.files.read.os, "open", denied)
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


def run_process(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI in its own process, for inputs that might hang or crash one."""
    return subprocess.run([sys.executable, "-m", "bakegen", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=30)


def test_a_fifo_or_device_is_refused_without_reading_it(tmp_path):
    os.mkfifo(tmp_path / "matrix.yaml")  # reading it would wait for a writer forever
    for path in (tmp_path / "matrix.yaml", Path("/dev/zero")):  # /dev/zero never ends
        result = run_process("validate", "-f", str(path), cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr == (f"{path}: not a regular file (a pipe, socket or device)\n"
                                 "  hint: pass the matrix file itself with -f PATH\n")


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path, run):
    items = "1, " * 20_000_000  # 60 MB, no aliases
    (tmp_path / "matrix.yaml").write_text(f"version: 1\nx: [{items}]\n")
    started = time.monotonic()
    result = run("validate", cwd=tmp_path)
    assert time.monotonic() - started < 5
    assert result.exit_code == 2
    assert result.stderr == (
        "matrix.yaml: the file is 60,000,017 bytes; bakegen reads matrix files of at most 8,388,608 (8 MiB)\n"
        "  hint: a matrix of 5,000 services is about 1.2 MB: check that -f names the matrix file, and that it holds "
        "no pasted data\n")


def test_a_document_with_too_many_values_is_not_called_an_alias_bomb(tmp_path, run, monkeypatch):
    monkeypatch.setattr(bakegen.model.source, "MAX_VALUES", 1000)  # the real limit is 2,000,000
    (tmp_path / "matrix.yaml").write_text("version: 1\nx: [" + "1, " * 1500 + "]\n")
    result = run("validate", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        "matrix.yaml:2:2990: the document has more than 1,000 values\n"
        "  hint: a matrix this large is probably not a matrix; check that -f names the right file\n")


def test_deep_nesting_is_refused_without_recursing(tmp_path):
    (tmp_path / "matrix.yaml").write_text("version: " + "[" * 100_000 + "]" * 100_000 + "\n")
    result = run_process("validate", cwd=tmp_path)  # it used to crash the interpreter
    assert result.returncode == 2
    assert result.stderr.startswith("matrix.yaml:1:109: values are nested more than 100 deep here\n")


def test_deep_nesting_through_aliases_is_refused(tmp_path, run):
    lines = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 3000)] + ["version: 1"]
    (tmp_path / "matrix.yaml").write_text("\n".join(lines) + "\n")
    result = run("validate", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith("matrix.yaml:")
    assert ": values are nested more than 100 deep here\n" in result.stderr


def test_a_pipe_as_a_services_dockerfile_is_not_called_a_folder(tmp_path):
    root = make_case(tmp_path, "empty")
    shutil.copy2(PROJECTS / "minimal/matrix.yaml", root / "matrix.yaml")
    (root / "legacy/Dockerfile").unlink()
    os.mkfifo(root / "legacy/Dockerfile")  # reading it would wait for a writer forever
    line = (root / "matrix.yaml").read_text().splitlines().index("    dockerfile: legacy/Dockerfile") + 1
    for command in ("validate", "render", "check"):
        result = run_process(command, cwd=root)
        assert result.returncode == 2
        assert result.stderr == f"matrix.yaml:{line}:17: file 'legacy/Dockerfile' is not a regular file (a pipe, socket or device)\n"


def test_schema_to_a_path_that_cannot_be_written_is_a_message(tmp_path, run, monkeypatch):
    (tmp_path / "file").write_text("not a folder\n")
    result = run("schema", "-o", "file/schema.json", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == ("file/schema.json: cannot write: a part of this path is a file, not a folder\n"
                             "  hint: choose another path with -o\n")
    # chmod does not stop root, who may run these tests: refuse as the OS would.
    import bakegen.render.write

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(bakegen.render.write, "_open_new", denied)
    result = run("schema", "-o", "schema.json", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == ("schema.json: cannot write: Permission denied\n"
                             "  hint: check the folder's permissions and free space, or choose another path with -o\n")


def test_every_pattern_of_the_schema_has_words_for_a_mistake():
    """A value that does not match a field's pattern is told what the field takes, never the
    regular expression (`String should match pattern '^[a-z0-9]...'`)."""
    from bakegen.model.load import PATTERN_MEANINGS
    from bakegen.model.schema import Matrix

    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            found.update(v for k, v in node.items() if k == "pattern" and isinstance(v, str))
            for k, v in node.items():
                if k != "pattern":
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(Matrix.model_json_schema())
    assert found and found <= set(PATTERN_MEANINGS), sorted(found - set(PATTERN_MEANINGS))
