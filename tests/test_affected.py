"""`bakegen affected --since REF`: the targets a change affects, on git repositories made here.

Each case of issue 20 and its inverse: a change reaches the targets whose
builds read it, and no other.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
CATALOG = ["catalog-api-development", "catalog-api-test", "catalog-api-production"]
PORTAL = ["portal-development", "portal-test", "portal-production"]
PORTAL_WEB = ["portal-web-development", "portal-web-test", "portal-web-production"]
PORTAL_SCHEDULER = ["portal-scheduler-development", "portal-scheduler-test", "portal-scheduler-production"]
FINALIZE = ["finalize-test", "finalize-production"]
PYTHON = ["catalog-api", "storefront", "insights", "portal", "orchestrator", "reducer"]


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, env=GIT_ENV, check=True, capture_output=True,
                          text=True).stdout


def commit(root: Path, message: str = "change") -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)


@pytest.fixture
def repo(example: Path) -> Path:
    """The example, with a README, as the one commit of a new git repository."""
    root = example.parent
    (root / "README.md").write_text("# The shop\n")
    git(root, "init", "-q")
    commit(root, "the shop")
    return root


@pytest.fixture
def affected(run, repo):
    """affected(*names): the targets `bakegen affected --since HEAD` prints, as a list."""

    def get(*args: str) -> list[str]:
        result = run("affected", "-f", str(repo / "matrix.yaml"), "--since", "HEAD", *args)
        assert result.exit_code == 0, result.stderr
        return result.stdout.split()

    return get


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def services(names: list[str]) -> list[str]:
    return sorted({n.rsplit("-", 1)[0] for n in names})


def test_no_change_affects_nothing_and_bake_builds_nothing(affected, run, repo):
    assert affected() == ["none"]
    result = run("affected", "-f", str(repo / "matrix.yaml"), "--since", "HEAD")
    assert "no target to build since HEAD" in result.stderr
    assert "`docker buildx bake none` builds nothing" in result.stderr


def test_a_services_source_affects_its_targets_only(affected, repo):
    source = repo / "example/services/catalog-api/catalog/main.py"
    source.write_text(source.read_text() + "# a comment\n")
    assert affected() == CATALOG
    assert affected("push") == ["catalog-api-production"]


def test_a_new_file_in_a_context_affects_that_service(affected, repo):
    (repo / "example/services/storefront/storefront/extra.py").write_text("X = 1\n")
    assert services(affected()) == ["storefront"]


def test_a_file_the_default_ignore_patterns_leave_out_affects_nothing(affected, repo):
    env = repo / "example/services/portal/.prod.env"
    assert env.is_file()
    env.write_text(env.read_text() + "DEBUG=1\n")
    (repo / "README.md").write_text("# The shop, now with a longer README\n")
    (repo / "example/services/catalog-api/.env").write_text("SECRET=1\n")
    assert affected() == ["none"]


def test_a_shared_module_affects_every_service_that_names_it_as_a_context(affected, repo):
    # A second Go function that names the shared module too.
    matrix = repo / "matrix.yaml"
    edit(matrix, "  # Case 2: one service", "  settle:\n    runtime: go\n    context: example/functions/finalize\n"
         "    deploy: lambda\n    stages: [production]\n    base: {build: go, run: lambda}\n"
         "    contexts:\n      shared: example/functions/shared\n    go: {lambda_runtime: true}\n\n"
         "  # Case 2: one service")
    commit(repo)
    shared = next((repo / "example/functions/shared").rglob("*.go"))
    shared.write_text(shared.read_text() + "// a comment\n")
    assert affected() == [*FINALIZE, "settle-production"]


def test_a_services_own_source_does_not_affect_the_shared_modules_other_users(affected, repo):
    main = next((repo / "example/functions/finalize").rglob("*.go"))
    main.write_text(main.read_text() + "// a comment\n")
    assert affected() == FINALIZE


def test_a_source_whose_image_others_run_affects_them_too(affected, repo):
    source = next((repo / "example/services/portal/portal").glob("*.py"))
    source.write_text(source.read_text() + "# a comment\n")
    assert affected() == [*PORTAL, *PORTAL_WEB, *PORTAL_SCHEDULER]


def test_a_change_to_a_service_running_anothers_image_leaves_that_image_alone(affected, repo):
    edit(repo / "matrix.yaml", "    command: [python, -m, portal.scheduler]",
         "    command: [python, -m, portal.scheduler, --once]")
    assert affected() == PORTAL_SCHEDULER


def test_a_go_image_affects_the_go_services_only(affected, repo):
    edit(repo / "matrix.yaml", "  go: golang:1.24-bookworm", "  go: golang:1.25-bookworm")
    assert affected() == FINALIZE


def test_a_python_image_affects_the_python_services_only(affected, repo):
    edit(repo / "matrix.yaml", "  python: python:3.12-slim-bookworm", "  python: python:3.13-slim-bookworm")
    found = affected()
    # Services that run portal's image are built on it; the Go function and the team's own Dockerfile are not.
    assert services(found) == sorted([*PYTHON, "portal-web", "portal-scheduler"])


def test_a_template_override_affects_the_services_that_use_it(affected, repo, run):
    edit(repo / "matrix.yaml", "  dockerfile_syntax: builtin", "  dockerfile_syntax: builtin\n  templates: templates")
    (repo / "templates").mkdir()
    (repo / "templates" / ".keep").write_text("")
    commit(repo)
    assert affected() == ["none"]
    override = repo / "templates" / "go.Dockerfile.j2"
    override.write_text('{% extends "bakegen/go.Dockerfile.j2" %}\n')
    assert affected() == FINALIZE  # the same Dockerfile, from another template source
    override.unlink()
    # The partial of one package manager's steps: the services that use that manager.
    poetry = repo / "templates" / "_python_poetry.j2"
    poetry.write_text('{% extends "bakegen/_python_poetry.j2" %}\n')
    assert services(affected()) == ["orchestrator", "portal", "portal-scheduler", "portal-web", "reducer"]
    poetry.unlink()
    (repo / "templates" / "python.Dockerfile.j2").write_text('{% extends "bakegen/python.Dockerfile.j2" %}\n')
    assert services(affected()) == sorted([*PYTHON, "portal-web", "portal-scheduler"])


def test_a_matrix_change_affects_only_the_targets_whose_values_changed(affected, repo):
    matrix = repo / "matrix.yaml"
    edit(matrix, "      development: {env: {LOG_LEVEL: debug}}", "      development: {env: {LOG_LEVEL: trace}}")
    # One Dockerfile for the service; only its development stage reads that value.
    assert affected() == ["catalog-api-development"]
    git(repo, "checkout", "--", "matrix.yaml")
    edit(matrix, "    env: {ENVIRONMENT: testing}", "    env: {ENVIRONMENT: ci}")
    found = affected()
    assert found and all(n.endswith("-test") for n in found)
    assert "catalog-api-test" in found and "portal-web-test" in found  # built on portal-test


def test_a_matrix_edit_that_changes_no_value_affects_nothing(affected, repo):
    matrix = repo / "matrix.yaml"
    edit(matrix, "# Base images, named once", "# Base images, named once (a new comment)")
    edit(matrix, "    port: 8080\n    healthcheck: {http: /healthz, interval: 15s}",
         "    healthcheck: {http: /healthz, interval: 15s}\n    port: 8080")
    assert affected() == ["none"]


def test_a_value_of_one_platform_affects_that_platforms_digest_only(run, repo):
    def digests() -> dict:
        result = run("inputs", "-f", str(repo / "matrix.yaml"), "--format", "json", "insights-production")
        return json.loads(result.stdout)["insights-production"]["platforms"]

    before = digests()
    edit(repo / "matrix.yaml", 'BATCH_SIZE: {linux/amd64: "32", linux/arm64: "16"}',
         'BATCH_SIZE: {linux/amd64: "32", linux/arm64: "8"}')
    after = digests()
    assert after["linux/amd64"] == before["linux/amd64"]
    assert after["linux/arm64"] != before["linux/arm64"]


def test_tags_are_compared_too(affected, repo):
    edit(repo / "matrix.yaml", '    tags: ["{registry}/{service}:{tag}", "{registry}/{service}:latest"]',
         '    tags: ["{registry}/{service}:{tag}", "{registry}/{service}:stable"]')
    found = affected()
    assert found and all(n.endswith("-production") for n in found)


def test_why_each_target_is_affected_goes_to_stderr(run, repo):
    source = repo / "example/services/catalog-api/catalog/main.py"
    source.write_text(source.read_text() + "# a comment\n")
    result = run("affected", "-f", str(repo / "matrix.yaml"), "--since", "HEAD")
    assert "catalog-api-production: changed: example/services/catalog-api/catalog/main.py" in result.stderr
    assert "3 of 26 target(s) to build since HEAD (" in result.stderr
    assert result.stdout == "\n".join(CATALOG) + "\n"


def test_json_lists_every_target_with_its_digests(run, repo):
    source = repo / "example/services/catalog-api/catalog/main.py"
    source.write_text(source.read_text() + "# a comment\n")
    result = run("affected", "-f", str(repo / "matrix.yaml"), "--since", "HEAD", "--format", "json", "push")
    data = json.loads(result.stdout)
    assert data["build"] == data["bake"] == ["catalog-api-production"]
    assert data["commit"] == git(repo, "rev-parse", "HEAD").strip()
    by_name = {t["target"]: t for t in data["targets"]}
    assert len(by_name) == 10 and all(t["push"] for t in by_name.values())
    assert by_name["catalog-api-production"]["action"] == "build"
    assert by_name["storefront-production"] == {**by_name["storefront-production"], "affected": False,
                                                "action": "none", "why": []}
    assert list(by_name["insights-production"]["platforms"]) == ["linux/amd64", "linux/arm64"]


def test_github_output_is_each_jobs_matrix(run, repo):
    source = repo / "example/services/catalog-api/catalog/main.py"
    source.write_text(source.read_text() + "# a comment\n")
    result = run("affected", "-f", str(repo / "matrix.yaml"), "--since", "HEAD", "--format", "github")
    outputs = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert list(outputs) == ["build_0", "build_1", "merge"]
    [entry] = json.loads(outputs["build_0"])
    assert (entry["target"], entry["platform"]) == ("catalog-api-production", "linux/arm64")
    assert entry["inputs"].startswith("sha256:")
    assert json.loads(outputs["build_1"]) == []
    [merge] = json.loads(outputs["merge"])
    assert (merge["target"], merge["mode"], merge["source"]) == ("catalog-api-production", "digests", "")


def test_without_since_every_target_is_affected(run, repo):
    result = run("affected", "-f", str(repo / "matrix.yaml"), "production")
    assert result.exit_code == 0
    assert len(result.stdout.split()) == 10
    assert "no revision to compare with" in result.stderr


def test_a_commit_without_the_matrix_affects_every_target(run, repo):
    (repo / "matrix.yaml").rename(repo / "shop.yaml")
    commit(repo, "renamed")
    (repo / "shop.yaml").rename(repo / "matrix.yaml")
    result = run("affected", "-f", str(repo / "matrix.yaml"), "--since", "HEAD", "production")
    assert len(result.stdout.split()) == 10
    assert "HEAD has no matrix.yaml: every target counts as affected" in result.stderr


def test_a_matrix_in_a_subfolder_is_compared_with_the_same_subfolder(run, tmp_path, example):
    root = tmp_path / "mono"
    (root / "shop").mkdir(parents=True)
    for name in ("matrix.yaml", "example"):
        (example.parent / name).rename(root / "shop" / name)
    git(root, "init", "-q")
    commit(root)
    source = root / "shop/example/services/catalog-api/catalog/main.py"
    source.write_text(source.read_text() + "# a comment\n")
    result = run("affected", "-f", str(root / "shop/matrix.yaml"), "--since", "HEAD", "push")
    assert result.stdout.split() == ["catalog-api-production"], result.stderr


@pytest.mark.parametrize(("since", "message", "hint"), [
    ("mastr", "unknown revision 'mastr'", "did you mean 'master'?"),
    ("HEAD~5", "unknown revision 'HEAD~5'", "name a commit of this repository"),
    ("--all", "'--all' is not a revision", "name a commit"),
])
def test_an_unknown_revision_is_a_located_error(run, repo, since, message, hint):
    git(repo, "branch", "-M", "master")
    result = run("affected", "-f", str(repo / "matrix.yaml"), f"--since={since}")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"--since: {message}")
    assert f"hint: {hint}" in result.stderr


def test_outside_a_git_repository_is_a_located_error(run, example):
    result = run("affected", "-f", str(example), "--since", "HEAD")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"--since: {example.parent} is not in a git repository")
    assert "hint: run bakegen affected in a clone, or leave out --since" in result.stderr


def test_an_unknown_target_or_group_is_a_located_error(run, repo):
    result = run("affected", "-f", str(repo / "matrix.yaml"), "--since", "HEAD", "catalog-ap")
    assert result.exit_code == 2
    assert f"{repo / 'matrix.yaml'}: no target or group named 'catalog-ap'" in result.stderr
    assert "hint: did you mean 'catalog-api'?" in result.stderr


def test_the_commit_compared_with_is_left_as_it_was(run, repo):
    source = repo / "example/services/catalog-api/catalog/main.py"
    source.write_text(source.read_text() + "# a comment\n")
    status = git(repo, "status", "--porcelain")
    worktrees = git(repo, "worktree", "list")
    run("affected", "-f", str(repo / "matrix.yaml"), "--since", "HEAD")
    assert git(repo, "status", "--porcelain") == status
    assert git(repo, "worktree", "list") == worktrees
