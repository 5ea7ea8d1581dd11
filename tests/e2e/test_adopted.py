"""An adopted project builds: a fixture under tests/adopt, imported, rendered and baked.

`tests/adopt/pinned` is a compose project whose Dockerfiles tie some images
to one platform (compose's `platform:`, GOARCH=amd64, a go build on the build
machine that reads no TARGETARCH) and one that does not (a Python image whose
web assets are built on amd64). `bakegen import` must keep the first kind to
linux/amd64 and build the last for both platforms, with no RUN step on arm64.
"""

from __future__ import annotations

import shutil

import pytest
from harness import REPO, Project, bakegen
from standins import StandIns, from_images

ADOPT = REPO / "tests" / "adopt"


@pytest.fixture(scope="module")
def pinned(engine, registry, standins, tmp_path_factory: pytest.TempPathFactory) -> Project:
    # standins: the session's stand-ins include BuildKit's SBOM scanner, which pushed targets' attest needs.
    folder = tmp_path_factory.mktemp("adopted") / "pinned"
    shutil.copytree(ADOPT / "pinned", folder)
    imported = bakegen("import", "compose.yaml", cwd=folder)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    StandIns(engine).ensure([ref for d in sorted(folder.rglob("Dockerfile")) for ref in from_images(d)])
    return Project("pinned", folder / "matrix.yaml", engine, registry.address)


def test_an_imported_project_builds_each_image_for_the_platforms_it_can_hold(pinned):
    assert {t.service: t.platforms for t in pinned.plan.targets} == {
        "legacy": ("linux/amd64",), "gosvc": ("linux/amd64",), "goamd": ("linux/amd64",),
        "web": ("linux/amd64", "linux/arm64")}
    build = pinned.bake(*(t.name for t in pinned.plan.targets))
    assert build.returncode == 0, build.failure()
    assert build.arm64_runs() == [], "no RUN step may execute on linux/arm64"
    for target in pinned.plan.targets:
        for platform in target.platforms:
            found = pinned.engine.docker("image", "inspect", "--platform", platform, pinned.tag(target), check=False)
            assert found.returncode == 0, f"{target.name} has no {platform} image"
    # The Go binary of the amd64-only image is an amd64 binary: what the Dockerfile compiled.
    config = pinned.image_config(pinned.plan.target("goamd-production"), "linux/amd64")
    assert config["Entrypoint"] == ["/app"]


def test_an_import_that_needs_no_edit_builds_as_written(engine, registry, standins, tmp_path):
    """`tests/adopt/rounds`: a final stage with no name (null: the last stage), a root final
    stage accepted with run_as_root, two services under one image name made distinct. The
    draft is written with no edit to make, and every target builds for both platforms."""
    folder = tmp_path / "rounds"
    shutil.copytree(ADOPT / "rounds", folder)
    imported = bakegen("import", "docker-compose.yml", cwd=folder)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "edit before" not in imported.stdout
    StandIns(engine).ensure([ref for d in sorted(folder.glob("*Dockerfile")) for ref in from_images(d)])
    p = Project("rounds", folder / "matrix.yaml", engine, registry.address)
    assert p.plan.target("web-production").target == ""
    build = p.bake(*(t.name for t in p.plan.targets))
    assert build.returncode == 0, build.failure()
    assert build.arm64_runs() == []
    for target in p.plan.targets:
        for platform in target.platforms:
            found = p.engine.docker("image", "inspect", "--platform", platform, p.tag(target), check=False)
            assert found.returncode == 0, f"{target.name} has no {platform} image"
