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
        ("SOURCE_DATE_EPOCH", ""), ("LOCAL_PLATFORM", False), ("CACHE_EXPORT", False)]
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
