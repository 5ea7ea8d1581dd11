"""Two cold builds of one commit push the same image, byte for byte, on every platform.

With SOURCE_DATE_EPOCH set (the commit's time, as `git log -1 --pretty=%ct`
gives it), pushed targets export with every time after it rewritten to it.
Both builds run with `--no-cache`, so every step executes (dependency
installs, wheel builds, bytecode, Go compiles) as in a cold build, without
emptying a build cache that others may share. Each pushes to its own
repository; the per-platform image manifests must be equal (attestation
manifests record when they were made, so indexes may differ).
"""

from __future__ import annotations

import subprocess

import pytest
from harness import REPO, Project, copy_project

from registry import Registry

# A pip app on two platforms, a uv package built as a wheel (console script,
# named user), a Go function for Lambda (one platform, one manifest).
FIXTURES = ["two-arch-service", "src-layout", "go-lambda"]


def commit_time() -> str:
    result = subprocess.run(["git", "log", "-1", "--pretty=%ct"], cwd=REPO, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else "1767225600"


def image_manifests(registry: Registry, ref: str, platforms: tuple[str, ...]) -> dict[str, str]:
    """platform -> digest of the image manifest `ref` names (attestations left out)."""
    repository, _, tag = ref.removeprefix(registry.address + "/").rpartition(":")
    _, manifest = registry.manifest(repository, tag)
    if "manifests" not in manifest:  # a single image manifest (Lambda)
        return {platforms[0]: registry.digest(repository, tag)}
    return {f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"] for m in manifest["manifests"]
            if m.get("annotations", {}).get("vnd.docker.reference.type") != "attestation-manifest"}


@pytest.mark.parametrize("name", FIXTURES)
def test_two_builds_of_a_commit_push_the_same_images(engine, registry, standins, tmp_path, name):
    p = Project(name, copy_project(name, tmp_path / name), engine, registry.address)
    pushed = [t for t in p.plan.targets if t.push]
    assert pushed and all(t.epoch_output for t in pushed)
    epoch = commit_time()
    digests = []
    for run in ("first", "second"):
        # Each build pushes to a repository of its own.
        p.registry = f"{registry.address}/repro-{run}"
        build = p.bake(*(t.name for t in pushed), "--push", "--no-cache", SOURCE_DATE_EPOCH=epoch)
        assert build.returncode == 0, build.failure()
        assert "rewriting layers with source-date-epoch" in build.log
        digests.append({t.name: image_manifests(registry, p.tag(t), t.platforms) for t in pushed})
    first, second = digests
    for t in pushed:
        assert sorted(first[t.name]) == sorted(t.platforms)
        assert first[t.name] == second[t.name], t.name
