"""Per-platform values, the local (host-only) build, and both buildx versions.

The README's local command, `LOCAL_PLATFORM=true docker buildx bake
development --load`, must build every service for the machine it runs on,
whatever platforms the service deploys to. Generated bake files must be read
by buildx 0.13.1 (Debian 13's) as by the current buildx.
"""

from __future__ import annotations

import pytest
from harness import BUILD_PLATFORM, PROJECT_NAMES

from bakegen.pipeline import load_project


@pytest.mark.parametrize("name", PROJECT_NAMES)
def test_images_carry_the_environment_the_matrix_gives_each_platform(built, name):
    p, build = built(name)
    assert build.returncode == 0, build.failure()
    resolved, _ = load_project(p.matrix)
    checked = 0
    for t in p.plan.targets:
        if t.output:  # test stages keep no image
            continue
        service = resolved.service(t.service)
        for platform in t.platforms:
            if platform in p.emulated().get(t.name, []):
                continue
            env = p.image_config(t, platform)["Env"]
            # The stage's values, the service's for this platform, its per_stage values.
            stage = service.stage_values.get(t.target)
            expected = {**(stage.env_before if stage else {}),
                        **{key: by_platform[platform] for key, by_platform in service.env.items()},
                        **(stage.env_after if stage else {})}
            for key, value in expected.items():
                assert f"{key}={value}" in env, f"{t.name} on {platform}"
                checked += 1
    if any(s.env for s in resolved.services):
        assert checked


def local_development(p, old_buildx: bool = False):
    return p.bake("development", "--load", old_buildx=old_buildx, LOCAL_PLATFORM="true")


@pytest.mark.parametrize("name", PROJECT_NAMES)
def test_local_command_builds_every_service_for_this_machine(project, name):
    p = project(name)
    if "development" not in {g.name for g in p.plan.groups}:
        pytest.skip(f"{name} has no development stage")
    build = local_development(p)
    assert build.returncode == 0, build.failure()
    targets = [t for t in p.plan.targets if t.stage == "development"]
    assert sorted(build.metadata) == sorted(t.name for t in targets)
    for t in targets:
        assert p.engine.docker("image", "inspect", "--platform", BUILD_PLATFORM, p.tag(t)).returncode == 0


def test_old_buildx_builds_the_example_targets_that_need_no_network(project):
    """buildx 0.13 has no bake `network` attribute, and this engine has no bridge: it
    builds what downloads nothing (Go modules with local dependencies, user Dockerfiles)."""
    p = project("example")
    assert p.engine.buildx_version(old=True).startswith("0.13.")
    build = p.bake("finalize", "ledger", old_buildx=True)
    assert build.returncode == 0, build.failure()
    assert sorted(build.metadata) == sorted(t.name for t in p.plan.targets if t.service in ("finalize", "ledger"))


def normalise(value: object) -> object:
    """buildx 0.13 prints "type=x,key=v" entries where current buildx prints objects."""
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: str(v).lower() if isinstance(v, bool) else v for k, v in value.items()}
    if isinstance(value, str) and value.startswith("type="):
        return dict(item.split("=", 1) for item in value.split(","))
    return value


@pytest.mark.parametrize("name", PROJECT_NAMES)
def test_both_buildx_versions_read_the_bake_file_alike(project, name):
    p = project(name)
    keys = ("context", "dockerfile", "target", "platforms", "tags", "args", "contexts", "output", "cache-from",
            "cache-to", "attest", "secret", "labels")
    new, old = p.print_targets(), p.print_targets(old_buildx=True)
    assert sorted(old["target"]) == sorted(new["target"]) == sorted(t.name for t in p.plan.targets)
    # Only `default` is printed; buildx 0.13 keeps the file's order, current buildx sorts.
    assert sorted(old["group"]["default"]["targets"]) == sorted(new["group"]["default"]["targets"])
    for name_, target in new["target"].items():
        for key in keys:
            assert normalise(old["target"][name_].get(key)) == normalise(target.get(key)), (name_, key)
