"""Shipped templates lay out; the plan decides.

A decision is an `if`, `elif` or `for` keyword inside a Jinja tag: a
statement (`{% if %}`, `{% for %}`) or an expression (`{{ a if b else c }}`,
`{% for x in xs if x %}` counts two). Jinja's own lexer finds them, so text
outside tags, comments and string literals never count. Package managers,
installer flags, stage names and bake ternaries are values of the plan
(runtimes/*.py, model/plan.py) or per-manager partials; what is left is
layout: optional lines and repeated ones.
"""

from __future__ import annotations

from pathlib import Path

from bakegen.render.templating import bake_template_path, environment, template_dir

# Issue 22: 109 decisions when the typed plan landed (6f107ad), at most 60 after.
LIMIT = 60
KEYWORDS = {"if", "elif", "for"}


def shipped() -> list[Path]:
    return sorted(template_dir().glob("*.j2")) + [bake_template_path()]


def decisions(path: Path) -> int:
    return sum(1 for _, kind, value in environment().lex(path.read_text(encoding="utf-8"))
               if kind == "name" and value in KEYWORDS)


def test_counts_keywords_in_tags_only():
    env_lex = environment().lex
    text = ('{# if for #}if {{ "if" }} {% if a %}{{ b if c else d }}{% elif e %}'
            '{% for x in y if x %}{% endfor %}{% endif %}')
    assert sum(1 for _, kind, value in env_lex(text) if kind == "name" and value in KEYWORDS) == 5


def test_shipped_templates_make_few_decisions():
    counts = {path.name: decisions(path) for path in shipped()}
    assert sum(counts.values()) <= LIMIT, counts
