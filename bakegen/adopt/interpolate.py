"""Compose-style variable interpolation, as if no variable were set.

Compose reads `${VAR:-default}` from the environment of whoever runs it.
An import must not depend on the importing shell, so every variable is
taken as unset: `${VAR:-x}` and `${VAR-x}` are their default (itself
interpolated, so `${A:-${B:-x}}` is `x`), `${VAR}`, `$VAR`, `${VAR:+x}` and
`${VAR+x}` are empty, as compose makes them, and each substitution is
reported so the user sees what was assumed. `${VAR:?message}` and
`${VAR?message}` are different: compose refuses to run without VAR, so its
value is unknown, never the empty string. They are returned as Required,
and the caller decides what stands in for them (a bake variable, or an
edit that asks for the value). `$$` is a literal `$`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


@dataclass(frozen=True)
class Required:
    """A variable compose requires (`${NAME:?message}`): no value can be assumed."""

    name: str
    written: str  # as the file writes it, e.g. ${REGISTRY:?set REGISTRY}
    message: str  # compose's error message, interpolated


def interpolate(text: str, hole: Callable[[Required], str] | None = None) -> tuple[str, list[str], list[Required]]:
    """(text with every variable unset, one remark per substitution, the required variables).

    A required variable becomes `hole(it)` in the text (default: nothing);
    it gets no remark here.
    """
    remarks: list[str] = []
    required: list[Required] = []
    out = _expand(text, hole or (lambda _: ""), remarks, required)
    return out, remarks, required


def has_variables(text: str) -> bool:
    """Whether `text` names a variable compose would substitute."""
    _, remarks, required = interpolate(text)
    return bool(remarks or required)


def _closing(text: str, start: int) -> int:
    """Index of the `}` that closes the `${` at `start`, counting nested `${`; -1 if none."""
    depth = 0
    i = start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _expand(text: str, hole: Callable[[Required], str], remarks: list[str], required: list[Required]) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "$":
            out.append(char)
            i += 1
            continue
        if text.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        bare = _NAME.match(text, i + 1)
        if bare:
            remarks.append(f"`${bare.group(0)}` taken as the empty string (its default; the environment is not read)")
            i = bare.end()
            continue
        close = _closing(text, i) if text.startswith("${", i) else -1
        if close < 0:
            out.append(char)  # not a variable: compose would refuse it; kept as written
            i += 1
            continue
        whole, body = text[i:close + 1], text[i + 2:close]
        out.append(_substitute(whole, body, hole, remarks, required))
        i = close + 1
    return "".join(out)


def _substitute(whole: str, body: str, hole: Callable[[Required], str], remarks: list[str],
                required: list[Required]) -> str:
    name = _NAME.match(body)
    rest = body[name.end():] if name else body
    op = next((o for o in _OPERATORS if rest.startswith(o)), None)
    if name is None or (rest and op is None):
        return whole  # not a variable compose reads: kept as written
    # What follows the operator is interpolated too; only its required variables count.
    before = len(required)
    arg = _expand(rest[len(op):], hole, [], required) if op else ""
    if op in (":?", "?"):
        found = Required(name.group(0), whole, arg)
        required.append(found)
        return hole(found)
    value = arg if op in (":-", "-") else ""
    if len(required) > before:
        return value  # a default that is itself required: said as Required
    shown = f"'{value}'" if value else "the empty string"
    remarks.append(f"`{whole}` taken as {shown} (its default; the environment is not read)")
    return value
