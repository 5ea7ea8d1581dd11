"""The CLI as a user drives it: render, check, validate, list."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import tree


def test_render_writes_bake_file_at_project_root(example, run):
    result = run("render", "-f", str(example))
    assert result.exit_code == 0, result.stderr
    root = example.parent
    assert (root / "docker-bake.hcl").is_file()
    assert (root / "example/generated/insights/Dockerfile").is_file()
    assert "file(s) written" in result.stdout


def test_render_prints_a_summary_files_with_v_and_only_errors_with_q(example, run):
    assert run("render", "-f", str(example)).exit_code == 0
    (example.parent / "docker-bake.hcl").unlink()
    result = run("render", "-f", str(example))
    assert result.exit_code == 0
    assert result.stdout == "1 file(s) written, 18 unchanged\n"
    assert result.stderr.startswith("warning: service 'reducer'")
    (example.parent / "docker-bake.hcl").unlink()
    result = run("render", "-v", "-f", str(example))
    assert result.stdout == "create    docker-bake.hcl\n1 file(s) written, 18 unchanged\n"
    (example.parent / "docker-bake.hcl").unlink()
    result = run("render", "-q", "-f", str(example))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert (example.parent / "docker-bake.hcl").is_file()
    result = run("render", "-q", "-f", str(example.parent / "missing.yaml"))
    assert result.exit_code == 2 and "matrix file not found" in result.stderr


def test_render_output_does_not_grow_with_the_project(tmp_path, run):
    services = "".join(f"  svc{i}: {{image_of: app, command: [app, '{i}']}}\n" for i in range(300))
    (tmp_path / "app").mkdir()
    (tmp_path / "app/Dockerfile").write_text("FROM scratch AS production\nUSER 10001\n")
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text("version: 1\nproject: {name: big, registry: r.example.com/big}\n"
                      "stages: {production: {push: true}}\nservices:\n"
                      "  app: {runtime: dockerfile, context: app, dockerfile: app/Dockerfile}\n" + services)
    result = run("render", "-f", str(matrix))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "302 file(s) written, 0 unchanged\n"


def test_second_render_rewrites_nothing(example, run):
    assert run("render", "-f", str(example)).exit_code == 0
    root = example.parent
    stamps = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    before = tree(root)
    result = run("render", "-f", str(example))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "0 file(s) written, 19 unchanged"
    assert tree(root) == before
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()} == stamps


def test_render_then_check_passes(example, run):
    assert run("render", "-f", str(example)).exit_code == 0
    result = run("check", "-f", str(example))
    assert result.exit_code == 0
    assert result.stdout == "generated files are current\n"


def test_check_detects_stale_file(example, run):
    assert run("render", "-f", str(example)).exit_code == 0
    text = example.read_text().replace("--port 8060", "--port 8070")
    example.write_text(text)
    before = tree(example.parent)
    result = run("check", "-f", str(example))
    assert result.exit_code == 1
    assert '-CMD ["uvicorn", "orchestrator.main:app", "--host", "0.0.0.0", "--port", "8060"]' in result.stdout
    assert '+CMD ["uvicorn", "orchestrator.main:app", "--host", "0.0.0.0", "--port", "8070"]' in result.stdout
    assert "--- a/example/generated/orchestrator/Dockerfile" in result.stdout
    assert "1 generated file(s) are not current; run `bakegen render`." in result.stderr
    assert tree(example.parent) == before, "check never writes"


def test_check_detects_missing_file(example, run):
    assert run("render", "-f", str(example)).exit_code == 0
    (example.parent / "docker-bake.hcl").unlink()
    result = run("check", "-f", str(example))
    assert result.exit_code == 1
    assert "--- /dev/null\n+++ b/docker-bake.hcl" in result.stdout


def test_check_detects_hand_edit(example, run):
    assert run("render", "-f", str(example)).exit_code == 0
    dockerfile = example.parent / "example/generated/storefront/Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUN echo hand-edited\n")
    result = run("check", "-f", str(example))
    assert result.exit_code == 1
    assert "-RUN echo hand-edited" in result.stdout
    assert run("render", "-f", str(example)).exit_code == 2, "render keeps the edit"
    assert run("render", "--force", "-f", str(example)).exit_code == 0
    assert "hand-edited" not in dockerfile.read_text()


def test_validate_summarises(example, run):
    result = run("validate", "-f", str(example))
    assert result.exit_code == 0
    assert result.stdout == f"{example} is valid: 10 services, 26 targets\n"
    assert "reducer/poetry.lock is missing" in result.stderr


def test_list_shows_targets(example, run):
    result = run("list", "-f", str(example))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["TARGET", "SERVICE", "STAGE", "PLATFORMS", "TAGS"]
    assert lines[1].split() == [
        "catalog-api-development", "catalog-api", "development", "linux/arm64",
        "${REGISTRY}/catalog-api:${TAG}-development",
    ]
    assert len(lines) == 27


@pytest.mark.parametrize("command", [[], ["render"], ["check"], ["validate"], ["list"]])
def test_help(run, command):
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Usage: " in result.stdout
    if command:
        assert "-f, --file" in result.stdout


def test_bug_is_reported_differently_from_user_error(example, run, monkeypatch):
    import bakegen.render

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(bakegen.render, "render", broken)
    result = run("render", "-f", str(example))
    assert result.exit_code == 3
    assert "internal error; this is a bug" in result.stderr


@pytest.mark.parametrize("command", ["check", "schema"])
def test_a_bug_in_check_or_schema_is_exit_3_not_stale(example, run, monkeypatch, command):
    # Exit 1 means "stale" to CI: a crash in check must not read as that.
    import bakegen.commands
    import bakegen.tools.jsonschema

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(bakegen.commands, "check_files", broken)
    monkeypatch.setattr(bakegen.tools.jsonschema, "schema_text", broken)
    result = run(command, *(["-f", str(example)] if command == "check" else []))
    assert result.exit_code == 3, result.output
    assert "internal error; this is a bug" in result.stderr


def test_python_dash_m(example):
    result = subprocess.run([sys.executable, "-m", "bakegen", "validate", "-f", str(example)],
                            capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stdout


def test_the_command_collects_garbage_less_often_and_the_api_leaves_the_process_alone(example):
    """The bakegen command raises the collector's threshold (cli.GC_THRESHOLD: a run's objects
    live until it ends); a program that renders through the API keeps its own."""
    script = ("import gc, sys\n"
              "from bakegen import render_project\n"
              "from bakegen.cli import GC_THRESHOLD, main\n"
              "before = gc.get_threshold()\n"
              "render_project(sys.argv[1])\n"
              "assert gc.get_threshold() == before, gc.get_threshold()\n"
              "sys.argv[1:] = ['validate', '-f', sys.argv[1]]\n"
              "try:\n"
              "    main()\n"
              "except SystemExit as exit:\n"
              "    assert exit.code == 0, exit.code\n"
              "assert gc.get_threshold() == GC_THRESHOLD != before, (gc.get_threshold(), before)\n")
    result = subprocess.run([sys.executable, "-c", script, str(example)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_an_unusable_cache_folder_is_skipped(example, run, monkeypatch):
    monkeypatch.setenv("BAKEGEN_CACHE_DIR", "/proc/no-such-place/bakegen")
    import bakegen.render.templating

    bakegen.render.templating.environment.cache_clear()
    try:
        assert run("render", "-f", str(example)).exit_code == 0
    finally:
        bakegen.render.templating.environment.cache_clear()
    assert run("check", "-f", str(example)).exit_code == 0
