"""Compose-style variable interpolation, with defaults only.

Compose reads `${VAR:-default}` from the environment of whoever runs it.
An import must not depend on the importing shell, so every variable takes
its default (or the empty string, as compose does for an unset variable),
and each substitution is reported so the user sees what was assumed.
"""

from __future__ import annotations

import re

_VAR = re.compile(r"\$(?:\$|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
                  r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


def interpolate(text: str) -> tuple[str, list[str]]:
    """(text with variables replaced by their defaults, one remark per variable)."""
    remarks: list[str] = []

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "$$":
            return "$"
        name = match.group("braced") or match.group("bare")
        op, arg = match.group("op") or "", match.group("arg") or ""
        value = arg if op in (":-", "-") else ""
        shown = f"'{value}'" if value else "the empty string"
        remarks.append(f"`{whole}` taken as {shown} (its default; the environment is not read)")
        return value

    return _VAR.sub(replace, text), remarks


def has_variables(text: str) -> bool:
    return any(m.group(0) != "$$" for m in _VAR.finditer(text))
