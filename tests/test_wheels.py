"""Cross installs take every wheel that runs on the target: the C library comes from the image.

pip matches `--platform` exactly, so a single manylinux tag misses most of
PyPI (manylinux2014 wheels); the tag list goes from the base image's glibc
down to manylinux2014. uv reads one glibc version and accepts all older tags.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bakegen import render_project


def pip_service(tmp_path: Path, image: str, extra: str = "") -> Path:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc/requirements.txt").write_text("pydantic-core==2.41.5\n")
    (tmp_path / "matrix.yaml").write_text(
        "version: 1\n"
        "project: {name: p, registry: r.example.com/p}\n"
        f"images: {{python: '{image}'}}\n"
        "stages: {production: {push: true}}\n"
        "services:\n"
        "  svc:\n    runtime: python\n    context: svc\n    command: python -m svc\n"
        f"    python: {{package_manager: pip{extra}}}\n"
    )
    return tmp_path / "matrix.yaml"


def pip_tags(matrix: Path, platform: str) -> list[str]:
    dockerfile = render_project(matrix).files["generated/svc/Dockerfile"]
    match = re.search(rf'{platform}\) PIP_PLATFORM="([^"]+)"', dockerfile)
    assert match, dockerfile
    return match.group(1).split()


@pytest.mark.parametrize(("image", "newest"), [
    ("python:3.12-slim-bookworm", "manylinux_2_36"),
    ("python:3.11-slim-bullseye", "manylinux_2_31"),
    ("python:3.13-slim-trixie", "manylinux_2_41"),
    ("python:3.12-slim", "manylinux_2_36"),  # Debian's current release, bookworm or newer
    ("registry.example.com/base/python:3.12", "manylinux_2_28"),  # unknown: a conservative floor
])
def test_pip_gets_every_compatible_tag_down_to_manylinux2014(tmp_path, image, newest):
    tags = pip_tags(pip_service(tmp_path, image), "linux/arm64")
    assert tags[0] == f"{newest}_aarch64"
    assert tags[-2:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]
    assert len(tags) == int(newest.rsplit("_", 1)[1]) - 17 + 2


def test_glibc_can_be_stated_for_images_whose_name_does_not_tell(tmp_path):
    tags = pip_tags(pip_service(tmp_path, "registry.example.com/base/python:3.12", ", glibc: '2.34'"),
                    "linux/amd64")
    assert tags[0] == "manylinux_2_34_x86_64"


def test_alpine_images_take_musllinux_wheels(tmp_path):
    assert pip_tags(pip_service(tmp_path, "python:3.12-alpine"), "linux/amd64") == [
        "musllinux_1_2_x86_64", "musllinux_1_1_x86_64"]


def test_uv_targets_the_images_glibc(project):
    matrix = project("deploy-policies")
    dockerfile = render_project(matrix).files["generated/orders/Dockerfile"]
    assert "linux/arm64) platform=aarch64-manylinux_2_36 ;;" in dockerfile


def test_auto_builder_reads_wheels_against_the_images_glibc(tmp_path):
    """A wheel for a newer glibc than the image's does not count: auto installs natively."""
    svc = tmp_path / "svc"
    svc.mkdir()
    (svc / "pyproject.toml").write_text('[project]\nname = "svc"\nversion = "1"\ndependencies = ["fast"]\n')
    (svc / "uv.lock").write_text(
        'version = 1\n\n[[package]]\nname = "fast"\nversion = "1.0"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
        'wheels = [\n'
        '  { url = "https://files/fast-1.0-cp312-cp312-manylinux_2_39_aarch64.whl" },\n'
        '  { url = "https://files/fast-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl" },\n'
        ']\n')
    (tmp_path / "matrix.yaml").write_text(
        "version: 1\n"
        "project: {name: p, registry: r.example.com/p}\n"
        "images: {python: 'python:3.12-slim-bookworm', uv: 'ghcr.io/astral-sh/uv:0.13.9'}\n"
        "stages: {production: {push: true}}\n"
        "services:\n  svc: {runtime: python, context: svc, command: python -m svc}\n")
    dockerfile = render_project(tmp_path / "matrix.yaml").files["generated/svc/Dockerfile"]
    assert "FROM builder-cross AS builder-linux-amd64" in dockerfile
    assert "FROM builder-native AS builder-linux-arm64" in dockerfile


POETRY_1_1_LOCK = '''\
[[package]]
name = "pydantic-core"
version = "2.41.5"
description = ""
category = "main"
optional = false
python-versions = ">=3.9"

[[package]]
name = "sdist-only"
version = "1.0"
description = ""
category = "main"
optional = false
python-versions = "*"

[metadata]
lock-version = "1.1"
python-versions = "^3.11"
content-hash = "0"

[metadata.files]
pydantic-core = [
    {file = "pydantic_core-2.41.5-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", hash = "sha256:0"},
    {file = "pydantic_core-2.41.5-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", hash = "sha256:1"},
    {file = "pydantic_core-2.41.5.tar.gz", hash = "sha256:2"},
]
sdist-only = [
    {file = "sdist-only-1.0.tar.gz", hash = "sha256:3"},
]
'''


def test_poetry_1_1_locks_list_their_wheels_in_metadata_files(tmp_path):
    """Poetry 1.0 and 1.1 keep each package's files in [metadata.files]: read there, a package
    with wheels for both platforms installs cross, and only the sdist-only one is reported."""
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc/pyproject.toml").write_text(
        '[tool.poetry]\nname = "svc"\nversion = "1.0"\ndescription = ""\nauthors = []\n'
        '[tool.poetry.dependencies]\npython = "^3.11"\npydantic-core = "2.41.5"\nsdist-only = "1.0"\n')
    (tmp_path / "svc/poetry.lock").write_text(POETRY_1_1_LOCK)
    (tmp_path / "matrix.yaml").write_text(
        "version: 1\n"
        "project: {name: p, registry: r.example.com/p}\n"
        "images: {python: 'python:3.12-slim-bookworm'}\n"
        "stages: {production: {push: true}}\n"
        "services:\n"
        "  svc: {runtime: python, context: svc, command: [python, -m, svc], python: {poetry_version: 1.8.5}}\n")
    warnings = render_project(tmp_path / "matrix.yaml").warnings
    wheels = [w for w in warnings if "wheel" in w]
    assert wheels == [
        f"service 'svc': no {platform} wheel of sdist-only, so its dependencies install on {platform} itself "
        "(python.builder: auto), which needs emulation on other machines and compilers in the image "
        "(system_packages.build); set python.builder to silence this"
        for platform in ("linux/amd64", "linux/arm64")]
