"""The pull-request workflow: diff, check formats, schema, graph, the bake hand-off."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from bakegen.tools.jsonschema import SCHEMA_FILE, schema_text
from conftest import REPO, tree


def stale_example(example: Path, run) -> Path:
    assert run("render", "-f", str(example)).exit_code == 0
    example.write_text(example.read_text().replace("--port 8060", "--port 8070"))
    return example


def test_diff_shows_what_render_would_change(example, run, monkeypatch):
    stale_example(example, run)
    before = tree(example.parent)
    monkeypatch.setenv("NO_COLOR", "1")
    result = run("diff", "-f", str(example))
    assert result.exit_code == 0
    assert "+CMD [\"uvicorn\", \"orchestrator.main:app\", \"--host\", \"0.0.0.0\", \"--port\", \"8070\"]" in result.stdout
    assert "\x1b[" not in result.stdout
    assert tree(example.parent) == before


def test_diff_is_coloured_on_a_terminal(example, run, monkeypatch):
    stale_example(example, run)
    monkeypatch.delenv("NO_COLOR", raising=False)
    from click.testing import CliRunner

    from bakegen.cli import cli

    result = CliRunner().invoke(cli, ["diff", "-f", str(example)], color=True)
    assert "\x1b[32m+CMD" in result.stdout and "\x1b[31m-CMD" in result.stdout
    monkeypatch.setenv("NO_COLOR", "1")
    result = CliRunner().invoke(cli, ["diff", "-f", str(example)], color=True)
    assert "\x1b[" not in result.stdout


def test_diff_when_current(example, run):
    assert run("render", "-f", str(example)).exit_code == 0
    assert run("diff", "-f", str(example)).stdout == "no changes\n"


def test_check_github_format_annotates_stale_files(example, run):
    stale_example(example, run)
    result = run("check", "--format", "github", "-f", str(example))
    assert result.exit_code == 1
    assert ("::error file=example/generated/orchestrator/Dockerfile,title=bakegen check::"
            "example/generated/orchestrator/Dockerfile is stale or was edited by hand; "
            "run `bakegen render` and commit the result") in result.stdout.splitlines()


def test_check_github_format_annotates_validation_errors(project, run):
    matrix = project("minimal")
    matrix.write_text(matrix.read_text().replace("    command: [python, -m, app]", "    comand: [python, -m, app]"))
    result = run("check", "--format", "github", "-f", str(matrix))
    assert result.exit_code == 2
    assert result.stdout == (f"::error file={matrix},line=23,col=5::unknown key 'comand' "
                             "(did you mean 'command'?)\n")


def test_github_format_escapes_newlines_and_percent():
    from bakegen.errors import Diagnostic
    from bakegen.report import github

    out = github([Diagnostic("50% done\nnext", file="a,b:c", line=1, column=2)], [], [])
    assert out == "::error file=a%2Cb%3Ac,line=1,col=2::50%25 done%0Anext\n"


def test_check_json_format(example, run):
    stale_example(example, run)
    result = run("check", "--format", "json", "-f", str(example))
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["status"] == "stale"
    assert [f["path"] for f in data["files"]] == ["example/generated/orchestrator/Dockerfile"]
    assert data["files"][0]["state"] == "update" and "+CMD" in data["files"][0]["diff"]
    assert any("reducer/poetry.lock is missing" in w for w in data["warnings"])
    assert run("render", "-f", str(example)).exit_code == 0
    result = run("check", "--format", "json", "-f", str(example))
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "current"


def test_check_json_format_invalid(tmp_path, run):
    (tmp_path / "matrix.yaml").write_text("version: 2\n")
    result = run("check", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["status"] == "invalid" and data["errors"][0]["line"] == 1


def test_committed_schema_is_current():
    assert (REPO / SCHEMA_FILE).read_text(encoding="utf-8") == schema_text(), "run: bakegen schema -o matrix.schema.json"


def test_schema_command_prints_it(run):
    assert run("schema").stdout == schema_text()


def test_every_field_has_a_description_and_examples():
    schema = json.loads(schema_text())
    models = {"Matrix": schema, **schema["$defs"]}
    for name, model in models.items():
        for key, field in model.get("properties", {}).items():
            assert field.get("description") or "$ref" in field, f"{name}.{key} has no description"
            assert field.get("examples"), f"{name}.{key} has no examples"


def load_yaml(path: Path):
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("matrix", ["matrix.yaml", *[f"tests/projects/{p}/matrix.yaml" for p in
                                     ("minimal", "deploy-policies", "two-arch-service", "shared-image",
                                      "go-lambda", "optional-lock", "wheel-fallback")]])
def test_matrices_validate_against_the_schema(matrix):
    jsonschema.validate(load_yaml(REPO / matrix), json.loads(schema_text()))


def test_schema_rejects_what_bakegen_rejects():
    schema = json.loads(schema_text())
    bad = load_yaml(REPO / "tests/invalid/unknown-key.yaml")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_example_has_the_editor_modeline():
    first = (REPO / "matrix.yaml").read_text().splitlines()[0]
    assert first == f"# yaml-language-server: $schema=./{SCHEMA_FILE}"


def test_graph_mermaid_and_dot(example, run):
    result = run("graph", "-f", str(example))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "flowchart LR"
    assert '  service_portal_web -->|image of| service_portal' in lines
    assert '  service_finalize -->|builds from| image_golang_1_24_bookworm' in lines
    assert '  target_finalize_production --> platform_linux_arm64' in lines
    assert '  service_insights -->|production| target_insights_production' in lines
    dot = run("graph", "--format", "dot", "-f", str(example)).stdout
    assert dot.startswith("digraph bakegen {") and dot.rstrip().endswith("}")
    assert '  service_portal_web -> service_portal [label="image of"];' in dot


def test_docs_show_the_current_graph(run):
    example = (REPO / "docs" / "example.md").read_text()
    graph = run("graph", "-f", str(REPO / "matrix.yaml")).stdout
    assert f"```mermaid\n{graph}```" in example, "paste `bakegen graph` into docs/example.md"


def fake_docker(folder: Path, buildx_ok: bool = True, version: str = "v0.29.1", driver: str = "docker",
                containerd: bool = True, inspect: str | None = None, inspect_fails: str | None = None) -> Path:
    """A `docker` that records its argv, one call per line, in docker.log, and
    answers version, inspect and info like a docker with that buildx and builder
    (`inspect`: the whole text `buildx inspect` prints; `inspect_fails`: its error)."""
    script = folder / "docker"
    log = folder / "docker.log"
    store = "io.containerd.snapshotter.v1" if containerd else "overlay2"
    (folder / "inspect.txt").write_text(inspect if inspect is not None else f"Name:   default\nDriver: {driver}\n")
    (folder / "inspect.err").write_text(inspect_fails or "")
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$PWD|$*" >> "{log}"\n'
        + ("" if buildx_ok else 'if [ "$1" = buildx ] && [ "$2" = version ]; then echo "docker: unknown command: buildx" >&2; exit 1; fi\n')
        + f'if [ "$1" = buildx ] && [ "$2" = version ]; then echo "github.com/docker/buildx {version} 1234abc"; fi\n'
        + (f'if [ "$1" = buildx ] && [ "$2" = inspect ]; then cat "{folder / "inspect.err"}" >&2; exit 1; fi\n'
           if inspect_fails else "")
        + f'if [ "$1" = buildx ] && [ "$2" = inspect ]; then cat "{folder / "inspect.txt"}"; fi\n'
        + f'if [ "$1" = info ]; then echo \'[["driver-type","{store}"]]\'; fi\n'
        + "exit 0\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return log


@pytest.fixture
def docker_log(tmp_path, monkeypatch) -> Path:
    """A fake `docker` first on PATH; returns the file its calls are recorded in."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = fake_docker(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def bake_calls(log: Path, labels: bool = False) -> list[str]:
    """The `buildx bake` calls docker got; without the input digest labels unless `labels`."""
    calls = [line for line in log.read_text().splitlines() if "|buildx bake" in line]
    return calls if labels else [re.sub(r" --set \S+\.labels\.dev\.bakegen\.inputs=sha256:[0-9a-f]{64}", "", c)
                                 for c in calls]


