"""The bakegen_render fixture, as a user's own test suite would use it."""

from __future__ import annotations

import shutil

from conftest import PROJECTS

USER_TEST = '''
def test_generated_files(bakegen_render, snapshot):
    assert bakegen_render("matrix.yaml") == snapshot
'''


def test_users_snapshot_their_generated_files(pytester):
    for item in (PROJECTS / "minimal").iterdir():
        if item.is_dir():
            shutil.copytree(item, pytester.path / item.name)
        else:
            shutil.copy2(item, pytester.path / item.name)
    pytester.makepyfile(test_bakegen=USER_TEST)

    pytester.runpytest("-p", "syrupy", "--snapshot-update").assert_outcomes(passed=1)
    pytester.runpytest("-p", "syrupy").assert_outcomes(passed=1)

    # A change to the matrix shows up as a snapshot diff in the user's tests.
    matrix = pytester.path / "matrix.yaml"
    matrix.write_text(matrix.read_text().replace("[python, -m, app]", "[python, -m, app.server]"))
    result = pytester.runpytest("-p", "syrupy")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(['*CMD ["python", "-m", "app.server"]*'])


def test_fixture_renders_in_memory(bakegen_render, project):
    matrix = project("minimal")
    files = bakegen_render(matrix)
    assert "docker-bake.hcl" in files and "generated/api/Dockerfile" in files
    assert not (matrix.parent / "docker-bake.hcl").exists(), "nothing is written"
