"""Values reach the generated files as the user wrote them: YAML never rewrites them."""

from __future__ import annotations

from pathlib import Path

from bakegen import build_plan


def write_matrix(root: Path, services: str, project: str = "") -> Path:
    matrix = root / "matrix.yaml"
    (root / "svc").mkdir(exist_ok=True)
    (root / "svc" / "requirements.txt").write_text("")
    matrix.write_text(
        "version: 1\n"
        "project:\n  name: p\n  registry: registry.example.com/p\n" + project +
        "images: {python: 'python:3.12-slim'}\n"
        "stages: {production: {push: true}}\n"
        "services:\n" + services)
    return matrix


def test_unquoted_numbers_keep_the_text_the_user_wrote(tmp_path):
    matrix = write_matrix(tmp_path, project="  tag: 3.10\n  labels: {build: 1e3, mask: 0x1F}\n", services=(
        "  api:\n"
        "    runtime: python\n"
        "    context: svc\n"
        "    python: {package_manager: pip}\n"
        "    command: [python, -m, app, 3.10, 1_000]\n"
        "    args: {GO_VERSION: 1.20, BUILD: 007}\n"
        "    env: {UMASK: 0755, RATIO: .5, BIG: 1e3, HEX: 0x1F, WHEN: 2024-01-31}\n"))
    plan = build_plan(matrix)
    assert next(v.default for v in plan.variables if v.name == "TAG") == "3.10"
    target = plan.target("api-production")
    assert target.args == {"SOURCE_DATE_EPOCH": "", "GO_VERSION": "1.20", "BUILD": "007"}
    assert target.labels["build"] == ("1e3",) and target.labels["mask"] == ("0x1F",)
    values = plan.dockerfiles[0].values
    assert values.env == {"UMASK": "0755", "RATIO": ".5", "BIG": "1e3", "HEX": "0x1F", "WHEN": "2024-01-31"}
    assert values.command == ("python", "-m", "app", "3.10", "1_000")


def test_a_date_is_text_where_text_is_expected(tmp_path):
    matrix = write_matrix(tmp_path, project="  tag: 2024-01-31\n", services=(
        "  api: {runtime: python, context: svc, python: {package_manager: pip}}\n"))
    assert next(v.default for v in build_plan(matrix).variables if v.name == "TAG") == "2024-01-31"


def test_numbers_stay_numbers_where_numbers_are_expected(tmp_path):
    matrix = write_matrix(tmp_path, services=(
        "  api:\n"
        "    runtime: python\n"
        "    context: svc\n"
        "    python: {package_manager: pip}\n"
        "    port: 0x1F90\n"
        "    healthcheck: {http: /health, retries: 05}\n"))
    values = build_plan(matrix).dockerfiles[0].values
    assert values.port == 8080 and type(values.port) is int
    assert values.healthcheck.retries == 5 and type(values.healthcheck.retries) is int


def test_nested_merge_keys_are_merged(tmp_path):
    matrix = write_matrix(tmp_path, services=(
        "  base: &base\n"
        "    runtime: python\n"
        "    context: svc\n"
        "    python: {package_manager: pip}\n"
        "    env: {A: a}\n"
        "  api: &api\n"
        "    <<: *base\n"
        "    command: [python, -m, api]\n"
        "  worker:\n"
        "    <<: *api\n"  # api's own keys, and through it base's
        "    env: {B: b}\n"))
    plan = build_plan(matrix)
    worker = next(d for d in plan.dockerfiles if d.service == "worker")
    assert worker.values.command == ("python", "-m", "api")
    assert worker.values.env == {"B": "b"}, "the mapping's own keys win"
    assert plan.target("worker-production").context == "svc", "keys merged into the merged mapping arrive"