def test_bake_hands_over_to_docker(example, run, docker_log):
    log = docker_log
    assert run("render", "-f", str(example)).exit_code == 0
    result = run("bake", "-f", str(example), "production", "--push", "--set", "*.platform=linux/arm64")
    assert result.exit_code == 0, result.stderr
    calls = log.read_text().splitlines()
    # Every target's images get its input digest as a label (`bakegen inputs`), before the caller's sets.
    digests = json.loads(run("inputs", "-f", str(example), "--format", "json").stdout)
    labels = " ".join(f"--set {name}.labels.dev.bakegen.inputs={d['inputs']}" for name, d in digests.items())
    assert calls == [f"{os.getcwd()}|buildx version",
                     f"{os.getcwd()}|buildx inspect",
                     f"{os.getcwd()}|info --format {{{{json .DriverStatus}}}}",
                     f"{example.parent}|buildx bake --file docker-bake.hcl {labels} production --push "
                     "--set *.platform=linux/arm64"]


def docker_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: object) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = fake_docker(bin_dir, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_bake_refuses_a_buildx_older_than_the_file_format(example, run, tmp_path, monkeypatch):
    log = docker_with(tmp_path, monkeypatch, version="v0.12.1")
    assert run("render", "-f", str(example)).exit_code == 0
    result = run("bake", "-f", str(example))
    assert result.exit_code == 2
    assert result.stderr == ("docker: buildx 0.12.1 is older than 0.13, the oldest that reads generated bake files\n"
                             "  hint: update Docker, or install a current buildx plugin\n")
    assert bake_calls(log) == []


def test_bake_says_what_to_do_on_the_classic_image_store(example, run, tmp_path, monkeypatch):
    log = docker_with(tmp_path, monkeypatch, containerd=False)
    assert run("render", "-f", str(example)).exit_code == 0
    result = run("bake", "-f", str(example), "insights")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "docker: the builder uses the docker driver on the classic image store, which cannot build the "
        "multi-platform targets insights-development, insights-test, insights-production\n"
        "  hint: multi-platform images need the containerd image store")
    assert "docker buildx create --use --driver docker-container" in result.stderr
    assert bake_calls(log) == []
    # Single-platform targets, a local build, or another driver are fine.
    assert run("bake", "-f", str(example), "catalog-api").exit_code == 0
    monkeypatch.setenv("LOCAL_PLATFORM", "true")
    assert run("bake", "-f", str(example), "insights", "--load").exit_code == 0
    assert len(bake_calls(log)) == 2


