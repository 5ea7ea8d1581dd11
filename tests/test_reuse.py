"""`bakegen affected --registry`: images the registry holds with a target's input digest are re-tagged.

`docker buildx imagetools inspect` is a stand-in here (a script that answers
from a folder of JSON files, one per image reference); the end-to-end suite
runs the real one against a registry (tests/e2e/test_affected_workflow.py).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from bakegen import build_plan
from bakegen.tools import reuse
from bakegen.tools.digests import LABEL

REGISTRY = "registry.example.com/shop"


@pytest.fixture
def docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of what `imagetools inspect REF` prints, by REF with / and : as _; docker on PATH."""
    answers = tmp_path / "answers"
    answers.mkdir()
    script = tmp_path / "bin" / "docker"
    script.parent.mkdir()
    script.write_text(
        "#!/bin/sh\n"
        '[ "$1 $2 $3" = "buildx imagetools inspect" ] || exit 9\n'
        'for ref; do :; done\n'
        f'file="{answers}/$(printf %s "$ref" | tr /: __)"\n'
        '[ -f "$file" ] || { echo "ERROR: $ref: not found" >&2; exit 1; }\n'
        'cat "$file"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("REGISTRY", REGISTRY)
    monkeypatch.setenv("TAG", "sha-new")
    return answers


def hold(answers: Path, ref: str, labels: dict[str, str], index: bool = True) -> str:
    """Make the stand-in registry hold an image at `ref`, labelled per platform; return its digest."""
    digest = "sha256:" + f"{abs(hash(ref)):x}".rjust(64, "0")[:64]
    if index:
        manifest = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "manifests": [
            {"digest": "sha256:" + "1" * 64, "platform": {"os": p.split("/")[0], "architecture": p.split("/")[1]}}
            for p in labels] + [{"digest": "sha256:" + "2" * 64, "platform": {"os": "unknown",
                                                                           "architecture": "unknown"}}]}
        image = {p: {"architecture": p.split("/")[1], "config": {"Labels": {LABEL: v}}} for p, v in labels.items()}
        if len(image) == 1:  # as imagetools prints an index of one image: its config alone
            [image] = image.values()
    else:
        manifest = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest}
        [(platform, value)] = labels.items()
        image = {"architecture": platform.split("/")[1], "config": {"Labels": {LABEL: value}}}
    (answers / ref.replace("/", "_").replace(":", "_")).write_text(json.dumps({"manifest": manifest, "image": image}))
    return digest


def digest_of(run, matrix: Path, target: str) -> str:
    return json.loads(run("inputs", "-f", str(matrix), "--format", "json", target).stdout)[target]["inputs"]


def test_an_image_with_the_same_inputs_is_re_tagged_not_built(run, example, docker):
    insights = digest_of(run, example, "insights-production")
    held = hold(docker, f"{REGISTRY}/insights:latest", {"linux/amd64": insights, "linux/arm64": insights})
    # One with other inputs is built again.
    hold(docker, f"{REGISTRY}/catalog-api:latest", {"linux/arm64": "sha256:" + "9" * 64})
    result = run("affected", "-f", str(example), "--registry", "--format", "json", "push")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    by_name = {t["target"]: t for t in data["targets"]}
    assert by_name["insights-production"]["action"] == "retag"
    assert by_name["insights-production"]["source"] == f"{REGISTRY}/insights@{held}"
    assert by_name["catalog-api-production"]["action"] == "build"
    assert by_name["catalog-api-production"]["why"] == ["no image with these inputs in the registry"]
    assert "insights-production" not in data["build"] and "catalog-api-production" in data["build"]


def test_an_index_of_one_platform_is_found_too(run, example, docker):
    storefront = digest_of(run, example, "storefront-production")
    hold(docker, f"{REGISTRY}/storefront:latest", {"linux/amd64": storefront})
    result = run("affected", "-f", str(example), "--registry", "storefront-production")
    assert result.stdout == "none\n", result.stderr


def test_the_tags_of_the_commit_before_are_looked_at(run, example, docker):
    ledger = digest_of(run, example, "ledger-production")
    hold(docker, f"{REGISTRY}/ledger:sha-old", {"linux/amd64": ledger, "linux/arm64": ledger})
    plain = run("affected", "-f", str(example), "--registry", "ledger-production")
    assert plain.stdout == "ledger-production\n"
    result = run("affected", "-f", str(example), "--registry", "--reuse-tag", "sha-old", "ledger-production")
    assert result.stdout == "none\n"
    assert f"ledger-production: unchanged, re-tag {REGISTRY}/ledger@sha256:" in result.stderr


def test_an_index_must_have_the_targets_platforms_and_a_lambda_image_one_manifest(run, example, docker):
    insights = digest_of(run, example, "insights-production")
    hold(docker, f"{REGISTRY}/insights:latest", {"linux/amd64": insights})  # arm64 missing
    finalize = digest_of(run, example, "finalize-production")
    hold(docker, f"{REGISTRY}/finalize:latest", {"linux/arm64": finalize}, index=True)  # an index, not a manifest
    result = run("affected", "-f", str(example), "--registry", "insights-production", "finalize-production")
    assert result.stdout.split() == ["finalize-production", "insights-production"]
    hold(docker, f"{REGISTRY}/finalize:latest", {"linux/arm64": finalize}, index=False)
    result = run("affected", "-f", str(example), "--registry", "finalize-production")
    assert result.stdout == "none\n"


def test_candidates_are_every_tag_with_each_tag_value(example):
    plan = build_plan(example)
    refs = reuse.candidates(plan.target("insights-production"), {"REGISTRY": REGISTRY, "TAG": "sha-new"},
                            ["sha-old", "sha-new"])
    assert refs == [f"{REGISTRY}/insights:sha-new", f"{REGISTRY}/insights:latest", f"{REGISTRY}/insights:sha-old"]


def test_without_docker_registry_lookups_are_a_located_error(run, example, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = run("affected", "-f", str(example), "--registry")
    assert result.exit_code == 2
    assert result.stderr.startswith("--registry: docker is not installed or not on PATH")


def test_a_registry_that_cannot_be_read_is_said_and_everything_built(run, example, docker):
    (docker / f"{REGISTRY}/ledger:sha-new".replace("/", "_").replace(":", "_")).write_text("not json")
    result = run("affected", "-f", str(example), "--registry", "ledger-production")
    assert result.stdout == "ledger-production\n"
    assert "registry: registry.example.com/shop/ledger:sha-new: unreadable output of imagetools inspect" in result.stderr
