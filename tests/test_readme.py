"""The README leads a newcomer and documents what the code does; docs/ holds the rest.

The README's commands are the ones CI runs and the ones that work as pasted;
the key reference in docs/reference.md is generated from the schema and current.
"""

from __future__ import annotations

import re

from ruamel.yaml import YAML

from bakegen import __version__
from bakegen.cli import cli
from bakegen.tools.reference import BEGIN, END, markdown
from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS = REPO / "docs"


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.+?)\n```", text, re.S)


def test_reference_is_current():
    text = (DOCS / "reference.md").read_text(encoding="utf-8")
    section = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    assert section == "\n" + markdown(), "run: python -m bakegen.tools.reference docs/reference.md"


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"```sh\n(.+?)\n```", README)
    test_command = next(c for c in commands if "pytest" in c)
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()


def test_the_quick_start_is_the_two_commands():
    first, second = blocks(README, "sh")[:2]
    assert first == "python3 -m venv .venv && . .venv/bin/activate && pip install . && bakegen render"
    assert second == "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && python -m pytest"


def test_the_first_run_explains_its_warning(example, run):
    """The example's first render warns; the README says what that means, in the words it prints."""
    result = run("render", "-f", str(example))
    assert result.exit_code == 0
    warnings = [w for w in result.stderr.splitlines() if w.startswith("warning: ")]
    assert len(warnings) == 1
    quoted = re.sub(r"\s+", " ", README.split("## Quick start", 1)[1].split("\n## ", 1)[0])
    words = warnings[0].split(", so ", 1)[0].replace(str(example.parent) + "/", "")
    assert words in quoted


def test_every_command_is_in_the_table():
    table = README.split("| command |", 1)[1].split("\n\n", 1)[0]
    names = {name for name, command in cli.commands.items() if not command.hidden}
    for name in names:
        assert f"| `bakegen {name}" in table, name


def test_docs_are_linked_and_links_resolve():
    linked = set(re.findall(r"\]\((docs/[^)#]+)\)", README))
    assert linked == {f"docs/{p.name}" for p in DOCS.glob("*.md")}
    for doc in [REPO / "README.md", *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def test_snippets_work_as_pasted():
    """bakegen is not on PyPI: nothing installs it from there, and no snippet names a made-up repository."""
    assert not re.search(r"pip install (-U )?bakegen\b", README)
    assert "example/bakegen" not in README
    wheel = f"bakegen-{__version__}-py3-none-any.whl"
    yaml = YAML(typ="safe", pure=True)
    workflow, precommit = (yaml.load(b) for b in blocks(README, "yaml")[:2])
    steps = workflow["jobs"]["generated-files"]["steps"]
    assert steps[-1]["run"] == f"pip install tools/{wheel} && bakegen check --format github"
    hook = precommit["repos"][0]["hooks"][0]
    assert precommit["repos"][0]["repo"] == "local"
    shipped = next(h for h in yaml.load((REPO / ".pre-commit-hooks.yaml").read_text()) if h["id"] == hook["id"])
    assert {k: hook[k] for k in ("entry", "pass_filenames", "files")} == {
        k: shipped[k] for k in ("entry", "pass_filenames", "files")}


def test_the_readme_reads_in_one_sitting():
    assert len(README.splitlines()) < 250, "keep long material in docs/"
    assert "<details>" not in README and BEGIN not in README
