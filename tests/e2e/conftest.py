"""The end-to-end suite: every generated target built on a real Docker engine.

It runs when BAKEGEN_E2E=1 (`.ci/run` sets it), and then must run: if the
engine cannot be installed or started, the suite fails and says why.
Without BAKEGEN_E2E it is skipped, with that reason printed (`-ra`).
"""

from __future__ import annotations

import os
import re
import subprocess
import posixpath
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))  # tests/: dockerfile_checks

from buildkit import standalone_builder as standalone_builder_on  # noqa: E402
from engine import Engine, EngineError  # noqa: E402
from harness import PROJECT_NAMES, Build, Project, copy_project, forget_images  # noqa: E402
from registry import Registry  # noqa: E402
from standins import SBOM_SCANNER, StandIns, from_images  # noqa: E402

from bakegen import build_plan  # noqa: E402

ENABLED = os.environ.get("BAKEGEN_E2E", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            if not ENABLED:
                item.add_marker(pytest.mark.skip(
                    reason="builds on a real Docker engine: set BAKEGEN_E2E=1 to run it (.ci/run does; "
                           "tests/e2e/engine.py installs the engine from Debian's packages)"))


@pytest.fixture(scope="session")
def ssh_agent() -> Iterator[None]:
    """An empty SSH agent: bake files may forward `ssh = ["default"]`, which needs a socket."""
    if os.environ.get("SSH_AUTH_SOCK"):
        yield
        return
    out = subprocess.run(["ssh-agent", "-s"], capture_output=True, text=True, check=True).stdout
    env = dict(re.findall(r"(SSH_AUTH_SOCK|SSH_AGENT_PID)=([^;]+);", out))
    os.environ.update(env)
    yield
    subprocess.run(["kill", env["SSH_AGENT_PID"]], check=False)
    for key in env:
        os.environ.pop(key, None)


@pytest.fixture(scope="session")
def engine(ssh_agent: None) -> Engine:
    try:
        return Engine().up()
    except EngineError as exc:
        pytest.fail(f"the Docker engine for the end-to-end suite could not be started:\n{exc}", pytrace=False)


@pytest.fixture(scope="session")
def registry(engine: Engine) -> Registry:
    try:
        return Registry(engine.root).start()
    except EngineError as exc:
        pytest.fail(f"the loopback registry could not be started:\n{exc}", pytrace=False)


@pytest.fixture(scope="session")
def standalone_builder(engine: Engine) -> Iterator[dict[str, str]]:
    """The environment of a `remote`-driver builder on the engine's BuildKit (buildkit.py): what
    GitHub's runners build with, where `push-by-digest` works."""
    try:
        with standalone_builder_on(engine) as env:
            yield env
    except EngineError as exc:
        pytest.fail(f"no standalone builder on the engine's BuildKit:\n{exc}", pytrace=False)


@pytest.fixture
def namespace(engine: Engine, registry: Registry) -> Iterator[str]:
    """A registry namespace no other test or run uses, e.g. 127.0.0.1:5000/3f9a1c0b7e;
    afterwards the engine forgets its local copies of the images pushed there."""
    prefix = f"{registry.address}/{uuid.uuid4().hex[:10]}"
    yield prefix
    forget_images(engine, prefix)


def _base_images(matrix: Path) -> list[str]:
    plan = build_plan(matrix)
    refs = [getattr(d.values, k) for d in plan.dockerfiles for k in ("base_build", "base_run", "uv_image")
            if getattr(d.values, k, None)]
    generated = {d.path for d in plan.dockerfiles}
    for target in plan.targets:
        dockerfile = posixpath.normpath(posixpath.join(target.context, target.dockerfile))
        if dockerfile not in generated:
            refs += from_images(matrix.parent / dockerfile)
    return refs


@pytest.fixture(scope="session")
def standins(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Two-platform stand-ins for every base image the example and the fixtures name."""
    # BuildKit's SBOM generator, for pushed targets' `attest = ["type=sbom"]`.
    refs: list[str] = [SBOM_SCANNER]
    for name in PROJECT_NAMES:
        matrix = copy_project(name, tmp_path_factory.mktemp("scan") / name)
        refs += _base_images(matrix)
    try:
        StandIns(engine).ensure(refs)
    except EngineError as exc:
        pytest.fail(f"stand-in base images could not be made:\n{exc}", pytrace=False)
    return sorted(set(refs))


@pytest.fixture(scope="session")
def project(engine: Engine, registry: Registry, standins: list[str],
            tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Project]:
    """project(NAME): a rendered copy of the example or a fixture, one per session."""
    made: dict[str, Project] = {}

    def get(name: str) -> Project:
        if name not in made:
            matrix = copy_project(name, tmp_path_factory.mktemp("e2e") / name)
            made[name] = Project(name, matrix, engine, registry.address)
        return made[name]

    return get


@pytest.fixture(scope="session")
def built(project: Callable[[str], Project]) -> Callable[[str], tuple[Project, Build]]:
    """built(NAME): the project after `docker buildx bake` of every target, once per session."""
    builds: dict[str, tuple[Project, Build]] = {}

    def get(name: str) -> tuple[Project, Build]:
        if name not in builds:
            p = project(name)
            builds[name] = (p, p.build_all())
        return builds[name]

    return get
