"""How real Python projects are read: packages, path dependencies, secrets in the context, Poetry versions."""

from __future__ import annotations

import re
import shutil

from bakegen import build_plan, render_project
from conftest import PROJECTS


def test_a_package_is_installed_as_a_wheel_and_production_copies_no_source(project):
    matrix = project("src-layout")
    dockerfile = render_project(matrix).files["generated/inventory/Dockerfile"]
    # A uv project's wheel is built by uv: its uv_build backend needs no index.
    assert "uv build --wheel --out-dir /wheels .\n" in dockerfile
    assert "--no-deps /wheels/*.whl" in dockerfile
    production = dockerfile[dockerfile.index("AS production"):]
    assert "COPY --from=builder /opt/python /opt/python" in production
    assert "app-source" not in dockerfile and "COPY . ." not in production
    # The test stage imports the source tree, and has the console script.
    assert "PYTHONPATH=/src/src:/opt/python-test" in dockerfile


def test_builders_share_one_folder_unless_paths_between_folders_must_resolve(project):
    """Identical steps dedupe within one bake only when they are identical: services
    without named contexts or local packages build in /src; the others mirror the
    project's layout, so `../libs/pricing` or a go.mod `replace` resolves."""
    files = render_project(project("path-dependency")).files
    assert "WORKDIR /src/services/orders\n" in files["generated/orders/Dockerfile"]
    files = render_project(project("src-layout")).files
    assert "WORKDIR /src\n" in files["generated/inventory/Dockerfile"]
    assert "/src/inventory" not in files["generated/inventory/Dockerfile"]
    files = render_project(project("go-lambda")).files
    assert "WORKDIR /src/functions/finalize\n" in files["generated/finalize/Dockerfile"]


def test_path_dependencies_outside_the_context_arrive_as_named_contexts(project):
    matrix = project("path-dependency")
    plan = build_plan(matrix)
    assert plan.target("orders-production").contexts == {"pkg-pricing": "./libs/pricing"}
    assert plan.target("billing-production").contexts == {"pkg-pricing": "./libs/pricing"}
    files = render_project(matrix).files
    assert "uv build --wheel --out-dir /wheels /src/libs/pricing\n" in files["generated/orders/Dockerfile"]
    # billing is a pip project: pip builds its wheels.
    assert "pip wheel --no-deps --wheel-dir /wheels /src/libs/pricing\n" in files["generated/billing/Dockerfile"]
    assert "COPY --from=pkg-pricing . /src/libs/pricing" in files["generated/billing/Dockerfile"]
    assert "uv export --frozen --no-dev --no-emit-project --no-emit-local" in files["generated/orders/Dockerfile"]


def test_a_path_dependency_outside_the_project_is_an_error(tmp_path, run):
    shutil.copytree(PROJECTS / "path-dependency", tmp_path / "p")
    orders = tmp_path / "p/services/orders/pyproject.toml"
    orders.write_text(orders.read_text().replace("../../libs/pricing", "../../../elsewhere"))
    (tmp_path / "p/services/orders/uv.lock").unlink()
    result = run("validate", "-f", str(tmp_path / "p/matrix.yaml"))
    assert result.exit_code == 2
    assert "local dependency '../../../elsewhere' of services/orders is outside the project folder" in result.stderr