def test_bake_uses_any_driver_but_docker_for_multi_platform(example, run, tmp_path, monkeypatch):
    docker_with(tmp_path, monkeypatch, containerd=False, driver="docker-container")
    assert run("render", "-f", str(example)).exit_code == 0
    assert run("bake", "-f", str(example), "insights").exit_code == 0


# `docker buildx inspect multinode` of a builder with a node per architecture (buildx 0.29.1; 0.13.1
# prints the same fields), as the end-to-end suite makes it (tests/e2e/test_multinode.py).
MULTINODE = """Name:          multinode
Driver:        remote
Last Activity: 2026-12-02 03:23:13 +0000 UTC

Nodes:
Name:             amd64
Endpoint:         unix:///run/buildkit-amd64.sock
Status:           running
BuildKit version: v0.0.0+unknown
Platforms:        linux/amd64*, linux/amd64/v2, linux/amd64/v3, linux/amd64/v4
Labels:
 org.mobyproject.buildkit.worker.executor:             containerd
GC Policy rule#0:
 All:            false
 Filters:        type==source.local,type==exec.cachemount,type==source.git.checkout

Name:             arm64
Endpoint:         unix:///run/buildkit-arm64.sock
Status:           running
BuildKit version: v0.0.0+unknown
Platforms:        linux/arm64*, linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/amd64/v4
Labels:
 org.mobyproject.buildkit.worker.executor:             containerd
"""


