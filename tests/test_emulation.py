"""Steps that only run under emulation are said before the build, not found mid-build."""

from __future__ import annotations

import shutil

import pytest

from conftest import PROJECTS

MATRIX = """\
version: 1
project: {{name: emu, registry: registry.example.com/emu{project}}}
images: {{python: python:3.12-slim}}
stages: {{production: {{push: true}}}}
services:
  app: {{runtime: dockerfile, context: legacy, dockerfile: legacy/{dockerfile}{service}}}
"""


def make(tmp_path, dockerfile="Dockerfile.run", project="", service=""):
    shutil.copytree(PROJECTS / "minimal" / "legacy", tmp_path / "legacy")
    (tmp_path / "matrix.yaml").write_text(MATRIX.format(dockerfile=dockerfile, project=project, service=service))
    return tmp_path


def test_run_steps_on_the_target_platform_are_named_per_platform_with_their_lines(tmp_path, run):
    result = run("validate", cwd=make(tmp_path))
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "warning: service 'app': 2 RUN steps of legacy/Dockerfile.run (lines 5, 6) run on linux/amd64: "
        "needs emulation (QEMU) or a native amd64 builder",
        "warning: service 'app': 2 RUN steps of legacy/Dockerfile.run (lines 5, 6) run on linux/arm64: "
        "needs emulation (QEMU) or a native arm64 builder",
    ]


@pytest.mark.parametrize("case", [
    # Its RUN steps run in a stage on the build platform only.
    dict(dockerfile="Dockerfile.build-platform"),
    # One platform: a machine of that architecture builds it natively.
    dict(service=", platforms: [linux/arm64]"),
    # Each platform has a native builder (the generated CI gives it one).
    dict(project=", emulation: allow"),
])
def test_no_warning_where_no_emulation_is_needed(tmp_path, run, case):
    root = make(tmp_path, **case)
    (root / "legacy" / "Dockerfile.build-platform").write_text(
        "FROM --platform=$BUILDPLATFORM python:3.12-slim AS build\nRUN echo on the build machine\n"
        "FROM build AS tools\nRUN echo still there\n"
        "FROM python:3.12-slim AS production\nCOPY --from=tools /etc/hostname /built\nUSER 10001:10001\n")
    result = run("validate", cwd=root)
    assert result.exit_code == 0, result.stderr
    assert "emulation" not in result.stderr


def test_forbid_makes_it_an_error_located_at_the_service(tmp_path, run):
    result = run("render", cwd=make(tmp_path, project=", emulation: forbid"))
    assert result.exit_code == 2
    assert result.stderr.startswith("matrix.yaml:6:")
    assert "2 RUN steps of legacy/Dockerfile.run (lines 5, 6) run on linux/amd64, linux/arm64, and " \
           "project.emulation is forbid" in result.stderr
    assert not (tmp_path / "docker-bake.hcl").exists()


def test_a_pushed_stage_without_a_command_is_said(tmp_path, run):
    """An image with no CMD or ENTRYPOINT runs what its base image runs: rarely the service."""
    root = make(tmp_path, dockerfile="Dockerfile.nocmd", service=", platforms: [linux/amd64]")
    (root / "legacy" / "Dockerfile.nocmd").write_text(
        "FROM python:3.12-slim AS base\nCMD [\"python\"]\nFROM python:3.12-slim AS production\nUSER 10001:10001\n")
    result = run("validate", cwd=root)
    assert result.exit_code == 0
    assert result.stderr == (
        "warning: service 'app': legacy/Dockerfile.nocmd: stage 'production' sets no CMD or ENTRYPOINT, so its "
        "image runs what its base image runs; end it with CMD [...] if that is not what the service runs\n")
    # A CMD in the stage it is built FROM is its command too.
    (root / "legacy" / "Dockerfile.nocmd").write_text(
        "FROM python:3.12-slim AS base\nCMD [\"python\"]\nFROM base AS production\nUSER 10001:10001\n")
    assert run("validate", cwd=root).stderr == ""


def test_a_python_install_on_the_target_platform_is_the_same_under_forbid(project, run):
    """The documented fallback (a dependency with no wheel installs on the target platform)
    is refused by `emulation: forbid` like a user's RUN step, and `allow` silences its warning."""
    matrix = project("wheel-fallback")
    assert "no linux/arm64 wheel of docopt" in run("validate", cwd=matrix.parent).stderr
    text = matrix.read_text()
    matrix.write_text(text.replace("  registry: registry.example.com/tools\n",
                                   "  registry: registry.example.com/tools\n  emulation: forbid\n"))
    result = run("validate", cwd=matrix.parent)
    assert result.exit_code == 2
    assert "dependencies install on linux/amd64, linux/arm64 itself (python.builder: auto; no wheel of docopt), " \
           "which needs emulation on one machine, and project.emulation is forbid" in result.stderr
    matrix.write_text(text.replace("  registry: registry.example.com/tools\n",
                                   "  registry: registry.example.com/tools\n  emulation: allow\n"))
    result = run("validate", cwd=matrix.parent)
    assert result.exit_code == 0 and "wheel" not in result.stderr


def test_a_python_production_image_without_a_command_is_said(project, run):
    matrix = project("wheel-fallback")
    matrix.write_text(matrix.read_text().replace("    command: [python, -m, cli_tool]\n", ""))
    result = run("validate", cwd=matrix.parent)
    assert result.exit_code == 0
    assert "warning: service 'cli-tool': production images have no command (no `command` or `entrypoint`), so " \
           "they run the base image's, a Python prompt; set `command`\n" in result.stderr
