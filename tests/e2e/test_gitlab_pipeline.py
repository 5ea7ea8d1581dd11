"""The generated GitLab pipeline, run by gitlab-ci-local against the engine and the loopback registry.

The example gets `ci.gitlab: {docker: shell}` (jobs use the runner's own
Docker: gitlab-ci-local runs no docker-in-docker service here) and is made
a git repository whose .gitlab-ci.yml includes the generated file, as a
project would. gitlab-ci-local then runs it with its shell executor
(gitlab.py): first as the push of that commit to main, then as a merge
request that changes one service's source.

What only this machine needs comes in as CI/CD variables, nothing else:
GitLab's registry variables, pointing at the loopback registry (which takes
any login); BUILDX_BUILDER, a `remote` builder on the engine's BuildKit
(buildkit.py), because the docker-container builder the pipeline would
create needs moby/buildkit from a registry; BAKEGEN_BAKE_ARGS with the
harness's host networking for RUN steps; and bakegen on PATH.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest

from buildkit import standalone_builder
from gitlab import install, jobs_to_run, run_pipeline
from harness import HARNESS_FILE, Project, copy_project

from bakegen.model.plan import Target, Var
from bakegen.render.ci_common import arch

PIPELINE = ".gitlab/bakegen.gitlab-ci.yml"
CHANGED = "example/services/catalog-api/catalog/main.py"


def git(checkout: Path, *args: str) -> str:
    when = "2026-01-01T00:00:00+00:00"
    env = {**os.environ, "GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@example.com", "GIT_COMMITTER_NAME": "ci",
           "GIT_COMMITTER_EMAIL": "ci@example.com", "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    return subprocess.run(["git", *args], cwd=checkout, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def gitlab_example(engine, registry, tmp_path: Path) -> Project:
    matrix = copy_project("example", tmp_path / "example")
    text = matrix.read_text()
    assert "  github: {cache: gha}\n" in text
    matrix.write_text(text.replace("  github: {cache: gha}\n",
                                   "  github: {cache: gha}\n  gitlab: {docker: shell}\n"))
    p = Project("example", matrix, engine, registry.address)
    (p.dir / ".gitlab-ci.yml").write_text(f"include:\n  - local: {PIPELINE}\n")
    (p.dir / ".gitignore").write_text(".gcl-*/\n.gitlab-ci-local-variables.yml\n")
    git(p.dir, "init", "-q", "-b", "main")
    git(p.dir, "config", "user.name", "ci")
    git(p.dir, "config", "user.email", "ci@example.com")
    git(p.dir, "add", "-A")
    git(p.dir, "commit", "-q", "-m", "images")
    return p


def ref(target: Target, index: int, registry_prefix: str, tag: str) -> str:
    values = {"REGISTRY": registry_prefix, "TAG": tag}
    return "".join(values[p.name] if isinstance(p, Var) else p for p in target.tags[index])


def repository(target: Target, registry, prefix: str) -> str:
    return ref(target, 0, prefix, "x").removeprefix(registry.address + "/").rpartition(":")[0]


def held(registry, repository_: str) -> dict[str, str]:
    """Every tag of a repository with its digest."""
    try:
        return {tag: registry.digest(repository_, tag) for tag in registry.tags(repository_)}
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return {}
        raise


def test_pipeline_pushes_every_tag_and_a_merge_request_builds_only_what_it_changes(
        engine, registry, standins, namespace, tmp_path):
    gitlab_ci_local = install(engine.root)
    p = gitlab_example(engine, registry, tmp_path)
    prefix = f"{namespace}/shop"  # what GitLab's CI_REGISTRY_IMAGE would be
    # GitLab's own variables for the registry; the loopback registry takes any login.
    (p.dir / ".gitlab-ci-local-variables.yml").write_text(json.dumps({
        "CI_REGISTRY": registry.address, "CI_REGISTRY_IMAGE": prefix,
        "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": "job-token",
        "BAKEGEN_BAKE_ARGS": f"--file {HARNESS_FILE} --allow network.host",
    }))
    targets = [t for t in p.plan.targets if t.push]
    main = git(p.dir, "rev-parse", "HEAD")
    tag = f"sha-{main}"

    with standalone_builder(engine, "gitlab-ci") as builder:
        env = {**builder, "PATH": f"{Path(sys.executable).parent}:{builder['PATH']}"}
        push = run_pipeline(gitlab_ci_local, p.dir, ".gcl-push", env, tmp_path / "home")
        assert push.returncode == 0, push.log[-6000:]
        expected = {f"bakegen-build:{t.name}:{arch(pl)}" for t in targets for pl in t.platforms}
        expected |= {f"bakegen-merge:{t.name}" for t in targets if not t.single_manifest}
        expected.add("bakegen-digests")
        assert push.results == {job: "PASS" for job in expected}, push.log[-6000:]

        # Every tag is an index of exactly the planned platforms, or (Lambda) one manifest.
        digest_map = json.loads(push.artifact("bakegen-digests", ".bakegen-ci/digest-map.json").read_text())
        assert sorted(digest_map) == sorted(t.name for t in targets)
        for t in targets:
            for i in range(len(t.tags)):
                image = ref(t, i, prefix, tag)
                kind, platforms = registry.image(image)
                assert (kind, platforms) == ("manifest" if t.single_manifest else "index", tuple(sorted(t.platforms))), \
                    (t.name, image, kind, platforms)
                repo, _, reference = image.removeprefix(registry.address + "/").rpartition(":")
                assert digest_map[t.name]["tags"][image] == registry.digest(repo, reference), (t.name, image)
            assert sorted(digest_map[t.name]["platforms"]) == sorted(t.platforms), t.name
            # Each platform wrote its own cache image.
            tags = registry.tags(repository(t, registry, prefix))
            assert {f"cache-{t.stage}-{arch(pl)}" for pl in t.platforms} <= set(tags), (t.name, tags)
        before = {t.name: held(registry, repository(t, registry, prefix)) for t in targets}

        # A merge request that changes catalog-api's source: only catalog-api is built, nothing pushed.
        git(p.dir, "checkout", "-q", "-b", "change-catalog")
        with (p.dir / CHANGED).open("a") as f:
            f.write("\n# a change in this merge request\n")
        git(p.dir, "commit", "-q", "-am", "change catalog-api")
        # Its branch's own pipeline has none of the jobs: only main and v* tags build and push.
        assert set(jobs_to_run(gitlab_ci_local, p.dir, ".gcl-list", tmp_path / "home").values()) == {"never"}
        merge_request = run_pipeline(gitlab_ci_local, p.dir, ".gcl-mr", env, tmp_path / "home", variables={
            "CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_DIFF_BASE_SHA": main,
            "CI_MERGE_REQUEST_IID": "1"})
        assert merge_request.returncode == 0, merge_request.log[-6000:]
        assert merge_request.results == {
            "bakegen-plan": "PASS", "bakegen-merge-request": "PASS",
            "bakegen-merge-request -> bakegen-build:catalog-api-production:arm64": "PASS",
        }, merge_request.log[-6000:]
        assert "catalog-api-production: changed: " + CHANGED in merge_request.log
        assert {t.name: held(registry, repository(t, registry, prefix)) for t in targets} == before
