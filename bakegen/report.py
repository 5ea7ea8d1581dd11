"""How `check` reports: plain text, GitHub workflow commands, or JSON.

Each reporter takes the same facts (diagnostics, stale files, warnings)
and returns the text for stdout; the CLI prints it and picks the exit code.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .errors import Diagnostic, format_diagnostics, printable, sort_key
from .render.write import FileStatus

FORMATS = ("text", "github", "json")


def _escape_data(text: str) -> str:
    # GitHub workflow command escaping for the message part.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github(diagnostics: Sequence[Diagnostic], stale: Sequence[FileStatus], warnings: Sequence[str]) -> str:
    lines = []
    for d in sorted(diagnostics, key=sort_key):
        where = f"file={_escape_property(d.file)}"
        if d.line:
            where += f",line={d.line},col={d.column}"
        message = d.message + (f" ({d.hint})" if d.hint else "")
        lines.append(f"::error {where}::{_escape_data(message)}")
    for status in stale:
        what = {"create": "is missing", "update": "is stale or was edited by hand",
                "delete": "is no longer generated"}[status.state]
        lines.append(f"::error file={_escape_property(status.path)},title=bakegen check::"
                     + _escape_data(f"{status.path} {what}; run `bakegen render` and commit the result"))
    for warning in warnings:
        lines.append(f"::warning title=bakegen::{_escape_data(warning)}")
    for status in stale:
        lines.append(_diff(status).rstrip("\n"))
    return "\n".join(lines) + ("\n" if lines else "")


def as_json(diagnostics: Sequence[Diagnostic], stale: Sequence[FileStatus], warnings: Sequence[str]) -> str:
    status = "invalid" if diagnostics else "stale" if stale else "current"
    data = {
        "status": status,
        "errors": [
            {"file": d.file, "line": d.line or None, "column": d.column or None, "message": d.message,
             "hint": d.hint or None}
            for d in sorted(diagnostics, key=sort_key)
        ],
        "files": [{"path": s.path, "state": s.state, "diff": s.diff()} for s in stale],
        "warnings": list(warnings),
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def text(diagnostics: Sequence[Diagnostic], stale: Sequence[FileStatus], warnings: Sequence[str]) -> str:
    if diagnostics:
        return format_diagnostics(list(diagnostics)) + "\n"
    return "".join(_diff(s) for s in stale)


def diff_lines(status: FileStatus) -> list[str]:
    """The lines of the unified diff of `status`, control characters in them (a hand edit's)
    escaped: a lone carriage return would otherwise start a line a CI log reads as a command."""
    lines = status.diff().split("\n")  # at line feeds only: see printable
    if lines[-1] == "":
        lines.pop()
    return [printable(line) for line in lines]


def _diff(status: FileStatus) -> str:
    return "".join(line + "\n" for line in diff_lines(status))
