"""The generated GitHub Actions workflow: valid, and a correct job graph."""

from __future__ import annotations

import json
import os
import shutil
import stat
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


def planned(matrix: Path, run, *args: str) -> dict[str, list[dict]]:
    """What the workflow's plan job outputs (`bakegen affected --format github`): each job's matrix."""
    result = run("affected", "-f", str(matrix), "--format", "github", *args)
    assert result.exit_code == 0, result.stderr
    return {name: json.loads(value) for name, value in (line.split("=", 1) for line in result.stdout.splitlines())}


def job_matrix(workflow: dict, job: str, outputs: dict[str, list[dict]]) -> list[dict]:
    """The matrix entries job `job` runs: its `include` reads the plan job's output of that name."""
    include = workflow["jobs"][job]["strategy"]["matrix"]["include"]
    name = job.replace("-", "_")
    assert include == f"${{{{ fromJSON(needs.plan.outputs.{name}) }}}}"
    assert workflow["jobs"]["plan"]["outputs"][name] == f"${{{{ steps.plan.outputs.{name} }}}}"
    return outputs[name]


def build_entries(workflow: dict, outputs: dict[str, list[dict]]) -> list[dict]:
    return [e for name in workflow["jobs"] if name.startswith("build") for e in job_matrix(workflow, name, outputs)]


def test_every_pushed_target_and_platform_is_built_once_and_merged_once(example, run):
    workflow = rendered(example, run)
    outputs = planned(example, run)
    plan = build_plan(example)
    pushed = [t for t in plan.targets if t.push]
    built = [(e["target"], e["platform"]) for e in build_entries(workflow, outputs)]
    assert sorted(built) == sorted((t.name, p) for t in pushed for p in t.platforms)
    assert len(built) == len(set(built))

    merged = job_matrix(workflow, "merge", outputs)
    assert [m["target"] for m in merged] == [t.name for t in pushed]
    for m, t in zip(merged, pushed, strict=True):
        assert m["tags"].split() == [display(tag) for tag in t.tags]
        assert m["mode"] == ("pushed" if t.single_manifest else "digests") and m["source"] == ""
    assert set(workflow["jobs"]["merge"]["needs"]) == {"plan"} | {n for n in workflow["jobs"] if n.startswith("build")}


def test_single_manifest_targets_are_pushed_with_tags_not_merged(example, run):
    workflow = rendered(example, run)
    outputs = planned(example, run)
    finalize = [e for e in build_entries(workflow, outputs) if e["target"] == "finalize-production"]
    assert len(finalize) == 1 and finalize[0]["single"] is True and finalize[0]["platform"] == "linux/arm64"
    [merge] = [m for m in outputs["merge"] if m["target"] == "finalize-production"]
    assert merge["mode"] == "pushed"  # its tags are recorded in the digest map, not created again
    create = next(s for s in workflow["jobs"]["merge"]["steps"] if s.get("name") == "Create the tags")
    assert create["if"] == "matrix.mode != 'pushed'"
    steps = workflow["jobs"]["build-0"]["steps"]
    single = next(s for s in steps if s.get("id") == "single")
    assert "push-by-digest" not in single["with"]["set"]
    by_digest = next(s for s in steps if s.get("id") == "bake")
    assert "push-by-digest=true,name-canonical=true" in by_digest["with"]["set"]
    assert "${{ matrix.target }}.tags=\n" in by_digest["with"]["set"]


def test_built_images_carry_their_input_digest_as_a_label(example, run):
    workflow = rendered(example, run)
    outputs = planned(example, run)
    digests = json.loads(run("inputs", "-f", str(example), "--format", "json").stdout)
    for e in build_entries(workflow, outputs):
        assert e["inputs"] == digests[e["target"]]["inputs"]
    for job in (j for n, j in workflow["jobs"].items() if n.startswith("build")):
        for bake in (s for s in job["steps"] if s.get("uses", "").startswith("docker/bake-action")):
            assert "${{ matrix.target }}.labels.dev.bakegen.inputs=${{ matrix.inputs }}\n" in bake["with"]["set"]
    # Not in the bake file: editing a source must leave the committed bake file current.
    assert "dev.bakegen.inputs" not in (example.parent / "docker-bake.hcl").read_text()