def test_a_file_that_looks_like_a_secret_in_the_context_is_reported(project, run):
    matrix = project("pip-two-file")
    (matrix.parent / "reports/deploy.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    (matrix.parent / "reports/.prod.env").write_text("PASSWORD=x\n")  # excluded by default: no warning
    result = run("render", "-f", str(matrix))
    assert result.exit_code == 0
    assert result.stderr == (
        "warning: service 'reports': reports/deploy.pem looks like a secret and is sent to the build, where "
        "copying the source puts it into the image; add it to `dockerignore` (or `!deploy.pem` there to keep "
        "it and silence this)\n")
    dockerignore = (matrix.parent / "generated/reports/Dockerfile.dockerignore").read_text()
    assert "**/*.env\n" in dockerignore and "**/.env.*\n" in dockerignore
    # Taking it back explicitly says the team wants it there.
    matrix.write_text(matrix.read_text().replace("production_exclude: [docs]",
                                                 "production_exclude: [docs]\n    dockerignore: ['!deploy.pem']"))
    assert run("render", "-f", str(matrix)).stderr == ""


def test_poetry_versions_teams_pin(project, run):
    matrix = project("poetry-1-8")
    dockerfile = render_project(matrix).files["generated/ledger/Dockerfile"]
    # Poetry 1.8 ships its export plugin; groups are named, as 1.8 has no --all-groups.
    assert "/opt/poetry/bin/pip install poetry==1.8.5\n" in dockerfile
    assert "poetry export --with test -o /requirements/dev.txt" in dockerfile
    matrix.write_text(matrix.read_text().replace("1.8.5", "2.0.1"))
    assert "pip install poetry==2.0.1 poetry-plugin-export==1.9.0\n" in render_project(matrix).files[
        "generated/ledger/Dockerfile"]
    matrix.write_text(matrix.read_text().replace("2.0.1", "1.1.14"))
    result = run("validate", "-f", str(matrix))
    assert result.exit_code == 2
    assert result.stderr == (
        f"{matrix}:25:23: Poetry 1.1.14 is older than 1.2, which bakegen's export step needs (dependency groups)\n"
        "  hint: use 1.8.5, or a 2.x release such as 2.5.1\n")


def test_the_package_manager_follows_from_the_context_when_the_matrix_names_none(tmp_path, run):
    """A new matrix need not say what the project's files already say."""
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn/requirements.txt").write_text("requests==2.32.3\n")
    (tmp_path / "fn/app.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "api").mkdir()
    (tmp_path / "api/pyproject.toml").write_text(
        '[tool.poetry]\nname = "api"\nversion = "1.0.0"\npackage-mode = false\n\n'
        '[tool.poetry.dependencies]\npython = "^3.12"\n')
    (tmp_path / "matrix.yaml").write_text(
        "version: 1\nproject: {name: p, registry: registry.example.com/p}\nimages: {python: 'python:3.12-slim-bookworm'}\n"
        "stages: {production: {push: true}}\n"
        "services:\n"
        "  fn: {runtime: python, context: fn, command: [python, app.py]}\n"
        "  api: {runtime: python, context: api, command: [python, -m, api]}\n")
    result = run("render", "-f", str(tmp_path / "matrix.yaml"))
    assert result.exit_code == 0, result.stderr
    fn = (tmp_path / "generated/fn/Dockerfile").read_text()
    assert "COPY requirements.txt /requirements/" in fn and "uv" not in fn
    api = (tmp_path / "generated/api/Dockerfile").read_text()
    assert "poetry export --only main" in api
    # No lock file: Poetry resolves at build time, and says so on every render.
    assert "api/poetry.lock is missing" in result.stderr


def test_a_context_without_a_python_project_is_an_error_at_its_line(tmp_path, run):
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc/pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")  # tool settings only
    (tmp_path / "matrix.yaml").write_text(
        "version: 1\nproject: {name: p, registry: registry.example.com/p}\nimages: {python: 'python:3.12-slim-bookworm'}\n"
        "stages: {production: {push: true}}\n"
        "services:\n"
        "  svc:\n"
        "    runtime: python\n"
        "    context: svc\n")
    result = run("render", "-f", str(tmp_path / "matrix.yaml"))
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"{tmp_path / 'matrix.yaml'}:8:14: no Python project in svc: none of uv.lock, poetry.lock, "
        "pyproject.toml or requirements.txt is there\n")
    assert "hint: point `context` at the folder that holds them, or set python.package_manager" in result.stderr
    assert not (tmp_path / "generated").exists() and not (tmp_path / "docker-bake.hcl").exists()


def _poetry_project(tmp_path, folder="ledger_app", lock_header="1.8.3", options=""):
    svc = tmp_path / "svc"
    (svc / folder).mkdir(parents=True)
    (svc / folder / "__init__.py").write_text("")
    (svc / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "ledger"\nversion = "1.0"\ndescription = ""\nauthors = []\n'
        '[tool.poetry.dependencies]\npython = "^3.11"\n'
        '[build-system]\nrequires = ["poetry-core"]\nbuild-backend = "poetry.core.masonry.api"\n')
    (svc / "poetry.lock").write_text(
        f"# This file is automatically @generated by Poetry {lock_header} and should not be changed by hand.\n"
        'package = []\n\n[metadata]\nlock-version = "2.0"\npython-versions = "^3.11"\ncontent-hash = "0"\n')
    (tmp_path / "matrix.yaml").write_text(
        "version: 1\nproject: {name: pf, registry: registry.example.com/pf}\n"
        "images: {python: 'python:3.12-slim-bookworm'}\nstages: {production: {push: true}}\n"
        f"services:\n  svc: {{runtime: python, context: svc, command: [python, -m, app]{options}}}\n")
    return tmp_path / "matrix.yaml"


def test_a_poetry_package_folder_that_is_not_the_projects_name_is_said_at_validate(tmp_path, run):
    _poetry_project(tmp_path)
    result = run("validate", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        "matrix.yaml:6:35: svc/pyproject.toml: Poetry builds the package 'ledger' (the project's name), and there "
        "is no folder or module of that name; the package folder there is ledger_app: add "
        "`packages = [{include = \"ledger_app\"}]` under [tool.poetry]\n")
    shutil.rmtree(tmp_path / "svc" / "ledger_app")
    (tmp_path / "svc" / "ledger").mkdir()
    (tmp_path / "svc" / "ledger" / "__init__.py").write_text("")
    assert run("validate", cwd=tmp_path).exit_code == 0


def test_poetry_is_the_release_that_wrote_the_lock_unless_the_matrix_names_one(tmp_path):
    """Another Poetry line may export a lock differently (one dropped a dependency with
    markers from both requirement files): the builder installs the lock's own."""
    def poetry_of(**kwargs):
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        folder.mkdir()
        matrix = _poetry_project(folder, folder="ledger", **kwargs)
        return re.findall(r"poetry==([\d.]+)", render_project(matrix).files["generated/svc/Dockerfile"])

    assert poetry_of(lock_header="1.8.3") == ["1.8.3"]
    assert poetry_of(lock_header="2.1.4") == ["2.1.4"]
    assert poetry_of(lock_header="1.1.13") == ["1.8.5"], "a lock older than export's oldest Poetry"
    assert poetry_of(lock_header="1.8.3", options=", python: {poetry_version: 2.5.1}") == ["2.5.1"]


def test_a_pyproject_that_cannot_be_read_is_said_so_not_no_project(tmp_path, run):
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc/pyproject.toml").write_text("[project\nname = 'x'\n")
    (tmp_path / "matrix.yaml").write_text(
        "version: 1\nproject: {name: p, registry: r.example.com/p}\nimages: {python: python:3.12-slim}\n"
        "stages: {production: {push: true}}\nservices:\n  svc: {runtime: python, context: svc, command: [x]}\n")
    result = run("validate", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith("matrix.yaml:6:35: svc/pyproject.toml: Expected ']' at the end of a table "
                                    "declaration (at line 1, column 9)\n  hint: fix it: with no lock file it says")
