"""The generated GitLab pipeline: valid against GitLab's CI schema, and a correct job graph."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bakegen import build_plan
from bakegen.model.plan import display
from bakegen.render.ci_common import arch

PIPELINE = ".gitlab/bakegen.gitlab-ci.yml"
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def with_gitlab(matrix: Path, settings: str = "{}") -> Path:
    text = matrix.read_text()
    if "\nci:\n" in text:
        text = text.replace("\nci:\n", f"\nci:\n  gitlab: {settings}\n")
    else:
        text += f"ci:\n  gitlab: {settings}\n"
    matrix.write_text(text)
    return matrix


def load(text: str) -> dict:
    return YAML(typ="safe", pure=True).load(text)


def rendered(matrix: Path, run, path: str = PIPELINE) -> dict:
    result = run("render", "-f", str(matrix))
    assert result.exit_code == 0, result.stderr
    return load((matrix.parent / path).read_text())


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, env=GIT_ENV, check=True, capture_output=True,
                          text=True).stdout


def merge_request(matrix: Path, run, since: str | None = None) -> str:
    """The child pipeline the plan job writes (`bakegen affected --format gitlab`)."""
    result = run("affected", "-f", str(matrix), "--format", "gitlab", *(["--since", since] if since else []))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def check_jsonschema() -> str:
    found = shutil.which("check-jsonschema") or shutil.which("check-jsonschema",
                                                              path=str(Path(sys.executable).parent))
    assert found, "check-jsonschema is a test dependency"
    return found


def test_pipelines_pass_gitlabs_ci_schema(example, project, run, tmp_path):
    """GitLab's published CI schema, as check-jsonschema ships it (vendor.gitlab-ci)."""
    files = []
    for matrix, settings in ((example, "{}"), (project("shared-image"), "{docker: shell}"),
                             (project("go-lambda"), "{file: .gitlab-ci.yml, stage: images}")):
        with_gitlab(matrix, settings)
        result = run("render", "-f", str(matrix))
        assert result.exit_code == 0, result.stderr
        path = matrix.parent / (".gitlab-ci.yml" if "file:" in settings else PIPELINE)
        files.append(str(path))
        for name, text in (("all", merge_request(matrix, run)), ("none", merge_request_for(matrix, []))):
            child = tmp_path / f"{matrix.parent.name}-{name}.yml"
            child.write_text(text)
            files.append(str(child))
    checked = subprocess.run([check_jsonschema(), "--builtin-schema", "vendor.gitlab-ci",
                              "--data-transform", "gitlab-ci", *files], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def merge_request_for(matrix: Path, names: list[str]) -> str:
    from bakegen import render_project
    from bakegen.render import ci_gitlab

    rendered_ = render_project(matrix)
    plan = rendered_.plan
    return ci_gitlab.render_merge_request(plan, plan.ci_gitlab, rendered_.allow, names)


def jobs(pipeline: dict, prefix: str) -> dict[str, dict]:
    return {name: job for name, job in pipeline.items() if name.startswith(prefix)}


def test_every_pushed_target_and_platform_is_one_job_on_a_runner_of_its_architecture(example, run):
    pipeline = rendered(with_gitlab(example), run)
    pushed = [t for t in build_plan(example).targets if t.push]
    builds = jobs(pipeline, "bakegen-build:")
    assert sorted(builds) == sorted(f"bakegen-build:{t.name}:{arch(p)}" for t in pushed for p in t.platforms)
    tags = {job["variables"]["PLATFORM"]: job["tags"] for job in builds.values()}
    # GitLab.com's hosted runners, by default.
    assert tags == {"linux/amd64": ["saas-linux-small-amd64"], "linux/arm64": ["saas-linux-small-arm64"]}
    assert not any("EMULATE" in job["variables"] for job in builds.values())
    caches = [job["variables"]["CACHE"] for job in builds.values()]
    assert len(caches) == len(set(caches))
    assert "type=registry,ref=${REGISTRY}/insights:cache-production-arm64" in caches


def test_a_merge_job_per_target_tags_the_digests_its_build_jobs_pushed(example, run):
    pipeline = rendered(with_gitlab(example), run)
    pushed = [t for t in build_plan(example).targets if t.push]
    merges = jobs(pipeline, "bakegen-merge:")
    multi = [t for t in pushed if not t.single_manifest]
    assert list(merges) == [f"bakegen-merge:{t.name}" for t in multi]
    for t in multi:
        job = merges[f"bakegen-merge:{t.name}"]
        assert job["needs"] == [{"job": f"bakegen-build:{t.name}:{arch(p)}", "artifacts": True} for p in t.platforms]
        assert job["variables"]["TAGS"].split() == [display(tag) for tag in t.tags]
    script = "".join(pipeline[".bakegen-build"]["script"])
    assert "push-by-digest=true,name-canonical=true,push=true" in script
    assert '--set "$TARGET.tags="' in script
    assert "docker buildx imagetools create" in "".join(pipeline[".bakegen-merge"]["script"])
    # The digest map, from every merge job and every single-manifest build.
    digests = pipeline["bakegen-digests"]
    assert digests["stage"] == ".post"
    assert sorted(digests["dependencies"]) == sorted(
        [f"bakegen-merge:{t.name}" for t in multi]
        + [f"bakegen-build:{t.name}:{arch(p)}" for t in pushed if t.single_manifest for p in t.platforms])
    assert digests["artifacts"]["paths"] == [".bakegen-ci/digest-map.json"]


def test_single_manifest_targets_are_pushed_with_their_tags_not_merged(example, run):
    pipeline = rendered(with_gitlab(example), run)
    job = pipeline["bakegen-build:finalize-production:arm64"]
    assert job["extends"] == ".bakegen-build-single"
    assert "bakegen-merge:finalize-production" not in pipeline
    script = "".join(pipeline[".bakegen-build-single"]["script"])
    assert "push-by-digest" not in script and '"$TARGET.tags="' not in script
    assert "type=image,push=true,rewrite-timestamp=true,source-date-epoch=$SOURCE_DATE_EPOCH" in script


def test_a_target_built_on_another_needs_that_targets_job_for_its_platform(example, run):
    pipeline = rendered(with_gitlab(example), run)
    web = pipeline["bakegen-build:portal-web-production:arm64"]
    assert web["needs"] == ["bakegen-build:portal-production:arm64"]
    assert web["variables"]["DEPS"] == (
        "portal-production.platform=linux/arm64\n"
        "portal-production.cache-from=type=registry,ref=${REGISTRY}/portal:cache-production-arm64\n")
    assert "needs" not in pipeline["bakegen-build:portal-production:arm64"]


def test_registry_commit_time_and_login_come_from_gitlab(example, run):
    pipeline = rendered(with_gitlab(example), run)
    base = pipeline[".bakegen"]
    assert base["variables"]["REGISTRY"] == "$CI_REGISTRY_IMAGE"
    assert base["variables"]["TAG"] == "sha-$CI_COMMIT_SHA"
    assert base["rules"] == [{"if": "$CI_COMMIT_TAG =~ /^v/", "variables": {"TAG": "$CI_COMMIT_TAG"}},
                             {"if": '$CI_COMMIT_BRANCH == "main"'}]
    setup = "".join(base["before_script"])
    assert "SOURCE_DATE_EPOCH=$(git log -1 --pretty=%ct)" in setup
    assert 'printf \'%s\' "$CI_REGISTRY_PASSWORD" | docker login "$host" --username "$CI_REGISTRY_USER"' in setup
    # docker-in-docker by default, its daemon under the name the docker image looks for.
    assert base["image"] == "docker:28"
    assert base["services"] == [{"name": "docker:28-dind", "alias": "docker"}]


def test_a_shell_runner_uses_its_own_docker(project, run):
    pipeline = rendered(with_gitlab(project("minimal"), "{docker: shell, branches: [main, release]}"), run)
    for job in pipeline.values():
        assert "image" not in job and "services" not in job
    assert pipeline[".bakegen"]["rules"][1] == {"if": '$CI_COMMIT_BRANCH == "main" || $CI_COMMIT_BRANCH == "release"'}


def test_a_platform_without_runner_tags_is_emulated_on_the_amd64_runner(project, run):
    matrix = with_gitlab(project("minimal"), "{runners: {linux/amd64: [docker, amd64]}}")
    builds = jobs(rendered(matrix, run), "bakegen-build:")
    arm = [job for job in builds.values() if job["variables"]["PLATFORM"] == "linux/arm64"]
    assert arm and all(job["variables"]["EMULATE"] == "arm64" and job["tags"] == ["docker", "amd64"] for job in arm)


def test_runner_tags_take_one_tag_or_a_list(project, run):
    matrix = with_gitlab(project("minimal"), "{runners: {linux/amd64: my-amd64, linux/arm64: [my-arm64, large]}}")
    builds = jobs(rendered(matrix, run), "bakegen-build:")
    assert {job["variables"]["PLATFORM"]: job["tags"] for job in builds.values()} == {
        "linux/amd64": ["my-amd64"], "linux/arm64": ["my-arm64", "large"]}


def test_merge_requests_build_only_the_affected_targets_and_push_nothing(example, run):
    matrix = with_gitlab(example)
    root = example.parent
    assert run("render", "-f", str(matrix)).exit_code == 0
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "shop")
    main = root / "example/services/catalog-api/catalog/main.py"
    main.write_text(main.read_text() + "\n# changed\n")

    pipeline = rendered(matrix, run)
    assert pipeline["bakegen-plan"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert "--since \"$base\"" in "".join(pipeline["bakegen-plan"]["script"])
    assert pipeline["bakegen-merge-request"]["trigger"] == {
        "include": [{"artifact": ".bakegen-ci/merge-request.yml", "job": "bakegen-plan"}], "strategy": "depend"}

    child = load(merge_request(matrix, run, since="HEAD"))
    assert list(jobs(child, "bakegen-")) == ["bakegen-build:catalog-api-production:arm64"]
    assert not jobs(child, "bakegen-merge") and "rules" not in child[".bakegen"]
    script = "".join(child[".bakegen-build"]["script"])
    assert "push=false" in script and "push=true" not in script
    assert '--set "$TARGET.cache-to="' in script  # the cache is read, not written
    assert "artifacts" not in child[".bakegen-build"]
    # Logged in only to read the cache, when the job has the registry's password.
    assert 'if [ -n "${CI_REGISTRY_PASSWORD:-}" ]; then' in "".join(child[".bakegen"]["before_script"])

    main.write_text(main.read_text().replace("\n# changed\n", ""))
    nothing = load(merge_request(matrix, run, since="HEAD"))
    assert list(nothing) == ["bakegen-nothing-to-build"]


def test_the_whole_pipeline_file_declares_a_stage_gitlab_does_not_have(project, run):
    matrix = with_gitlab(project("go-lambda"), "{file: .gitlab-ci.yml, stage: images}")
    result = run("render", "-f", str(matrix))
    assert result.exit_code == 0, result.stderr
    text = (matrix.parent / ".gitlab-ci.yml").read_text()
    assert "includes it" not in text.split("\n.bakegen:", 1)[0]
    assert load(text)["stages"] == ["images"]


def test_pipeline_is_checked_and_removed_like_the_other_generated_files(project, run):
    matrix = with_gitlab(project("minimal"))
    rendered(matrix, run)
    path = matrix.parent / PIPELINE
    path.write_text(path.read_text().replace("saas-linux-small-arm64", "my-arm64"))
    result = run("check", "-f", str(matrix))
    assert result.exit_code == 1 and f"a/{PIPELINE}" in result.stdout
    assert run("render", "--force", "-f", str(matrix)).exit_code == 0
    matrix.write_text(matrix.read_text().replace("  gitlab: {}\n", ""))
    assert run("render", "-f", str(matrix)).exit_code == 0
    assert not path.exists()


@pytest.mark.parametrize("name", ["shared-image", "go-lambda"])
def test_pipeline_snapshot(project, run, snapshot, name):
    """The pipeline, and the merge-request pipeline of one target and of none, for a fixture."""
    matrix = with_gitlab(project(name))
    pipeline = matrix.parent / PIPELINE
    assert run("render", "-f", str(matrix)).exit_code == 0
    first = next(t.name for t in build_plan(matrix).targets if t.push)
    assert {"pipeline": pipeline.read_text(), "merge request": merge_request_for(matrix, [first]),
            "nothing affected": merge_request_for(matrix, [])} == snapshot