def test_native_runners_and_a_cache_scope_per_target_and_platform(example, run):
    workflow = rendered(example, run)
    entries = build_entries(workflow, planned(example, run))
    runners = {e["platform"]: e["runner"] for e in entries}
    assert runners == {"linux/amd64": "ubuntu-24.04", "linux/arm64": "ubuntu-24.04-arm"}
    assert not any(e["emulate"] for e in entries)
    scopes = [e["cache"] for e in entries]
    assert len(scopes) == len(set(scopes))
    assert "type=gha,scope=insights-production-arm64" in scopes


def test_targets_built_from_another_targets_image_come_after_it(example, run):
    workflow = rendered(example, run)
    outputs = planned(example, run)
    level = {e["target"]: name for name in workflow["jobs"] if name.startswith("build")
             for e in job_matrix(workflow, name, outputs)}
    assert level["portal-production"] == "build-0"
    assert level["portal-web-production"] == "build-1"
    assert workflow["jobs"]["build-1"]["needs"] == ["plan", "build-0"]
    web = next(e for e in build_entries(workflow, outputs) if e["target"] == "portal-web-production")
    assert web["deps"] == ("portal-production.platform=linux/arm64\n"
                           "portal-production.cache-from=type=gha,scope=portal-production-arm64\n")


def test_a_job_with_nothing_to_build_is_skipped_without_skipping_the_jobs_after_it(example, run):
    workflow = rendered(example, run)
    for name, job in workflow["jobs"].items():
        if name == "plan":
            continue
        # GitHub fails a job whose matrix is empty; a skipped job would skip every job that
        # needs it, unless their `if` says otherwise (a status function replaces success()).
        assert job["if"].startswith("${{ !cancelled() && !failure() && ")
        if name != "digests":
            assert job["if"].endswith(f"needs.plan.outputs.{name.replace('-', '_')} != '[]' }}}}")
    assert "pull_request" in workflow["jobs"]["merge"]["if"] and "pull_request" in workflow["jobs"]["digests"]["if"]


def test_the_plan_job_compares_pull_requests_with_their_base_and_pushes_with_the_commit_before(example, run):
    steps = rendered(example, run)["jobs"]["plan"]["steps"]
    base = next(s for s in steps if s.get("id") == "base")
    assert base["env"]["BASE"] == ("${{ github.event_name == 'pull_request' && github.event.pull_request.base.sha "
                                   "|| github.event.before }}")
    decide = next(s for s in steps if s.get("id") == "plan")
    assert 'bakegen affected "${args[@]}" >> "$GITHUB_OUTPUT"' in decide["run"]
    assert "--registry" in decide["run"] and "--reuse-tag" in decide["run"]
    install = next(s for s in steps if s.get("name") == "Install bakegen")
    version = build_plan(example).version
    assert f'"bakegen, version {version}"' in install["run"]
    # Not on PyPI: a name there could be anyone's. The wheel kept in the repository, or vars.BAKEGEN.
    assert rendered(example, run)["env"]["BAKEGEN"] == (
        f"${{{{ vars.BAKEGEN || 'tools/bakegen-{version}-py3-none-any.whl' }}}}")


def test_platform_without_a_runner_is_emulated(project, run):
    matrix = project("minimal")
    matrix.write_text(matrix.read_text() + "ci:\n  github:\n    runners: {linux/amd64: ubuntu-24.04}\n")
    entries = build_entries(rendered(matrix, run), planned(matrix, run))
    arm = [e for e in entries if e["platform"] == "linux/arm64"]
    assert arm and all(e["emulate"] and e["runner"] == "ubuntu-24.04" for e in arm)