def test_bake_says_which_node_of_a_multi_node_builder_builds_which_platform(example, run, tmp_path, monkeypatch):
    # The local engine keeps the classic image store: it is not the builder, so it does not matter.
    log = docker_with(tmp_path, monkeypatch, containerd=False, inspect=MULTINODE)
    assert run("render", "-f", str(example)).exit_code == 0
    result = run("bake", "-f", str(example), "push", "--builder", "multinode", "--push")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ("builder multinode: 2 nodes (remote driver); buildx sends each platform to its node:\n"
                             "  node amd64 builds linux/amd64\n"
                             "  node arm64 builds linux/arm64\n")
    assert result.stdout == ""  # bake's own output (`--print`: JSON) stays alone on stdout
    calls = log.read_text().splitlines()
    assert f"{os.getcwd()}|buildx inspect --builder multinode" in calls
    assert bake_calls(log) == [f"{example.parent}|buildx bake --file docker-bake.hcl push --builder multinode --push"]
    # One platform: one node's work; the other node has none of it.
    result = run("bake", "-f", str(example), "--builder=multinode", "storefront")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[1:] == ["  node amd64 builds linux/amd64",
                                              "  node arm64: none of this bake's platforms"]
    result = run("bake", "-f", str(example), "insights", "--builder", "multinode", "--set", "*.platform=linux/arm64")
    assert result.stderr.splitlines()[1:] == ["  node amd64: none of this bake's platforms",
                                              "  node arm64 builds linux/arm64"]


def test_bake_says_where_a_platform_no_node_declares_goes(example, run, tmp_path, monkeypatch):
    # Two amd64 nodes, neither declared; the second has not started, so its platforms are not known.
    two_amd64 = MULTINODE.replace("linux/amd64*, ", "linux/amd64, ").replace(
        "Platforms:        linux/arm64*, linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/amd64/v4\n", "")
    two_amd64 = two_amd64.replace("Status:           running\nBuildKit version: v0.0.0+unknown\n\nLabels", "")
    docker_with(tmp_path, monkeypatch, driver="docker-container", inspect=two_amd64.replace(
        "Name:             arm64\nEndpoint:         unix:///run/buildkit-arm64.sock\nStatus:           running",
        "Name:             second\nEndpoint:         ssh://builder@second\nStatus:           inactive"))
    assert run("render", "-f", str(example)).exit_code == 0
    result = run("bake", "-f", str(example), "insights-production", "--builder", "multinode")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[1:] == [
        "  node amd64 builds linux/amd64 (its BuildKit reports it; no node declares it with --platform)",
        "  node amd64 builds linux/arm64 (no node declares it; buildx picks a node once the builder has started: "
        "`docker buildx inspect --bootstrap multinode` shows what each runs)",
        "  node second (inactive): none of this bake's platforms"]
    # Both started and amd64 only: arm64 goes to the first node, under emulation.
    docker_with(tmp_path, monkeypatch, inspect=MULTINODE.replace("linux/amd64*, ", "linux/amd64, ").replace(
        "linux/arm64*, ", ""))
    result = run("bake", "-f", str(example), "insights-production", "--builder", "multinode")
    assert "  node amd64 builds linux/arm64 (no node declares or runs it: RUN steps for it need emulation there)" \
        in result.stderr.splitlines()


def test_bake_names_the_builder_it_cannot_inspect(example, run, tmp_path, monkeypatch):
    log = docker_with(tmp_path, monkeypatch, inspect_fails='ERROR: no builder "nope" found')
    assert run("render", "-f", str(example)).exit_code == 0
    result = run("bake", "-f", str(example), "--builder", "nope", "insights")
    assert result.exit_code == 2
    assert result.stderr == ('docker: cannot inspect the builder nope: ERROR: no builder "nope" found\n'
                             "  hint: `docker buildx ls` lists the builders; `docker buildx inspect --bootstrap NAME` "
                             "starts one\n")
    assert bake_calls(log) == []


