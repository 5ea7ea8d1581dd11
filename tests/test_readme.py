"""The README documents what the code does: its reference and its commands."""

from __future__ import annotations

import re

from bakegen.reference import BEGIN, END, markdown
from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_reference_is_current():
    section = README[README.index(BEGIN) + len(BEGIN) : README.index(END)]
    assert section == "\n" + markdown(), "run: python -m bakegen.reference README.md"


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"```sh\n(.+?)\n```", README)
    test_command = next(c for c in commands if "pytest" in c)
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()