def test_workflow_is_checked_like_the_other_generated_files(example, run):
    rendered(example, run)
    path = example.parent / WORKFLOW
    assert run("ci", "github", "--stdout", "-f", str(example)).stdout == path.read_text()
    path.write_text(path.read_text().replace("runs-on: ubuntu-24.04", "runs-on: self-hosted"))
    result = run("check", "-f", str(example))
    assert result.exit_code == 1 and f"a/{WORKFLOW}" in result.stdout


def test_large_matrices_split_into_jobs_of_at_most_256(tmp_path, run):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from bench import synthetic

    matrix = synthetic(tmp_path, 300)  # 300 pushed targets x 2 platforms = 600 jobs
    with_ci(matrix)
    workflow = rendered(matrix, run)
    outputs = planned(matrix, run)
    builds = [n for n in workflow["jobs"] if n.startswith("build")]
    assert builds == ["build-part1", "build-part2", "build-part3"]
    assert [len(job_matrix(workflow, n, outputs)) for n in builds] == [256, 256, 88]
    assert len({(e["target"], e["platform"]) for e in build_entries(workflow, outputs)}) == 600
    merges = [n for n in workflow["jobs"] if n.startswith("merge")]
    assert [len(job_matrix(workflow, n, outputs)) for n in merges] == [256, 44]
    assert all(set(workflow["jobs"][n]["needs"]) == {"plan", *builds} for n in merges)


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
    matrix = with_ci(project("shared-image"))
    workflow = rendered(matrix, run)
    job = workflow["jobs"]["build-1"]
    entry = next(e for e in job_matrix(workflow, "build-1", planned(matrix, run)) if e["platform"] == "linux/arm64")
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
    # Every job that reads or writes the registry logs in; the digest map's job only joins files.
    assert [name for name, job in workflow["jobs"].items()
            if not any(s.get("uses", "").startswith("docker/login-action") for s in job["steps"])] == ["digests"]
    for job in (j for name, j in workflow["jobs"].items() if name != "digests"):
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


def fake_docker(folder: Path, manifests: dict[str, dict]) -> Path:
    """A `docker` whose `buildx imagetools inspect --format '{{json .Manifest}}' REF` prints manifests[REF]."""
    (folder / "answers").mkdir(parents=True)
    for ref, manifest in manifests.items():
        (folder / "answers" / ref.replace("/", "_").replace(":", "_")).write_text(json.dumps(manifest))
    script = folder / "docker"
    script.write_text('#!/bin/sh\nfor ref; do :; done\n'
                      f'cat "{folder}/answers/$(printf %s "$ref" | tr /: __)"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder


def run_step(step: dict, matrix_entry: dict, tmp_path: Path, path: Path, **env: str) -> subprocess.CompletedProcess:
    values = {k: v.replace("${{ matrix.", "").replace(" }}", "") for k, v in step.get("env", {}).items()}
    step_env = {k: str(matrix_entry[v]).lower() if isinstance(matrix_entry[v], bool) else str(matrix_entry[v])
                for k, v in values.items()}
    return subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], capture_output=True, text=True,
                          env={**step_env, **env, "PATH": f"{path}{os.pathsep}{os.environ['PATH']}",
                               "GITHUB_OUTPUT": str(tmp_path / "github_output")})


