"""Production images carry only what runs: no env files, no tests, no build inputs.

Each production image of the example and of every fixture is exported and
its files listed; the app's folders must hold none of what never belongs in
an image. Also: a project rendered with its lock file builds from a
checkout without one.
"""

from __future__ import annotations

import re
import tarfile
import tempfile
from pathlib import Path

import pytest
from harness import BUILD_PLATFORM, PROJECT_NAMES, Project, copy_project

# Where generated images keep what comes from the build context.
APP_FOLDERS = ("app/", "src/")
NEVER = {
    "env file": re.compile(r"(^|/)(\.env|\.env\.[^/]*|[^/]*\.env|\.envrc)$"),
    "test file": re.compile(r"(^|/)(tests?/|test_[^/]*\.py$|[^/]*_test\.py$|conftest\.py$|pytest\.ini$|tox\.ini$)"),
    "build input": re.compile(r"(^|/)(matrix\.ya?ml|docker-bake\.hcl|\.bakegen-manifest|Dockerfile[^/]*"
                              r"|\.git(ignore|attributes)?|\.github|\.dockerignore)(/|$)"),
}


def files_of(p: Project, ref: str, platform: str) -> list[str]:
    container = p.engine.docker("create", "--platform", platform, ref).stdout.strip()
    try:
        with tempfile.TemporaryDirectory() as folder:
            tar = Path(folder) / "image.tar"
            p.engine.docker("export", "-o", str(tar), container)
            with tarfile.open(tar) as archive:
                return [m.name for m in archive.getmembers()]
    finally:
        p.engine.docker("rm", container, check=False)


@pytest.mark.parametrize("name", PROJECT_NAMES)
def test_production_images_hold_no_env_test_or_build_files(built, name):
    p, build = built(name)
    assert build.returncode == 0, build.failure()
    checked = 0
    for t in p.plan.targets:
        if t.stage != "production" or t.output or t.service in p.own_dockerfiles():
            continue
        for platform in t.platforms:
            if platform in p.emulated().get(t.name, []):
                continue
            app_files = [f for f in files_of(p, p.tag(t), platform) if f.startswith(APP_FOLDERS)]
            for what, pattern in NEVER.items():
                found = [f for f in app_files if pattern.search(f)]
                assert not found, f"{t.name} on {platform} holds {what}s: {found[:5]}"
            checked += 1
    assert checked or not any(t.stage == "production" for t in p.plan.targets)


def test_a_fixture_with_writable_folders_runs_as_10001_and_writes_there(built):
    p, build = built("pip-two-file")
    t = p.plan.target("reports-production")
    out = p.engine.docker("run", "--rm", "--network", "none", "--platform", BUILD_PLATFORM, p.tag(t), "python", "-c",
                          "import os, pathlib; pathlib.Path('/app/cache/x').write_text('1'); "
                          "print(os.getuid(), os.access('/app', os.W_OK), os.access('/app/reports', os.W_OK))")
    assert out.stdout.split() == ["10001", "False", "False"], "cache is writable, the rest of /app is not"


def test_go_files_ship_beside_the_binary_on_every_platform(built):
    p, build = built("minimal")
    assert build.returncode == 0, build.failure()
    t = p.plan.target("hello-production")
    for platform in t.platforms:
        files = files_of(p, p.tag(t), platform)
        assert "app/config/greeting.txt" in files and "usr/local/bin/app" in files, platform


def test_rendered_with_a_lock_builds_from_a_checkout_without_one(engine, registry, standins, tmp_path):
    p = Project("src-layout", copy_project("src-layout", tmp_path / "src-layout"), engine, registry.address)
    (p.dir / "inventory/uv.lock").unlink()
    # Its own tag: the images of the other tests keep both platforms.
    build = p.bake("inventory-production", "--set", f"inventory-production.platform={BUILD_PLATFORM}",
                   TAG="lockless")
    assert build.returncode == 0, build.failure()
    assert "uv lock" in build.log or "Resolved" in build.log
