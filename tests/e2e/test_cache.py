"""The registry build cache, read back by a builder whose own cache is empty.

The shared engine's build cache belongs to every suite on this machine and
is never pruned. These tests start a private dockerd from the same binaries
(engine.py, `instance`), with its own image store and build cache, load the
stand-ins the project builds FROM, and empty that cache at will.

The project is two-arch-service (a pip service for linux/amd64 and
linux/arm64), with one addition each test names: `project.cache`, or
`ci.github.cache: registry`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from actions import WORKFLOW, Runner, push_to_main
from buildkit import standalone_builder
from engine import Engine, EngineError
from harness import HARNESS_FILE, Build, Project, copy_project
from standins import SBOM_SCANNER, StandIns, from_images

TARGET = "reports-production"


@pytest.fixture(scope="module")
def private_engine(engine: Engine, standins: list[str]) -> Iterator[Engine]:
    private = Engine(instance=f"cache-{os.getpid()}")
    try:
        private.start()
    except EngineError as exc:
        private.remove()
        pytest.fail(f"a private engine for the cache tests could not be started:\n{exc}", pytrace=False)
    yield private
    private.remove()


def reporting(private: Engine, registry, folder: Path, addition: str) -> Project:
    matrix = copy_project("two-arch-service", folder / "reporting")
    matrix.write_text(matrix.read_text() + addition)
    p = Project("two-arch-service", matrix, private, registry.address)
    refs = {ref for d in p.plan.dockerfiles for ref in from_images(p.dir / d.path)}
    # Pushed targets carry an SBOM attestation: the scanner is an image too.
    StandIns(private).ensure(sorted(refs | {SBOM_SCANNER}))
    return p


def runs(build: Build) -> list[str]:
    """RUN steps that executed (not from the cache)."""
    return [step for step in build.executed_steps() if "] RUN " in step]


def cached_runs(build: Build) -> list[str]:
    return [step for step in build.cached_steps() if "] RUN " in step]


def test_cache_exported_to_the_registry_is_read_back_after_a_prune(private_engine, registry, namespace, tmp_path):
    p = reporting(private_engine, registry, tmp_path, "")
    text = p.matrix.read_text()
    p.matrix.write_text(text.replace("  tag: \"2.3.0\"\n", "  tag: \"2.3.0\"\n  cache: {backend: registry}\n"))
    p = Project("two-arch-service", p.matrix, private_engine, registry.address)  # rendered again
    prefix = f"{namespace}/reporting"
    no_image = ("--set", f"{TARGET}.output=type=cacheonly")

    exported = p.bake(TARGET, *no_image, REGISTRY=prefix, CACHE_EXPORT="true")
    assert exported.returncode == 0, exported.failure()
    assert runs(exported), "a new engine had these steps cached"
    assert "exporting cache to registry" in exported.log
    assert registry.digest(f"{prefix.removeprefix(registry.address + '/')}/reports", "cache-production")

    # Emptied, the builder runs every step again without the registry cache...
    private_engine.prune_build_cache()
    without = p.bake(TARGET, *no_image, "--set", f"{TARGET}.cache-from=", REGISTRY=prefix)
    assert without.returncode == 0, without.failure()
    assert sorted(runs(without)) == sorted(runs(exported))

    # ... and with it, every dependency install and every other RUN comes from the registry.
    private_engine.prune_build_cache()
    again = p.bake(TARGET, *no_image, REGISTRY=prefix)
    assert again.returncode == 0, again.failure()
    assert f"importing cache manifest from {prefix}/reports:cache-production" in again.log
    assert runs(again) == []
    assert sorted(cached_runs(again)) == sorted(runs(exported))


def test_ci_cache_scopes_per_platform_are_read_back_after_a_prune(private_engine, registry, namespace, tmp_path):
    p = reporting(private_engine, registry, tmp_path, "ci:\n  github: {cache: registry}\n")
    prefix = f"{namespace}/reporting"
    repository = f"{prefix.removeprefix(registry.address + '/')}/reports"

    def workflow(work: Path, event: str = "push") -> dict[str, Build]:
        github = {**push_to_main(uuid.uuid4().hex + uuid.uuid4().hex[:8]), "event_name": event}
        runner = Runner(workflow=p.dir / WORKFLOW, checkout=p.dir, env=builder, work=work,
                        github=github, vars={"REGISTRY": prefix},
                        extra_bake_files=(HARNESS_FILE,), extra_allow=("network.host",))
        return {j.matrix["platform"]: j.bakes[0] for j in runner.run() if j.job.startswith("build")}

    with standalone_builder(private_engine) as builder:
        private_engine.prune_build_cache()  # whatever an earlier test left
        first = workflow(tmp_path / "first")
        assert sorted(first) == ["linux/amd64", "linux/arm64"]
        assert all(runs(b) for b in first.values())
        # One cache image per platform, each its own.
        digests = {registry.digest(repository, f"cache-production-{arch}") for arch in ("amd64", "arm64")}
        assert len(digests) == 2

        private_engine.prune_build_cache()
        # A pull request (with nothing to compare with, it builds every job; it reads the cache
        # and writes none): a second push would build nothing, the registry holding these inputs.
        second = workflow(tmp_path / "second", "pull_request")
    assert sorted(second) == ["linux/amd64", "linux/arm64"]
    for platform, build in second.items():
        assert runs(build) == [], (platform, runs(build))
        # BuildKit loads from the cache what the result needs (the first run
        # may have found build-platform stages already done by the other job).
        cached = cached_runs(build)
        assert any("builder-cross" in step and "-r /requirements/" in step for step in cached), (platform, cached)
