"""The generated GitHub Actions workflow, run job by job against the loopback registry.

The example's workflow is executed as GitHub would run it for a push to
main (actions.py says what stands in for the runner): every build job's
bake-action step as the action builds its command, one platform at a time,
pushing by digest; then every merge job's `imagetools create` script. The
tags it makes must be what `docker buildx bake push --push` makes.

One thing differs from the example: `ci.github.cache` is `registry`, not
`gha`, because GitHub's cache service exists only inside GitHub Actions.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import uuid
from pathlib import Path

import pytest

from actions import WORKFLOW, Runner, push_to_main
from harness import HARNESS_FILE, Project, copy_project

from bakegen.model.plan import Target, Var
from bakegen.pipeline import render_project
from bakegen.tools import digests


def ci_example(engine, registry, tmp_path: Path) -> Project:
    matrix = copy_project("example", tmp_path / "example")
    text = matrix.read_text()
    assert "github: {cache: gha}" in text
    matrix.write_text(text.replace("github: {cache: gha}", "github: {cache: registry}"))
    return Project("example", matrix, engine, registry.address)


def runner(p: Project, builder: dict[str, str], work: Path, github: dict, registry_prefix: str) -> Runner:
    return Runner(workflow=p.dir / WORKFLOW, checkout=p.dir, env=builder, work=work, github=github,
                  vars={"REGISTRY": registry_prefix},
                  secrets={"REGISTRY_USERNAME": "ci", "REGISTRY_PASSWORD": "unused-on-loopback"},
                  extra_bake_files=(HARNESS_FILE,), extra_allow=("network.host",))


def labels(p: Project) -> list[str]:
    """`--set` arguments that give every target the input digest label, as the workflow does."""
    rendered = render_project(p.matrix)
    found = digests.compute(rendered.plan, rendered.project_dir, rendered.files, rendered.templates)
    return [a for t, i in found.items() for a in ("--set", f"{t}.labels.{digests.LABEL}={i.digest}")]


def ref(target: Target, index: int, registry_prefix: str, tag: str) -> str:
    values = {"REGISTRY": registry_prefix, "TAG": tag}
    return "".join(values[p.name] if isinstance(p, Var) else p for p in target.tags[index])


def test_workflow_tags_what_the_push_group_pushes(engine, registry, standins, standalone_builder, namespace,
                                                  tmp_path):
    p = ci_example(engine, registry, tmp_path)
    sha = uuid.uuid4().hex + uuid.uuid4().hex[:8]
    ci_prefix, push_prefix = f"{namespace}/ci", f"{namespace}/push"

    ci = runner(p, standalone_builder, tmp_path / "runner", push_to_main(sha), ci_prefix)
    targets = [t for t in p.plan.targets if t.push]
    tag = f"sha-{sha}"  # the workflow's TAG for a push to a branch

    jobs = ci.run(lambda name: name == "plan" or name.startswith("build"))
    # Until the merge, the multi-platform targets' images have no tag: pushed by digest.
    for t in targets:
        repository = ref(t, 0, ci_prefix, tag).removeprefix(registry.address + "/").rpartition(":")[0]
        tags = [x for x in registry.tags(repository) if not x.startswith("cache-")]
        assert tags == ([] if not t.attest else sorted(ref(t, i, ci_prefix, tag).rpartition(":")[2]
                                                       for i in range(len(t.tags)))), t.name
    jobs += ci.run(lambda name: not name.startswith("build"))

    # The workflow's images take the commit's time (SOURCE_DATE_EPOCH from git log).
    epoch = subprocess.run(["git", "log", "-1", "--pretty=%ct"], cwd=p.dir, check=True, capture_output=True,
                           text=True).stdout.strip()
    pushed = p.bake("push", "--push", *labels(p), REGISTRY=push_prefix, TAG=tag, SOURCE_DATE_EPOCH=epoch)
    assert pushed.returncode == 0, pushed.failure()
    for t in targets:
        for i in range(len(t.tags)):
            ci, push = registry.image(ref(t, i, ci_prefix, tag)), registry.image(ref(t, i, push_prefix, tag))
            assert ci == push, (t.name, i)
            assert ci[1] == tuple(sorted(t.platforms)), (t.name, ci)
    # No other tags: pushes by digest leave none, and the cache images have their own.
    for t in targets:
        ci_repo, push_repo = (ref(t, 0, prefix, tag).removeprefix(registry.address + "/").rpartition(":")[0]
                              for prefix in (ci_prefix, push_prefix))
        assert [x for x in registry.tags(ci_repo) if not x.startswith("cache-")] == registry.tags(push_repo)

    # One bake per target and platform, each building that one platform and
    # pushing only that target (a target it starts from is built, not pushed).
    builds = [(j.matrix["target"], j.matrix["platform"]) for j in jobs if j.job.startswith("build")]
    assert sorted(builds) == sorted((t.name, pl) for t in targets for pl in t.platforms)
    for j in jobs:
        if j.job.startswith("build"):
            [bake] = j.bakes
            assert f"{j.matrix['target']}.platform={j.matrix['platform']}" in bake.command
            assert [name for name, m in bake.metadata.items() if "image.name" in m] == [j.matrix["target"]]
    # Every pushed target has one merge job: it makes the multi-platform tags, or records
    # the tags a single-manifest target was pushed with; nothing was there to re-tag.
    merged = {j.matrix["target"]: j.matrix["mode"] for j in jobs if j.job.startswith("merge")}
    assert merged == {t.name: "pushed" if t.single_manifest else "digests" for t in targets}
    [digest_map] = [j for j in jobs if j.job == "digests"]
    assert sorted(json.loads(digest_map.outputs["map"])) == sorted(t.name for t in targets)
    # Every job that pushes logs in to the host of the registry the images go to.
    assert {login for j in jobs for login in j.logins} == {registry.address}


def test_pull_requests_build_every_job_and_push_nothing(engine, registry, standins, standalone_builder, namespace,
                                                        tmp_path):
    p = ci_example(engine, registry, tmp_path)
    github = {**push_to_main(uuid.uuid4().hex + uuid.uuid4().hex[:8]), "event_name": "pull_request",
              "ref": "refs/pull/7/merge", "ref_name": "7/merge"}
    jobs = runner(p, standalone_builder, tmp_path / "runner", github, namespace).run()
    assert {j.job for j in jobs} == {"plan", "build-0", "build-1"}  # no merge, no digest map
    jobs = [j for j in jobs if j.job != "plan"]

    targets = [t for t in p.plan.targets if t.push]
    assert sorted((j.matrix["target"], j.matrix["platform"]) for j in jobs) == sorted(
        (t.name, pl) for t in targets for pl in t.platforms)  # build jobs only: no merge
    for j in jobs:
        [bake] = j.bakes
        assert f"{j.matrix['target']}.cache-to=" in bake.command  # the cache is read, not written
        assert not j.logins
    tag = f"sha-{github['sha']}"
    for t in targets:
        repository = ref(t, 0, namespace, tag).removeprefix(registry.address + "/").rpartition(":")[0]
        for reference in (tag, f"cache-{t.stage}-amd64", f"cache-{t.stage}-arm64"):
            with pytest.raises(urllib.error.HTTPError) as missing:
                registry.digest(repository, reference)
            assert missing.value.code == 404, (repository, reference)
