"""The five seed cases (and the documented fallback), one fixture project each.

Each renders, passes `check`, and is snapshot-tested; its Dockerfiles pass
hadolint and BuildKit's build checks; and a static walk over the stages
shows which RUN steps would need emulation on each target platform.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bakegen import build_plan, render_project
from bakegen.render.write import MANIFEST
from conftest import copy_example
from dockerfile_checks import buildkit_check_violations, runs_on_target, undeclared_args
from hcl import read_bake
from test_example import hadolint

CASES = ["deploy-policies", "two-arch-service", "shared-image", "go-lambda", "optional-lock", "wheel-fallback",
         # The usual layouts of real Python projects.
         "src-layout", "path-dependency", "pip-two-file", "poetry-1-8", "system-packages"]

# RUN steps that execute on the target platform, per (fixture, target). Every
# target not listed has none: it builds without emulation on any machine.
CACHES = "--mount=type=cache,target=/root/.cache/uv     --mount=type=cache,target=/root/.cache/bakegen-bytecode     "
COMPILE = "     && python3 /usr/local/lib/bakegen/bytecode.py /opt/python%s /root/.cache/bakegen-bytecode"
NATIVE_INSTALL = ("builder-native: RUN " + CACHES
                  + "uv pip install --python python3 --target /opt/python -r /requirements/main.txt" + COMPILE % "")
NATIVE_DEV_INSTALL = ("dev-builder-native: RUN " + CACHES
                      + "uv pip install --python python3 --target /opt/python-dev -r /requirements/dev.txt"
                      + COMPILE % "-dev")
NATIVE_APT = ("builder-native: RUN apt-get update     && apt-get install -y --no-install-recommends "
              "build-essential libpq-dev     && rm -rf /var/lib/apt/lists/*")
ON_TARGET = {
    # psycopg2 is published only as source: it compiles on the target platform,
    # with the build packages the matrix names.
    ("system-packages", "db-api-production"): [NATIVE_APT, NATIVE_INSTALL],
    # docopt is published only as source: auto installs on the target platform.
    ("wheel-fallback", "cli-tool-production"): [NATIVE_INSTALL],
    ("wheel-fallback", "cli-tool-development"): [NATIVE_INSTALL, NATIVE_DEV_INSTALL],
}


def render(matrix: Path, run) -> dict[str, str]:
    result = run("render", "-f", str(matrix))
    assert result.exit_code == 0, result.stderr
    return {path: (matrix.parent / path).read_text(encoding="utf-8") for path in render_project(matrix).files
            if path != MANIFEST}  # its hashes would repeat every change


@pytest.fixture(params=CASES)
def case(request, project) -> Path:
    return project(request.param)


@pytest.mark.parametrize("name", CASES)
def test_case_renders_checks_and_snapshots(project, run, snapshot, name):
    matrix = project(name)
    files = render(matrix, run)
    assert run("check", "-f", str(matrix)).exit_code == 0
    assert files == snapshot


def generated_dockerfiles(matrix: Path) -> list[Path]:
    return [matrix.parent / d.path for d in build_plan(matrix).dockerfiles]


def all_projects(project, tmp_path) -> list[Path]:
    example_dir = tmp_path / "example-copy"
    example_dir.mkdir()
    return [project(name) for name in CASES] + [copy_example(example_dir)]


def test_hadolint_and_buildkit_checks_pass_everywhere(project, run, tmp_path):
    files = []
    for matrix in all_projects(project, tmp_path):
        render(matrix, run)
        files += generated_dockerfiles(matrix)
    result = subprocess.run([hadolint(), "--no-color", *map(str, files)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert [p for f in files for p in buildkit_check_violations(f)] == []


def test_runs_read_only_declared_args(project, run, tmp_path):
    for matrix in all_projects(project, tmp_path):
        render(matrix, run)
        plan = build_plan(matrix)
        for d in plan.dockerfiles:
            args = {a for t in plan.targets if t.service == d.service for a in t.args}
            assert undeclared_args(matrix.parent / d.path, args) == [], d.path


@pytest.mark.parametrize("name", CASES)
def test_run_steps_on_the_target_platform(project, run, name):
    matrix = project(name)
    render(matrix, run)
    plan = build_plan(matrix)
    generated = {d.service for d in plan.dockerfiles}
    checked = 0
    for t in plan.targets:
        if t.service not in generated:
            continue
        for platform in t.platforms:
            path = matrix.parent / t.context / t.dockerfile
            assert runs_on_target(path, t.target, platform) == ON_TARGET.get((name, t.name), []), (
                f"{t.name} on {platform}")
            checked += 1
    assert checked


def test_example_needs_no_emulation(example, run):
    render(example, run)
    plan = build_plan(example)
    for t in plan.targets:
        if t.service == "ledger":  # the team's own Dockerfile
            continue
        for platform in t.platforms:
            assert runs_on_target(example.parent / t.context / t.dockerfile, t.target, platform) == [], t.name


def test_missing_lock_file_builds_with_a_warning(project, run):
    matrix = project("optional-lock")
    warning = ("warning: service 'reducer': reducer/poetry.lock is missing, so dependency versions are "
               "resolved at build time and builds are not reproducible; commit a lock file (poetry lock)\n")
    result = run("render", "-f", str(matrix))
    assert result.exit_code == 0 and result.stderr == warning
    result = run("check", "-f", str(matrix))
    assert result.exit_code == 0 and result.stderr == warning
    # Both Dockerfiles build with or without a lock file, whichever the checkout has.
    for service in ("reducer", "orchestrator"):
        dockerfile = (matrix.parent / f"generated/{service}/Dockerfile").read_text()
        assert "COPY pyproject.toml poetry.lock* ./\n" in dockerfile
        assert "&& if [ ! -f poetry.lock ]; then /opt/poetry/bin/poetry lock; fi \\\n" in dockerfile


def test_single_manifest_targets_in_the_bake_file(project, run):
    for name, target in [("go-lambda", "finalize-production"), ("deploy-policies", "checkout-fn-production")]:
        matrix = project(name)
        render(matrix, run)
        bake = read_bake(matrix.parent / "docker-bake.hcl")["target"][target]
        assert bake["attest"] == [("type=provenance,disabled=true",), ("type=sbom,disabled=true",)]
        assert bake["platforms"]["platforms"] == [("linux/arm64",)]


def test_shared_image_is_built_once(project, run):
    matrix = project("shared-image")
    render(matrix, run)
    plan = build_plan(matrix)
    assert [d.service for d in plan.dockerfiles] == ["api", "app", "scheduler"]
    app = plan.target("app-production")
    assert app.contexts == {"image-production": "target:api-production"}
    text = (matrix.parent / "generated/app/Dockerfile").read_text()
    assert "RUN" not in text and "COPY" not in text


def test_one_switch_builds_a_stage_of_every_service(project, run):
    matrix = project("optional-lock")
    render(matrix, run)
    groups = read_bake(matrix.parent / "docker-bake.hcl")["group"]
    assert groups["production"]["targets"] == [("orchestrator-production",), ("reducer-production",)]
    assert groups["development"]["targets"] == [("orchestrator-development",), ("reducer-development",)]


def test_go_named_contexts_keep_go_mod_untouched(project, run):
    matrix = project("go-lambda")
    before = (matrix.parent / "functions/finalize/go.mod").read_bytes()
    render(matrix, run)
    assert (matrix.parent / "functions/finalize/go.mod").read_bytes() == before
    t = build_plan(matrix).target("finalize-production")
    assert t.contexts == {"logger": "./shared/logger", "schema": "./shared/schema"}
    text = (matrix.parent / "generated/finalize/Dockerfile").read_text()
    # the builder mirrors the project layout, so ../../shared/* resolves as on disk
    assert "WORKDIR /src/functions/finalize" in text
    assert "COPY --from=logger . /src/shared/logger" in text
    assert "FROM --platform=$BUILDPLATFORM golang:1.24-bookworm AS builder" in text
    assert 'CGO_ENABLED=0 GOOS="$TARGETOS" GOARCH="$TARGETARCH"' in text and "-trimpath" in text
    assert 'ENTRYPOINT ["/var/task/bootstrap"]' in text


def outside_project(tmp_path: Path, allow: bool) -> Path:
    """A Go service whose shared module lives next to (not inside) the project."""
    (tmp_path / "libs/shared").mkdir(parents=True)
    (tmp_path / "libs/shared/go.mod").write_text("module example.com/shared\n\ngo 1.24\n")
    project = tmp_path / "project"
    (project / "fn").mkdir(parents=True)
    (project / "fn/go.mod").write_text("module example.com/fn\n\ngo 1.24\n")
    allow_line = "  allow_outside: [../libs]\n" if allow else ""
    (project / "matrix.yaml").write_text(
        "version: 1\n"
        f"project:\n  name: fn\n  registry: r.example.com/fn\n{allow_line}"
        "images: {go: 'golang:1.24-bookworm', static: 'gcr.io/distroless/static-debian12:nonroot'}\n"
        "stages: {production: {push: true}}\n"
        "services:\n  fn:\n    runtime: go\n    context: fn\n    contexts: {shared: ../libs/shared}\n"
    )
    return project / "matrix.yaml"


def test_outside_context_is_an_error_unless_allowed(tmp_path, run):
    matrix = outside_project(tmp_path, allow=False)
    result = run("validate", "-f", str(matrix))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].endswith(":11:24: '../libs/shared' is outside the project folder")


def test_allowed_outside_context_shows_the_allow_flag(tmp_path, run):
    matrix = outside_project(tmp_path, allow=True)
    result = run("render", "-f", str(matrix))
    assert result.exit_code == 0, result.stderr
    assert "build with: docker buildx bake --allow=fs.read=../libs  (--allow: buildx 0.19 and later)\n" in result.stdout
    bake = (matrix.parent / "docker-bake.hcl").read_text()
    assert "# buildx 0.19+ asks for these entitlements: `docker buildx bake --allow=fs.read=../libs`\n" in bake
    assert build_plan(matrix).target("fn-production").contexts == {"shared": "../libs/shared"}


def registry_docker(folder: Path, amd64: int, arm64: int) -> None:
    """A fake `docker` serving one image index and its two platform manifests."""
    import json
    import stat

    index = {"manifests": [
        {"digest": "sha256:" + "a" * 64, "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": "sha256:" + "b" * 64, "platform": {"os": "linux", "architecture": "arm64"}},
        {"digest": "sha256:" + "c" * 64, "platform": {"os": "unknown", "architecture": "unknown"}},
    ]}
    def manifest(size):
        return {"config": {"size": 1000}, "layers": [{"size": size - 1000}]}
    (folder / "index.json").write_text(json.dumps(index))
    (folder / "amd64.json").write_text(json.dumps(manifest(amd64)))
    (folder / "arm64.json").write_text(json.dumps(manifest(arm64)))
    script = folder / "docker"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{folder}/calls.log"\n'
        'case "$5" in\n'
        f'  *@sha256:aaaa*) cat "{folder}/amd64.json" ;;\n'
        f'  *@sha256:bbbb*) cat "{folder}/arm64.json" ;;\n'
        f'  *) cat "{folder}/index.json" ;;\n'
        "esac\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_image_size_budget_per_platform(project, run, tmp_path, monkeypatch):
    import os

    matrix = project("two-arch-service")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("TAG", "2.3.1")
    registry_docker(bin_dir, amd64=390_000_000, arm64=370_000_000)
    result = run("sizes", "-f", str(matrix))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        "reports-production  linux/amd64  390.0 MB  400.0 MB  ok",
        "reports-production  linux/arm64  370.0 MB  380.0 MB  ok",
    ]
    assert "buildx imagetools inspect --raw registry.example.com/reporting/reports:2.3.1" in (
        bin_dir / "calls.log").read_text()
    registry_docker(bin_dir, amd64=390_000_000, arm64=381_000_000)
    result = run("sizes", "-f", str(matrix))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "reports-production  linux/arm64  381.0 MB  380.0 MB  OVER BUDGET"


def test_local_builds_know_every_developer_platform(tmp_path):
    """LOCAL_PLATFORM=true builds an arm64-only service on an amd64 laptop: the
    Dockerfile has settings for amd64 too, from `default` (else the first platform)."""
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc/requirements.txt").write_text("")
    (tmp_path / "matrix.yaml").write_text(
        "version: 1\n"
        "project: {name: p, registry: r.example.com/p}\n"
        "images: {python: 'python:3.12-slim-bookworm'}\n"
        "stages: {production: {push: true}}\n"
        "deploy_targets: {eks: {platforms: [linux/arm64]}}\n"
        "services:\n"
        "  svc:\n    runtime: python\n    context: svc\n    deploy: eks\n    command: python -m svc\n"
        "    python: {package_manager: pip}\n"
        "    env:\n      WORKERS: {linux/arm64: '2', default: '1'}\n      MODE: {linux/arm64: fast}\n")
    plan = build_plan(tmp_path / "matrix.yaml")
    assert plan.target("svc-production").platforms == ("linux/arm64",)
    dockerfile = render_project(tmp_path / "matrix.yaml").files["generated/svc/Dockerfile"]
    assert "      linux/amd64) PIP_PLATFORM=" in dockerfile
    amd64 = dockerfile[dockerfile.index("AS production-linux-amd64"):dockerfile.index("AS production-linux-arm64")]
    assert 'ENV WORKERS="1"' in amd64
    assert 'ENV MODE="fast"' in dockerfile  # one value for every platform: common to all


def test_sizes_without_docker(project, run, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = run("sizes", "-f", str(project("two-arch-service")))
    assert result.exit_code == 2
    assert result.stderr == ("docker: docker is not installed or not on PATH\n"
                             "  hint: install Docker with the buildx plugin\n")