def test_bake_says_nothing_of_nodes_for_a_builder_of_one(example, run, docker_log):
    assert run("render", "-f", str(example)).exit_code == 0
    single = MULTINODE.split("\nName:             arm64", 1)[0] + "\n"
    (docker_log.parent / "inspect.txt").write_text(single)
    result = run("bake", "-f", str(example), "insights")
    assert result.exit_code == 0
    assert "node" not in result.stderr


def test_bake_passes_entitlements_only_to_buildx_that_has_them(tmp_path, run, monkeypatch):
    from test_cases import outside_project

    matrix = outside_project(tmp_path, allow=True)
    assert run("render", "-f", str(matrix)).exit_code == 0
    log = docker_with(tmp_path, monkeypatch, version="v0.19.0")
    assert run("bake", "-f", str(matrix)).exit_code == 0
    assert bake_calls(log)[-1].endswith("|buildx bake --file docker-bake.hcl --allow=fs.read=../libs")
    log = docker_with(tmp_path, monkeypatch, version="0.13.1+ds1")
    assert run("bake", "-f", str(matrix)).exit_code == 0
    assert bake_calls(log)[-1].endswith("|buildx bake --file docker-bake.hcl")


def test_bake_refuses_stale_files_unless_asked_to_render(example, run, docker_log):
    log = docker_log
    stale_example(example, run)
    result = run("bake", "-f", str(example), "production")
    assert result.exit_code == 2
    assert "generated files are not current" in result.stderr
    assert not log.exists()
    result = run("bake", "--render", "-f", str(example), "production")
    assert result.exit_code == 0
    assert run("check", "-f", str(example)).exit_code == 0


def test_bake_without_docker_or_buildx(example, run, tmp_path, monkeypatch):
    assert run("render", "-f", str(example)).exit_code == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = run("bake", "-f", str(example))
    assert result.exit_code == 2
    assert result.stderr.startswith("docker: docker is not installed or not on PATH")
    fake_docker(empty, buildx_ok=False)
    result = run("bake", "-f", str(example))
    assert result.exit_code == 2
    assert result.stderr.startswith("docker: docker buildx is not available: docker: unknown command: buildx")


def test_template_overrides_replace_one_block(project, run):
    matrix = project("template-overrides")
    result = run("render", "-f", str(matrix))
    assert result.exit_code == 0, result.stderr
    dockerfile = (matrix.parent / "generated/api/Dockerfile").read_text()
    assert "apt-get install -y --no-install-recommends libpq5=15.*" in dockerfile
    production = dockerfile[dockerfile.index("AS production"):]
    assert production.index("libpq5") < production.index("USER 10001:10001")
    assert "libpq5" not in (matrix.parent / "generated/hello/Dockerfile").read_text(), "go is not overridden"
    from hcl import read_bake

    targets = read_bake(matrix.parent / "docker-bake.hcl")["target"]
    assert all(t["ssh"] == [("default",)] for t in targets.values())
    # The header names what the override asks for: buildx 0.19+ wants --allow=ssh.
    bake = (matrix.parent / "docker-bake.hcl").read_text()
    assert "# buildx 0.19+ asks for these entitlements: `docker buildx bake --allow=ssh`\n" in bake
    assert "build with: docker buildx bake --allow=ssh" in result.stdout
    assert run("check", "-f", str(matrix)).exit_code == 0
    # editing an override makes the generated files stale
    override = matrix.parent / "docker/templates/python.Dockerfile.j2"
    override.write_text(override.read_text().replace("libpq5=15.*", "libpq5=16.*"))
    assert run("check", "-f", str(matrix)).exit_code == 1


