"""The build plan as plain data, without templates."""

from __future__ import annotations

import os
import subprocess
import sys

from bakegen import build_plan
from bakegen.model.plan import display


def test_targets_follow_services_and_stages(example):
    plan = build_plan(example)
    names = [t.name for t in plan.targets]
    assert names[:3] == ["catalog-api-development", "catalog-api-test", "catalog-api-production"]
    assert "finalize-development" not in names  # finalize builds [test, production] only
    assert len(names) == len(set(names)) == 26


def test_platforms_come_from_the_deploy_target(example):
    plan = build_plan(example)
    assert plan.target("catalog-api-production").platforms == ("linux/arm64",)
    assert plan.target("storefront-production").platforms == ("linux/amd64",)
    assert plan.target("insights-production").platforms == ("linux/amd64", "linux/arm64")
    # image_of services run where their image's service runs
    assert plan.target("portal-web-production").platforms == ("linux/arm64",)
    assert plan.target("portal-web-production").deploy == "eks"


def test_single_manifest_targets_have_no_attestations(example):
    plan = build_plan(example)
    assert plan.target("finalize-production").attest == (
        "type=provenance,disabled=true", "type=sbom,disabled=true")
    assert plan.target("finalize-production").push_attest == ()
    assert plan.target("catalog-api-production").attest == ()


def test_pushed_targets_carry_provenance_and_an_sbom_unless_switched_off(example):
    plan = build_plan(example)
    assert plan.target("catalog-api-production").push_attest == ("type=provenance,mode=max", "type=sbom")
    assert plan.target("catalog-api-development").push_attest == ()  # not pushed
    assert plan.target("portal-web-production").push_attest == ("type=provenance,mode=max", "type=sbom")
    example.write_text(example.read_text().replace("  name: shop\n", "  name: shop\n  attestations: false\n"))
    assert all(not t.push_attest for t in build_plan(example).targets)


def test_image_of_reuses_the_built_image(example):
    plan = build_plan(example)
    web = plan.target("portal-web-production")
    assert web.contexts == {"image-production": "target:portal-production"}
    assert web.context == "example/generated/portal-web"


def test_named_contexts_and_user_dockerfiles(example):
    plan = build_plan(example)
    finalize = plan.target("finalize-production")
    assert finalize.contexts == {"shared": "./example/functions/shared"}
    assert finalize.dockerfile == "../../generated/finalize/Dockerfile"
    ledger = plan.target("ledger-production")
    assert (ledger.dockerfile, ledger.target) == ("Dockerfile", "runtime")


def test_groups(example):
    groups = {g.name: g.targets for g in build_plan(example).groups}
    assert list(groups)[:5] == ["default", "push", "development", "test", "production"]
    assert groups["lambda"] == ("finalize-test", "finalize-production")
    assert groups["portal-scheduler"] == (
        "portal-scheduler-development", "portal-scheduler-test", "portal-scheduler-production")
    assert all(name.endswith("-production") for name in groups["push"])


def test_tags_and_variables(example):
    plan = build_plan(example)
    assert [(v.name, v.default) for v in plan.variables] == [
        ("REGISTRY", "registry.dev.example.com/shop"), ("TAG", "latest"), ("REVISION", ""), ("CREATED", ""),
        ("SOURCE_DATE_EPOCH", ""), ("LOCAL_PLATFORM", False), ("CACHE_EXPORT", False),
        ("SBOM", False)]
    assert [display(t) for t in plan.target("reducer-development").tags] == [
        "${REGISTRY}/reducer:${TAG}-development"]


def test_output_is_identical_across_processes_and_hash_seeds(example):
    script = (
        "import sys, hashlib; from bakegen import render_project\n"
        "files = render_project(sys.argv[1]).files\n"
        "print(hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest())\n"
    )
    digests = set()
    for seed in ("0", "1", "12345", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", script, str(example)], env=env,
                             capture_output=True, text=True, check=True)
        digests.add(out.stdout)
    assert len(digests) == 1


def test_registry_cache_per_target(example):
    t = build_plan(example).target("portal-production")
    assert [display(c) for c in t.cache_from] == ["type=registry,ref=${REGISTRY}/portal:cache-production"]
    assert [display(c) for c in t.cache_to] == ["type=registry,ref=${REGISTRY}/portal:cache-production,mode=max"]


def _targets_reading(plan, path):
    return sorted({t.service for t in plan.targets if path in t.inputs.files})


def test_every_target_lists_the_files_its_build_reads(example):
    plan = build_plan(example)
    inputs = plan.target("catalog-api-production").inputs
    assert "example/services/catalog-api/catalog/main.py" in inputs.files
    assert "example/services/catalog-api/uv.lock" in inputs.files
    assert inputs.files == tuple(sorted(inputs.files))
    assert _targets_reading(plan, "example/services/catalog-api/catalog/main.py") == ["catalog-api"]
    assert inputs.template == "python.Dockerfile.j2"
    assert inputs.images == ("python:3.12-slim-bookworm", "ghcr.io/astral-sh/uv:0.13.9")
    assert ("services", "catalog-api") in inputs.matrix and ("stages", "production") in inputs.matrix
    assert plan.version


def test_named_contexts_are_inputs_of_the_services_that_name_them(example):
    plan = build_plan(example)
    assert _targets_reading(plan, "example/functions/shared/go.mod") == ["finalize"]


def test_ignored_files_are_no_input(example):
    plan = build_plan(example)
    everything = {f for t in plan.targets for f in t.inputs.files}
    # .env files are left out by the default ignore patterns; README.md, the
    # matrix and generated files are in no build context.
    assert "example/services/portal/.prod.env" not in everything
    assert not any(f.endswith((".env", "matrix.yaml")) or "/generated/" in f for f in everything)
    assert "example/services/portal/poetry.lock" in everything


def test_a_service_running_anothers_image_builds_on_that_target(example):
    plan = build_plan(example)
    inputs = plan.target("portal-web-production").inputs
    assert inputs.upstream == ("portal-production",)
    assert inputs.files == ()
    assert inputs.template == "image-of.Dockerfile.j2"


def test_a_users_dockerfile_and_its_ignore_file_are_inputs(example):
    (example.parent / "example/services/ledger/.dockerignore").write_text("*.md\n")
    (example.parent / "example/services/ledger/NOTES.md").write_text("notes\n")
    plan = build_plan(example)
    files = plan.target("ledger-production").inputs.files
    assert "example/services/ledger/Dockerfile" in files
    assert "example/services/ledger/.dockerignore" in files
    assert "example/services/ledger/NOTES.md" not in files
