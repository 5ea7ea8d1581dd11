"""The generated workflow builds only what changed, and every tag still resolves afterwards.

The example's workflow (with `ci.github.cache: registry`, as in
test_github_workflow.py) runs three pushes to main through the stand-in
runner (actions.py) against the loopback registry: the first commit builds
everything; a commit that changes one line of catalog-api's source builds
only catalog-api's job and re-tags every other image; an empty commit
builds nothing and re-tags everything. After each push every tag of every
pushed target resolves, and the digest map says what each tag points at.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from actions import JobRun, push_to_main
from test_github_workflow import ci_example, ref, runner

from bakegen.model.plan import Target
from bakegen.pipeline import render_project
from bakegen.tools import digests


def commit(root: Path, message: str, when: int) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@example.com",
           "GIT_COMMITTER_NAME": "ci", "GIT_COMMITTER_EMAIL": "ci@example.com",
           "GIT_AUTHOR_DATE": f"{when} +0000", "GIT_COMMITTER_DATE": f"{when} +0000"}
    for args in (["add", "-A"], ["commit", "-q", "--allow-empty", "-m", message]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True,
                          text=True).stdout.strip()


def built(jobs: list[JobRun]) -> list[tuple[str, str]]:
    return sorted((j.matrix["target"], j.matrix["platform"]) for j in jobs if j.job.startswith("build"))


def tag_digests(registry, targets: list[Target], prefix: str, tag: str) -> dict[tuple[str, int], str]:
    """The digest every tag of every target resolves to (a missing tag fails here)."""
    out = {}
    for t in targets:
        for i in range(len(t.tags)):
            repository, _, reference = ref(t, i, prefix, tag).removeprefix(registry.address + "/").rpartition(":")
            out[(t.name, i)] = registry.digest(repository, reference)
    return out


def test_a_change_builds_only_what_it_affects_and_every_tag_still_resolves(
        engine, registry, standins, standalone_builder, namespace, tmp_path):
    p = ci_example(engine, registry, tmp_path)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=p.dir, check=True)
    (p.dir / "README.md").write_text("# The shop\n")
    prefix = f"{namespace}/ci"
    targets = [t for t in p.plan.targets if t.push]
    everything = sorted((t.name, pl) for t in targets for pl in t.platforms)

    def push(sha: str, before: str, run: str) -> list[JobRun]:
        ci = runner(p, standalone_builder, tmp_path / run, push_to_main(sha, before), prefix)
        return ci.run()

    def why(sha: str, before: str) -> str:
        """What the plan job decides, and why: to read when an assertion fails."""
        env = {**runner(p, standalone_builder, tmp_path / "why", {}, prefix).env, "REGISTRY": prefix,
               "TAG": f"sha-{sha}"}
        result = subprocess.run([sys.executable, "-m", "bakegen", "affected", "--since", before, "--registry", "--reuse-tag",
                                 f"sha-{before}", "--format", "json", "push"], cwd=p.dir, env=env,
                                capture_output=True, text=True, check=False)
        data = json.loads(result.stdout) if result.returncode == 0 else {"targets": []}
        return result.stderr + "\n".join(f"{t['target']}: {t['action']} {t['why']}" for t in data["targets"])

    # 1. The first push: nothing to compare with, nothing in the registry: every job builds.
    first = commit(p.dir, "the shop", 1_800_000_000)
    jobs = push(first, "0" * 40, "first")
    assert built(jobs) == everything
    before = tag_digests(registry, targets, prefix, f"sha-{first}")

    # 2. One line of catalog-api's source: its one job builds; every other image is re-tagged.
    source = p.dir / "example/services/catalog-api/catalog/main.py"
    source.write_text(source.read_text() + "# one more line\n")
    second = commit(p.dir, "catalog-api: one more line", 1_800_000_100)
    jobs = push(second, first, "second")
    assert built(jobs) == [("catalog-api-production", "linux/arm64")], why(second, first)
    # Only its digest was pushed and uploaded for a merge.
    assert sorted(a.name for a in (tmp_path / "second" / "artifacts").iterdir() if a.name.startswith("digests-")) \
        == ["digests-catalog-api-production-arm64"]
    modes = {j.matrix["target"]: j.matrix["mode"] for j in jobs if j.job == "merge"}
    assert modes == {t.name: "digests" if t.name == "catalog-api-production" else "copy" for t in targets}
    after = tag_digests(registry, targets, prefix, f"sha-{second}")
    for (name, i), digest in after.items():
        assert (digest != before[(name, i)]) == (name == "catalog-api-production"), (name, i)

    # The new image carries its input digest; the digest map says what every tag is.
    rendered = render_project(p.matrix)
    inputs = digests.compute(rendered.plan, rendered.project_dir, rendered.files, rendered.templates)
    [map_job] = [j for j in jobs if j.job == "digests"]
    digest_map = json.loads(map_job.outputs["map"])
    assert json.loads((tmp_path / "second/artifacts/digest-map/digest-map.json").read_text()) == digest_map
    assert sorted(digest_map) == sorted(t.name for t in targets)
    for t in targets:
        entry = digest_map[t.name]
        assert entry["inputs"] == inputs[t.name].digest
        assert entry["built"] == (t.name == "catalog-api-production")
        assert entry["tags"] == {ref(t, i, prefix, f"sha-{second}"): after[(t.name, i)] for i in range(len(t.tags))}
        assert sorted(entry["platforms"]) == sorted(t.platforms)
    catalog = p.plan.target("catalog-api-production")
    repository = ref(catalog, 0, prefix, "x").removeprefix(registry.address + "/").rpartition(":")[0]
    index = registry.manifest(repository, after[("catalog-api-production", 0)])[1]
    [image] = [m for m in index["manifests"] if m.get("platform", {}).get("os") == "linux"]
    config = registry.blob(repository, registry.manifest(repository, image["digest"])[1]["config"]["digest"])
    assert config["config"]["Labels"][digests.LABEL] == inputs["catalog-api-production"].digest

    # 3. An empty commit: nothing builds (the build jobs are skipped), every tag is made.
    third = commit(p.dir, "nothing", 1_800_000_200)
    jobs = push(third, second, "third")
    assert built(jobs) == []
    assert {j.job for j in jobs} == {"plan", "merge", "digests"}
    assert all(j.matrix["mode"] == "copy" for j in jobs if j.job == "merge")
    assert tag_digests(registry, targets, prefix, f"sha-{third}") == after

    # A pull request with that change and nothing else builds nothing either, and is green.
    github = {**push_to_main(uuid.uuid4().hex + uuid.uuid4().hex[:8]), "event_name": "pull_request",
              "event": {"pull_request": {"base": {"sha": second}}}}
    jobs = runner(p, standalone_builder, tmp_path / "pull-request", github, prefix).run()
    assert [j.job for j in jobs] == ["plan"]
