"""The one escaping filter for HCL, and the Dockerfile quoting helpers."""

from __future__ import annotations

import json

import hcl2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bakegen.model.plan import Var
from bakegen.render.templating import dockerfile_word, exec_form, hcl_literal, hcl_string
from hcl import decode


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ('say "hi"', 'say \\"hi\\"'),
        ("C:\\path", "C:\\\\path"),
        ("a\nb\r\tc", "a\\nb\\r\\tc"),
        ("\x00\x1b\x7f", "\\u0000\\u001b\\u007f"),
        ("${HOME}", "$${HOME}"),
        ("%{ if x }", "%%{ if x }"),
        ("$$ and $x and %x", "$$ and $x and %x"),
        ("ünïcode ✓", "ünïcode ✓"),
    ],
)
def test_hcl_literal(text, escaped):
    assert hcl_literal(text) == escaped


def test_interpolated_string_keeps_variables():
    assert hcl_string((Var("REGISTRY"), '/a"${b}:', Var("TAG"))) == '"${REGISTRY}/a\\"$${b}:${TAG}"'


def parses_with_python_hcl2(text: str) -> bool:
    r"""python-hcl2's grammar takes `$${` and `%%{` only when a `}` closes them
    (ESCAPED_DIRECTIVE: /%%\{[^}]*\}/), while HCL itself reads `%%{` alone as a
    literal `%{`. Strings in that gap are checked against the spec decoder only."""
    for opener in ("${", "%{"):
        start = text.find(opener)
        while start != -1:
            if "}" not in text[start:]:
                return False
            start = text.find(opener, start + 1)
    return True


@given(st.text())
def test_any_string_roundtrips_through_hcl(text):
    encoded = hcl_string(text)
    # HCL's own rules (escapes, $${, %%{), as bake's parser applies them.
    assert decode(encoded) == ((text,) if text else ())
    if parses_with_python_hcl2(text):
        parsed = hcl2.loads(f"x = {encoded}\n")
        assert parsed["x"] == encoded
        assert "".join(decode(parsed["x"])) == text  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["${", "%{", "a${b", "100%{", "$${", "%%{"])
def test_unclosed_template_openers_are_escaped(text):
    assert "".join(decode(hcl_string(text))) == text  # type: ignore[arg-type]


def test_exec_form_is_a_json_array():
    argv = ["python", "-c", 'print("a b")', "ünï"]
    assert json.loads(exec_form(argv)) == argv


@pytest.mark.parametrize(("value", "word"), [("plain", '"plain"'), ('a "b" $C \\d', '"a \\"b\\" \\$C \\\\d"')])
def test_dockerfile_word(value, word):
    assert dockerfile_word(value) == word


def test_dockerfile_word_refuses_line_breaks():
    with pytest.raises(ValueError, match="line breaks"):
        dockerfile_word("a\nb")
