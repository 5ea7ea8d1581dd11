"""Every target of the example and of every fixture builds for each of its platforms.

The linux/arm64 stand-in base images hold binaries that can never run here
(no emulation is registered), so a target that builds for linux/arm64
executed no RUN step on that platform. The only steps allowed to need
emulation are the ones the README documents (a dependency without a wheel
for the target platform); those must fail here, exactly there.
"""

from __future__ import annotations

import re
import time

import pytest
from harness import BUILD_PLATFORM, PROJECT_NAMES, Project

from dockerfile_checks import runs_on_target

@pytest.mark.parametrize("name", PROJECT_NAMES)
def test_every_target_builds_for_each_platform(built, name):
    p, build = built(name)
    assert build.returncode == 0, build.failure()
    emulated = p.emulated()
    buildable = [t.name for t in p.plan.targets if set(t.platforms) - set(emulated.get(t.name, []))]
    assert sorted(build.metadata) == sorted(buildable)
    # Multi-platform targets name the platform of each step: none ran on arm64.
    assert build.arm64_runs() == []


@pytest.mark.parametrize("name", PROJECT_NAMES)
def test_documented_emulation_is_the_only_emulation(built, name):
    p, _ = built(name)
    for target, platforms in p.emulated().items():
        for platform in platforms:
            result = p.bake(target, "--set", f"{target}.platform={platform}")
            assert result.returncode != 0, f"{target} built for {platform}: this machine cannot emulate it"
            failed = result.failed_steps("exec format error")
            assert failed, result.failure()
            documented = runs_on_target(p.dir / p.plan.target(target).context / p.plan.target(target).dockerfile,
                                        p.plan.target(target).target, platform)
            # Each failed step is one the static walk lists: "stage: RUN ...".
            for step in failed:
                stage = re.match(r"\[(.*?) \d+/\d+\]", step).group(1).split()[-1]  # [target platform stage N/M]
                assert stage in {d.split(":", 1)[0] for d in documented}, (step, documented)


def production_targets(p: Project):
    return [t for t in p.plan.targets if t.stage == "production" and not t.output]


@pytest.mark.parametrize("name", PROJECT_NAMES)
def test_production_images_run_as_non_root(built, name):
    p, build = built(name)
    assert build.returncode == 0, build.failure()
    for t in production_targets(p):
        service = p.plan.target(t.name).service
        if p.plan.target(t.name).service in p.matrix_run_as_root():
            continue
        for platform in t.platforms:
            if platform in p.emulated().get(t.name, []):
                continue
            user = p.image_config(t, platform).get("User", "")
            assert user and user.split(":")[0] not in ("", "0", "root"), f"{service} on {platform}: {user!r}"


@pytest.mark.parametrize("name", PROJECT_NAMES)
def test_amd64_production_images_start_and_turn_healthy(built, name):
    p, build = built(name)
    assert build.returncode == 0, build.failure()
    started = {}
    for t in production_targets(p):
        if BUILD_PLATFORM not in t.platforms:
            continue
        config = p.image_config(t, BUILD_PLATFORM)
        # --health-interval only makes the image's own check run sooner.
        run = p.engine.docker("run", "-d", "--network", "none", "--platform", BUILD_PLATFORM,
                              "--health-interval=1s", "--health-start-period=30s", p.tag(t))
        started[t.name] = (run.stdout.strip(), config.get("Healthcheck"))
    try:
        deadline = time.monotonic() + 60
        pending = dict(started)
        while pending and time.monotonic() < deadline:
            for name, (container, health) in list(pending.items()):
                state = p.engine.docker("inspect", "-f", "{{json .State}}", container).stdout
                if health and health.get("Test", [""])[0] != "NONE":
                    if '"Status":"healthy"' in state:
                        del pending[name]
                    elif '"Running":false' in state:
                        pytest.fail(f"{name} exited: {logs(p, container)}")
                elif '"Running":true' in state or '"ExitCode":0' in state:
                    del pending[name]
                else:
                    pytest.fail(f"{name} did not start: {logs(p, container)}")
            time.sleep(1)
        assert not pending, {n: logs(p, c) for n, (c, _) in pending.items()}
    finally:
        for container, _ in started.values():
            p.engine.docker("rm", "-f", container, check=False)


def logs(p: Project, container: str) -> str:
    return p.engine.docker("logs", container, check=False).stdout[-2000:]