def test_templates_flag_and_whole_template_replacement(project, run, tmp_path):
    matrix = project("minimal")
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "dockerignore.j2").write_text("# Generated by bakegen from {{ source }}.\n*\n!app/\n")
    result = run("render", "--templates", str(folder), "-f", str(matrix))
    assert result.exit_code == 0, result.stderr
    assert (matrix.parent / "generated/api/Dockerfile.dockerignore").read_text() == (
        "# Generated by bakegen from matrix.yaml.\n*\n!app/\n")
    assert run("check", "-f", str(matrix)).exit_code == 1, "without the flag the shipped template differs"
    assert run("check", "--templates", str(folder), "-f", str(matrix)).exit_code == 0


def test_broken_override_is_a_user_error(project, run, tmp_path):
    matrix = project("minimal")
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "go.Dockerfile.j2").write_text('{% extends "bakegen/nope.j2" %}\n')
    result = run("render", "--templates", str(folder), "-f", str(matrix))
    assert result.exit_code == 2
    assert result.stderr.startswith("go.Dockerfile.j2: template not found: bakegen/nope.j2")
    result = run("render", "--templates", str(tmp_path / "missing"), "-f", str(matrix))
    assert result.exit_code == 2
    assert "template folder not found" in result.stderr


HOOK_FILES = ["matrix.yaml", "docker/templates/python.Dockerfile.j2", "example/generated/api/Dockerfile",
              "docker-bake.hcl", "services/api/uv.lock", "svc/poetry.lock", "fn/go.mod", "requirements-dev.txt"]


def test_pre_commit_hooks():
    import re

    hooks = {h["id"]: h for h in load_yaml(REPO / ".pre-commit-hooks.yaml")}
    assert set(hooks) == {"bakegen-check", "bakegen-render"}
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        pattern = re.compile(hook["files"])
        assert all(pattern.search(f) for f in HOOK_FILES)
        assert not pattern.search("services/api/app/main.py")
    assert hooks["bakegen-check"]["entry"] == "bakegen check"
    assert hooks["bakegen-render"]["entry"] == "bakegen render"


def test_metadata_action_interop(project, run):
    matrix = project("minimal")
    matrix.write_text(matrix.read_text().replace("  name: minimal\n", "  name: minimal\n  metadata_action: true\n"))
    assert run("render", "-f", str(matrix)).exit_code == 0
    from hcl import read_bake

    targets = read_bake(matrix.parent / "docker-bake.hcl")["target"]
    assert targets["docker-metadata-action"] == {}
    assert targets["api-production"]["inherits"] == [("docker-metadata-action",)]
    assert "inherits" not in targets["api-development"], "only pushed targets"


# Every attribute of bake's documented target, group and variable blocks
# (docs/bake-reference.md); `output` (not `outputs`) and no `push` attribute.
DOCUMENTED = {
    "target": {"args", "annotations", "attest", "cache-from", "cache-to", "call", "context", "contexts",
               "description", "dockerfile-inline", "dockerfile", "entitlements", "extra-hosts", "inherits",
               "labels", "matrix", "name", "network", "no-cache-filter", "no-cache", "output", "platforms",
               "pull", "secret", "shm-size", "ssh", "tags", "target", "ulimits"},
    "group": {"description", "targets"},
    "variable": {"default", "description", "type", "validation"},
}


def test_bake_files_use_documented_attributes_only(project, run, tmp_path):
    import hcl2

    from conftest import copy_example

    example_dir = tmp_path / "example-copy"
    example_dir.mkdir()
    matrices = [project(n) for n in ("minimal", "deploy-policies", "go-lambda", "template-overrides")]
    matrices.append(copy_example(example_dir))
    for matrix in matrices:
        assert run("render", "-f", str(matrix)).exit_code == 0
        data = hcl2.loads((matrix.parent / "docker-bake.hcl").read_text(),
                          serialization_options=hcl2.SerializationOptions(with_comments=False))
        assert set(data) <= set(DOCUMENTED)
        for kind, blocks in data.items():
            for block in blocks:
                for attrs in block.values():
                    assert set(attrs) - {"__is_block__"} <= DOCUMENTED[kind], (matrix, kind, attrs.keys())
