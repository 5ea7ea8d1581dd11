"""Input digests: the same inputs give the same digest in any folder or clone; any input changes it."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from conftest import copy_example

from bakegen.tools import digests

GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def inputs(run, matrix: Path, *names: str) -> dict:
    result = run("inputs", "-f", str(matrix), "--format", "json", *names)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_the_same_inputs_give_the_same_digests_in_another_folder_and_a_clone(run, tmp_path):
    first, second = tmp_path / "a", tmp_path / "somewhere" / "else"
    first.mkdir()
    second.mkdir(parents=True)
    copy_example(first)
    copy_example(second)
    # Other file times, and a clone made by git (its own times and checkout).
    later = time.time() + 3600
    for path in second.rglob("*"):
        os.utime(path, (later, later))
    subprocess.run(["git", "init", "-q"], cwd=first, check=True)
    subprocess.run(["git", "add", "-A"], cwd=first, check=True)
    subprocess.run(["git", "commit", "-qm", "x"], cwd=first, env=GIT_ENV, check=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(first), str(clone)], check=True)

    found = [inputs(run, root / "matrix.yaml") for root in (first, second, clone)]
    assert found[0] == found[1] == found[2]
    text = json.dumps(found[0])
    assert str(tmp_path) not in text and "somewhere" not in text


def test_each_target_has_a_digest_per_platform_and_one_label_value(run, example):
    data = inputs(run, example, "insights-production", "portal-web-production")
    insights = data["insights-production"]
    assert list(insights["platforms"]) == ["linux/amd64", "linux/arm64"]
    assert len(set(insights["platforms"].values())) == 2
    assert insights["inputs"].startswith("sha256:") and insights["inputs"] not in insights["platforms"].values()
    web = data["portal-web-production"]
    assert web["parts"]["upstream"] == {"portal-production": inputs(run, example, "portal")["portal-production"]["inputs"]}
    text = run("inputs", "-f", str(example), "insights-production").stdout
    assert text.splitlines() == [
        "TARGET               PLATFORM     INPUT DIGEST",
        f"insights-production  (label)      {insights['inputs']}",
        f"                     linux/amd64  {insights['platforms']['linux/amd64']}",
        f"                     linux/arm64  {insights['platforms']['linux/arm64']}",
    ]


def test_file_contents_and_the_executable_bit_are_inputs_times_are_not(run, example):
    source = example.parent / "example/services/catalog-api/catalog/main.py"
    before = inputs(run, example, "catalog-api-production")["catalog-api-production"]["inputs"]
    os.utime(source, (1, 1))
    assert inputs(run, example, "catalog-api-production")["catalog-api-production"]["inputs"] == before
    source.chmod(0o755)
    executable = inputs(run, example, "catalog-api-production")["catalog-api-production"]["inputs"]
    assert executable != before
    source.chmod(0o644)
    source.write_text(source.read_text() + "\n")
    assert inputs(run, example, "catalog-api-production")["catalog-api-production"]["inputs"] not in (
        before, executable)


def test_bakegens_version_is_an_input(run, example, monkeypatch):
    before = inputs(run, example, "ledger-production")["ledger-production"]
    monkeypatch.setattr("bakegen.pipeline.__version__", "99.0.0")
    after = inputs(run, example, "ledger-production")["ledger-production"]
    assert after["parts"]["bakegen"] == "99.0.0" and after["inputs"] != before["inputs"]


def test_a_users_dockerfile_counts_by_the_stage_it_builds(run, example):
    dockerfile = example.parent / "example/services/ledger/Dockerfile"
    before = inputs(run, example, "ledger")
    dockerfile.write_text(dockerfile.read_text() + "\n# a comment at the end\n")
    assert inputs(run, example, "ledger") == before
    text = dockerfile.read_text()
    assert "AS dev" in text
    dockerfile.write_text(text + "\nFROM scratch AS unused\nCOPY README.md /\n")
    assert inputs(run, example, "ledger") == before


def test_stage_chain_follows_from_copy_and_mount():
    text = (
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=alpine\n"
        "FROM $BASE AS tools\nRUN echo tools\n"
        "FROM alpine AS assets\nRUN echo assets\n"
        "FROM alpine AS unrelated\nRUN echo unrelated\n"
        "FROM alpine AS app-linux-amd64\nRUN echo amd64\n"
        "FROM alpine AS app-linux-arm64\nRUN echo arm64\n"
        "FROM app-${TARGETOS}-${TARGETARCH} AS app\n"
        "COPY --from=assets / /\n"
        "RUN --mount=type=bind,from=tools,target=/t true\n"
    )
    chain = digests.stage_chain(text, "app", "linux/arm64")
    assert chain is not None
    assert chain.splitlines() == [
        "# syntax=docker/dockerfile:1", "ARG BASE=alpine",
        "FROM $BASE AS tools", "RUN echo tools", "FROM alpine AS assets", "RUN echo assets",
        "FROM alpine AS app-linux-arm64", "RUN echo arm64",
        "FROM app-${TARGETOS}-${TARGETARCH} AS app", "COPY --from=assets / /",
        "RUN --mount=type=bind,from=tools,target=/t true",
    ]
    assert digests.stage_chain(text, "missing", "linux/arm64") is None
    # A stage named by another variable may be any stage before it.
    dynamic = "FROM alpine AS a\nRUN a\nFROM alpine AS b\nARG X\nCOPY --from=${X} / /\n"
    assert "RUN a" in (digests.stage_chain(dynamic, "b", "linux/amd64") or "")


def test_file_hash_of_links_pipes_and_missing_files(tmp_path):
    (tmp_path / "f").write_text("x")
    (tmp_path / "l").symlink_to("f")
    os.mkfifo(tmp_path / "p")
    assert digests.file_hash(tmp_path / "f").startswith("sha256:")
    assert digests.file_hash(tmp_path / "l") == "link:f"
    assert digests.file_hash(tmp_path / "p") == "special"
    assert digests.file_hash(tmp_path / "gone") == "missing"


def test_a_template_override_and_what_it_imports_are_inputs(run, project):
    matrix = project("template-overrides")
    overrides = matrix.parent / "docker/templates"
    before = inputs(run, matrix)
    assert "python.Dockerfile.j2" in before["api-production"]["parts"]["templates"]
    assert "docker-bake.hcl.j2" in before["hello-production"]["parts"]["templates"]
    override = overrides / "python.Dockerfile.j2"
    override.write_text(override.read_text() + "{# a note that renders as nothing #}\n")
    after = inputs(run, matrix)
    assert after["api-production"]["inputs"] != before["api-production"]["inputs"]
    assert after["hello-production"] == before["hello-production"]
