"""The generated GitHub Actions workflow: valid, and a correct job graph."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bakegen import build_plan
from bakegen.model.plan import display

WORKFLOW = ".github/workflows/bakegen.yml"


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is a test dependency"
    return found


def with_ci(matrix: Path) -> Path:
    matrix.write_text(matrix.read_text() + "ci:\n  github: {cache: registry}\n")
    return matrix


def rendered(matrix: Path, run) -> dict:
    result = run("render", "-f", str(matrix))
    assert result.exit_code == 0, result.stderr
    return YAML(typ="safe", pure=True).load((matrix.parent / WORKFLOW).read_text())


def test_workflow_passes_actionlint_and_the_github_schema(example, project, run):
    files = []
    for matrix in (example, with_ci(project("shared-image")), with_ci(project("go-lambda"))):
        rendered(matrix, run)
        files.append(str(matrix.parent / WORKFLOW))
    lint = subprocess.run([tool("actionlint"), "-no-color", *files], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    schema = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files],
                            capture_output=True, text=True)
    assert schema.returncode == 0, schema.stdout + schema.stderr


def build_entries(workflow: dict) -> list[dict]:
    return [e for name, job in workflow["jobs"].items() if name.startswith("build")
            for e in job["strategy"]["matrix"]["include"]]


def test_every_pushed_target_and_platform_is_built_once_and_merged_once(example, run):
    workflow = rendered(example, run)
    plan = build_plan(example)
    pushed = [t for t in plan.targets if t.push]
    built = [(e["target"], e["platform"]) for e in build_entries(workflow)]
    assert sorted(built) == sorted((t.name, p) for t in pushed for p in t.platforms)
    assert len(built) == len(set(built))

    merged = workflow["jobs"]["merge"]["strategy"]["matrix"]["include"]
    multi = [t for t in pushed if not t.single_manifest]
    assert [m["target"] for m in merged] == [t.name for t in multi]
    for m, t in zip(merged, multi, strict=True):
        assert m["tags"].split() == [display(tag) for tag in t.tags]
    assert set(workflow["jobs"]["merge"]["needs"]) == {n for n in workflow["jobs"] if n.startswith("build")}


def test_single_manifest_targets_are_pushed_with_tags_not_merged(example, run):
    workflow = rendered(example, run)
    finalize = [e for e in build_entries(workflow) if e["target"] == "finalize-production"]
    assert len(finalize) == 1 and finalize[0]["single"] is True and finalize[0]["platform"] == "linux/arm64"
    assert "finalize-production" not in [m["target"] for m in workflow["jobs"]["merge"]["strategy"]["matrix"]["include"]]
    steps = workflow["jobs"]["build-0"]["steps"]
    single = next(s for s in steps if s.get("id") == "single")
    assert "push-by-digest" not in single["with"]["set"]
    by_digest = next(s for s in steps if s.get("id") == "bake")
    assert "push-by-digest=true,name-canonical=true" in by_digest["with"]["set"]
    assert "${{ matrix.target }}.tags=\n" in by_digest["with"]["set"]


def test_native_runners_and_a_cache_scope_per_target_and_platform(example, run):
    workflow = rendered(example, run)
    entries = build_entries(workflow)
    runners = {e["platform"]: e["runner"] for e in entries}
    assert runners == {"linux/amd64": "ubuntu-24.04", "linux/arm64": "ubuntu-24.04-arm"}
    assert not any(e["emulate"] for e in entries)
    scopes = [e["cache"] for e in entries]
    assert len(scopes) == len(set(scopes))
    assert "type=gha,scope=insights-production-arm64" in scopes


def test_targets_built_from_another_targets_image_come_after_it(example, run):
    workflow = rendered(example, run)
    level = {e["target"]: name for name, job in workflow["jobs"].items() if name.startswith("build")
             for e in job["strategy"]["matrix"]["include"]}
    assert level["portal-production"] == "build-0"
    assert level["portal-web-production"] == "build-1"
    assert workflow["jobs"]["build-1"]["needs"] == "build-0"
    web = next(e for e in build_entries(workflow) if e["target"] == "portal-web-production")
    assert web["deps"] == ("portal-production.platform=linux/arm64\n"
                           "portal-production.cache-from=type=gha,scope=portal-production-arm64\n")


def test_platform_without_a_runner_is_emulated(project, run):
    matrix = project("minimal")
    matrix.write_text(matrix.read_text() + "ci:\n  github:\n    runners: {linux/amd64: ubuntu-24.04}\n")
    entries = build_entries(rendered(matrix, run))
    arm = [e for e in entries if e["platform"] == "linux/arm64"]
    assert arm and all(e["emulate"] and e["runner"] == "ubuntu-24.04" for e in arm)


def test_workflow_is_checked_like_the_other_generated_files(example, run):
    rendered(example, run)
    path = example.parent / WORKFLOW
    assert run("ci", "github", "--stdout", "-f", str(example)).stdout == path.read_text()
    path.write_text(path.read_text().replace("ubuntu-24.04-arm", "self-hosted-arm"))
    result = run("check", "-f", str(example))
    assert result.exit_code == 1 and f"a/{WORKFLOW}" in result.stdout


def test_large_matrices_split_into_jobs_of_at_most_256(tmp_path, run):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from bench import synthetic

    matrix = synthetic(tmp_path, 300)  # 300 pushed targets x 2 platforms = 600 jobs
    with_ci(matrix)
    workflow = rendered(matrix, run)
    builds = {n: j for n, j in workflow["jobs"].items() if n.startswith("build")}
    assert list(builds) == ["build-part1", "build-part2", "build-part3"]
    assert [len(j["strategy"]["matrix"]["include"]) for j in builds.values()] == [256, 256, 88]
    assert len({(e["target"], e["platform"]) for e in build_entries(workflow)}) == 600
    merges = {n: j for n, j in workflow["jobs"].items() if n.startswith("merge")}
    assert [len(j["strategy"]["matrix"]["include"]) for j in merges.values()] == [256, 44]
    assert all(set(j["needs"]) == set(builds) for j in merges.values())


def test_ci_github_writes_the_workflow(project, run):
    matrix = project("minimal")
    result = run("ci", "github", "-f", str(matrix))
    assert result.exit_code == 0
    assert result.stdout == f"create    {WORKFLOW}\n"
    assert "does not keep .github/workflows/bakegen.yml current" in result.stderr
    text = (matrix.parent / WORKFLOW).read_text()
    assert text.startswith("# Generated by bakegen from matrix.yaml.")
    assert run("ci", "github", "-f", str(matrix)).stdout == f"unchanged {WORKFLOW}\n"


def test_registry_and_tag_in_names_are_expanded_before_bake_reads_them(project, run, tmp_path):
    """bake expands no variables in --set values: the image name, registry cache refs
    and the cache refs of the targets a target starts from are expanded in a step."""
    workflow = rendered(with_ci(project("shared-image")), run)
    job = workflow["jobs"]["build-1"]
    entry = next(e for e in job["strategy"]["matrix"]["include"] if e["platform"] == "linux/arm64")
    step = next(s for s in job["steps"] if s.get("id") == "names")
    assert "if" not in step  # single-manifest targets need their cache names too
    env = {k: v.replace("${{ matrix.image }}", entry["image"]).replace("${{ matrix.cache }}", entry["cache"])
           .replace("${{ matrix.deps }}", entry["deps"]) for k, v in step["env"].items()}
    output = tmp_path / "github_output"
    subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], check=True,
                   env={**env, "PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output),
                        "REGISTRY": "127.0.0.1:5000/team/sub", "TAG": "1.0"})
    registry = "127.0.0.1:5000/team/sub"
    assert output.read_text() == (
        f"image={registry}/app\n"
        f"cache=type=registry,ref={registry}/app:cache-production-arm64\n"
        "deps<<BAKEGEN_END\n"
        "api-production.platform=linux/arm64\n"
        f"api-production.cache-from=type=registry,ref={registry}/api:cache-production-arm64\n"
        "BAKEGEN_END\n")
    for bake in (s for s in job["steps"] if s.get("uses", "").startswith("docker/bake-action")):
        assert "matrix.cache" not in bake["with"]["set"] and "matrix.deps" not in bake["with"]["set"]
        assert "steps.names.outputs.cache" in bake["with"]["set"]


@pytest.mark.parametrize(("registry", "host"), [
    ("ghcr.io/my-org", "ghcr.io"), ("127.0.0.1:5000/team/sub/app", "127.0.0.1:5000"),
    ("registry.example.com", "registry.example.com"), ("localhost/x", "localhost"),
    ("docker.io/my-org", "docker.io"), ("my-org", "docker.io"),
])
def test_jobs_log_in_to_the_registry_host_not_the_namespace(example, run, tmp_path, registry, host):
    workflow = rendered(example, run)
    for job in workflow["jobs"].values():
        steps = job["steps"]
        login = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("docker/login-action"))
        assert steps[login]["with"]["registry"] == "${{ steps.registry.outputs.host }}"
        resolve = steps[login - 1]
        assert resolve["id"] == "registry" and resolve["if"] == steps[login]["if"]
        output = tmp_path / "github_output"
        output.write_text("")
        subprocess.run(["bash", "-eo", "pipefail", "-c", resolve["run"]], check=True,
                       env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output), "REGISTRY": registry})
        assert output.read_text() == f"host={host}\n"
