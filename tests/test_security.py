"""Secure defaults: non-root production, build secrets, digest policy, OCI labels."""

from __future__ import annotations

from pathlib import Path

from bakegen import build_plan
from bakegen.runtimes.dockerfile import final_users, is_root
from conftest import copy_example
from dockerfile_checks import parse
from hcl import read_bake

PUSHED = {"production"}


def test_production_images_never_run_as_root(project, run, tmp_path):
    example_dir = tmp_path / "example-copy"
    example_dir.mkdir()
    matrices = [project(n) for n in ("minimal", "deploy-policies", "two-arch-service", "shared-image",
                                     "go-lambda", "optional-lock", "wheel-fallback")]
    matrices.append(copy_example(example_dir))
    checked = 0
    for matrix in matrices:
        assert run("render", "-f", str(matrix)).exit_code == 0
        for t in build_plan(matrix).targets:
            if t.push:
                users = final_users(matrix.parent / t.context / t.dockerfile)
                assert not is_root(users[t.target]), f"{matrix}: {t.name} runs as {users[t.target]}"
                checked += 1
    assert checked > 10


def with_service_lines(matrix: Path, service: str, *lines: str) -> None:
    text = matrix.read_text()
    anchor = f"  {service}:\n"
    matrix.write_text(text.replace(anchor, anchor + "".join(f"    {line}\n" for line in lines), 1))


def test_root_in_production_needs_a_visible_opt_in(project, run):
    matrix = project("minimal")
    with_service_lines(matrix, "api", "run_as_root: true")
    result = run("render", "-f", str(matrix))
    assert result.exit_code == 0
    assert "warning: service 'api': production images run as root (run_as_root: true)" in result.stderr
    users = final_users(matrix.parent / "generated/api/Dockerfile")
    assert users["production"] == "root" and users["development"] == "10001:10001"


def test_build_secrets_are_mounts_never_args_or_env(project, run):
    matrix = project("minimal")
    with_service_lines(matrix, "api", "secrets:", "  index-token: {env: UV_INDEX_PRIVATE_PASSWORD}",
                       "  netrc: {file: secrets/netrc, target: /root/.netrc}")
    with_service_lines(matrix, "legacy", "secrets:", "  ca: {file: certs/ca.pem}")
    assert run("render", "-f", str(matrix)).exit_code == 0
    bake = read_bake(matrix.parent / "docker-bake.hcl")["target"]
    assert bake["api-production"]["secret"] == [
        ("id=index-token,env=UV_INDEX_PRIVATE_PASSWORD",), ("id=netrc,src=secrets/netrc",)]
    assert bake["legacy-production"]["secret"] == [("id=ca,src=certs/ca.pem",)]
    commands, stages = parse(matrix.parent / "generated/api/Dockerfile")
    mounts = "--mount=type=secret,id=index-token,env=UV_INDEX_PRIVATE_PASSWORD"
    installs = [c for c in commands if c.cmd == "RUN" and "install" in c.original]
    assert installs and all(mounts in c.flags for c in installs)
    assert all("--mount=type=secret,id=netrc,target=/root/.netrc" in c.flags for c in installs)
    for c in commands:
        if c.cmd in ("ARG", "ENV"):
            assert "UV_INDEX_PRIVATE_PASSWORD" not in " ".join(c.value)
    # the production stage never sees the secret
    assert all("secret" not in " ".join(c.flags) for c in stages["production"].commands)


def test_digest_policy_accepts_pinned_images(project, run):
    matrix = project("minimal")
    digest = "@sha256:" + "a" * 64
    text = matrix.read_text().replace("  name: minimal\n", "  name: minimal\n  require_digests: true\n")
    for ref in ("python:3.12-slim", "ghcr.io/astral-sh/uv:0.13.9", "golang:1.24-bookworm",
                "gcr.io/distroless/static-debian12:nonroot"):
        text = text.replace(f": {ref}\n", f": {ref}{digest}\n")
    matrix.write_text(text)
    assert run("render", "-f", str(matrix)).exit_code == 0
    assert f"FROM python:3.12-slim{digest} AS base" in (matrix.parent / "generated/api/Dockerfile").read_text()


def test_every_image_has_oci_labels(project, run):
    matrix = project("minimal")
    matrix.write_text(matrix.read_text().replace(
        "  name: minimal\n", "  name: minimal\n  source: https://git.example.com/minimal\n"))
    assert run("render", "-f", str(matrix)).exit_code == 0
    bake = read_bake(matrix.parent / "docker-bake.hcl")
    assert bake["variable"]["REVISION"]["default"] == () and bake["variable"]["CREATED"]["default"] == ()
    for name, target in bake["target"].items():
        labels = target["labels"]
        assert labels["org.opencontainers.image.title"] == (name.rsplit("-", 1)[0],)
        assert labels["org.opencontainers.image.source"] == ("https://git.example.com/minimal",)
        assert [p.name for p in labels["org.opencontainers.image.revision"]] == ["REVISION"]
        assert [p.name for p in labels["org.opencontainers.image.created"]] == ["CREATED"]
        assert [p.name for p in labels["org.opencontainers.image.version"]] == ["TAG"]