def test_the_merge_job_records_each_tags_digest_and_each_platforms(example, run, tmp_path):
    workflow = rendered(example, run)
    [entry] = [m for m in planned(example, run)["merge"] if m["target"] == "insights-production"]
    index = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + "a" * 64, "manifests": [
        {"digest": "sha256:" + "1" * 64, "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": "sha256:" + "2" * 64, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"digest": "sha256:" + "3" * 64, "platform": {"os": "unknown", "architecture": "unknown"}}]}
    registry = "127.0.0.1:5000/shop"
    docker = fake_docker(tmp_path / "bin", {f"{registry}/insights:sha-1": index, f"{registry}/insights:latest": index})
    record = next(s for s in workflow["jobs"]["merge"]["steps"] if s.get("name") == "Record the digests")
    result = run_step(record, entry, tmp_path, docker, REGISTRY=registry, TAG="sha-1")
    assert result.returncode == 0, result.stderr
    written = json.loads(Path("/tmp/digest-map/insights-production.json").read_text())
    assert written == {"insights-production": {
        "built": True, "inputs": entry["inputs"],
        "platforms": {"linux/amd64": "sha256:" + "1" * 64, "linux/arm64/v8": "sha256:" + "2" * 64},
        "tags": {f"{registry}/insights:sha-1": "sha256:" + "a" * 64, f"{registry}/insights:latest": "sha256:" + "a" * 64},
    }}


def test_the_digest_map_joins_every_targets_entry(example, run, tmp_path):
    steps = rendered(example, run)["jobs"]["digests"]["steps"]
    write = next(s for s in steps if s.get("id") == "map")
    script = write["run"].replace("/tmp/digest-map", str(tmp_path / "map"))
    (tmp_path / "map").mkdir()
    output = tmp_path / "github_output"
    subprocess.run(["bash", "-eo", "pipefail", "-c", script], check=True, capture_output=True,
                   env={**os.environ, "GITHUB_OUTPUT": str(output)})
    assert json.loads((tmp_path / "map.json").read_text()) == {}  # nothing pushed: an empty map
    (tmp_path / "map" / "b.json").write_text('{"b": {"built": false}}')
    (tmp_path / "map" / "a.json").write_text('{"a": {"built": true}}')
    output.write_text("")
    subprocess.run(["bash", "-eo", "pipefail", "-c", script], check=True, capture_output=True,
                   env={**os.environ, "GITHUB_OUTPUT": str(output)})
    assert json.loads((tmp_path / "map.json").read_text()) == {"a": {"built": True}, "b": {"built": False}}
    assert output.read_text().startswith("map<<BAKEGEN_END\n{")
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["name"] == "digest-map" and upload["with"]["path"] == "/tmp/digest-map.json"


def test_an_unchanged_image_gets_each_tag_in_turn(example, run, tmp_path):
    """A target the registry holds is re-tagged from that image, one tag at a time (a registry on
    a file system can fail a tag read while another tag of the same manifest is written)."""
    workflow = rendered(example, run)
    create = next(s for s in workflow["jobs"]["merge"]["steps"] if s.get("name") == "Create the tags")
    script = tmp_path / "bin" / "docker"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\necho "$*" >> "{tmp_path}/calls"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    for target, single in (("insights-production", False), ("finalize-production", True)):
        t = build_plan(example).target(target)
        entry = {"target": target, "image": f"${{REGISTRY}}/{t.service}",
                 "tags": " ".join(display(tag) for tag in t.tags), "mode": "copy", "single": single,
                 "source": f"r.example.com/shop/{t.service}@sha256:{'a' * 64}", "inputs": "sha256:" + "b" * 64,
                 "platforms": ",".join(t.platforms)}
        result = run_step(create, entry, tmp_path, script.parent, REGISTRY="r.example.com/shop", TAG="sha-1")
        assert result.returncode == 0, result.stderr
    prefer = "--prefer-index=false "
    assert (tmp_path / "calls").read_text().splitlines() == [
        f"buildx imagetools create --tag r.example.com/shop/insights:sha-1 r.example.com/shop/insights@sha256:{'a' * 64}",
        f"buildx imagetools create --tag r.example.com/shop/insights:latest r.example.com/shop/insights@sha256:{'a' * 64}",
        f"buildx imagetools create {prefer}--tag r.example.com/shop/finalize:sha-1 "
        f"r.example.com/shop/finalize@sha256:{'a' * 64}",
        f"buildx imagetools create {prefer}--tag r.example.com/shop/finalize:latest "
        f"r.example.com/shop/finalize@sha256:{'a' * 64}",
    ]
