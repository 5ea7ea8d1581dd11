"""Errors as data: every user mistake is a located Diagnostic.

A Diagnostic is created where the mistake is found, carrying either a
position (YAML syntax errors) or a path into the document (schema and
cross-reference errors). `source.Positions.locate` turns paths into
positions in one place, and `format_diagnostics` prints them in one place.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

Path = tuple[str | int, ...]

# What must not reach a terminal or CI log raw: control characters (a line
# break would start a line of the reader's choosing, `::error ...` in GitHub
# Actions), Unicode line and paragraph separators, and lone surrogates (an
# undecodable byte in a file name, which no output can encode). Tabs stay.
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` with every control character written as an escape (`\\n`, `\\x1b`): one line stays one line."""
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)


@dataclass(frozen=True)
class Diagnostic:
    """One problem a user can fix: where it is, what is wrong, what to do."""

    message: str
    path: Path = ()
    file: str = ""
    line: int = 0  # 1-based; 0 means "whole file"
    column: int = 0  # 1-based
    hint: str = ""

    def at(self, file: str, line: int, column: int) -> Diagnostic:
        return replace(self, file=file, line=line, column=column)

    def format(self) -> str:
        """`FILE:LINE:COLUMN: message`, and the hint on a line of its own; values from the
        user's files are escaped (see `printable`), so each part is one line."""
        where = printable(self.file)
        if self.line:
            where = f"{where}:{self.line}:{self.column}"
        text = f"{where}: {printable(self.message)}"
        if self.hint:
            text += f"\n  hint: {printable(self.hint)}"
        return text


@dataclass
class BakegenError(Exception):
    """Raised for mistakes in user input; carries every diagnostic found.

    The CLI prints them and exits with status 2. Anything else that escapes
    is a bug in bakegen, reported differently.
    """

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __str__(self) -> str:
        return format_diagnostics(self.diagnostics)


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    return (d.file, d.line, d.column, d.message)


def format_diagnostics(diagnostics: list[Diagnostic], limit: int = 100) -> str:
    """All diagnostics in file order, one block each, capped at `limit`."""
    ordered = sorted(diagnostics, key=sort_key)
    lines = [d.format() for d in ordered[:limit]]
    if len(ordered) > limit:
        lines.append(f"... and {len(ordered) - limit} more errors (showing the first {limit})")
    return "\n".join(lines)


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A hint for a name that is not one of `choices`: the closest one, else all of them."""
    choices = list(choices)
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return ("defined: " + ", ".join(choices)) if choices else ""
