"""Write a Draft as commented YAML that bakegen's own loader reads back.

A small writer rather than a round-trip dump: it decides the layout
(blank lines between sections and services, short lists in flow style,
comments above keys) and quotes a string whenever a plain scalar could
mean something else, so the text is deterministic and easy to review.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import printable
from .draft import Draft, Key

# Plain scalars that YAML reads back as the same string; anything else is
# written as a JSON string, which is a valid YAML double-quoted scalar.
_PLAIN = re.compile(r"^[A-Za-z0-9_./$][A-Za-z0-9_./:@+=$-]*(?: [A-Za-z0-9_./:@+=$-]+)*$")
_NOT_STRINGS = re.compile(
    r"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
    r"|0[xob][0-9a-fA-F_]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|[yYnN]|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$")
FLOW_WIDTH = 100


def scalar(value: Any, flow: bool = False) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    text = str(value)
    # fullmatch: `$` alone would accept a trailing line break.
    plain = _PLAIN.fullmatch(text) and not _NOT_STRINGS.fullmatch(text) and ": " not in text and not text.endswith(":")
    if plain and (not flow or " " not in text):
        return text
    return _UNPRINTABLE.sub(_escape, json.dumps(text, ensure_ascii=False))


# Characters YAML does not allow in a file, even quoted, and line breaks other
# than \n: written as escapes inside the double-quoted scalar.
_UNPRINTABLE = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _flow(value: Any) -> str | None:
    """`value` on one line, if it is a short list or mapping of scalars."""
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        text = "[" + ", ".join(scalar(v, flow=True) for v in value) + "]"
    elif isinstance(value, dict) and not value:
        text = "{}"
    else:
        return None
    return text if len(text) <= FLOW_WIDTH else None


def _comment_lines(lines: list[str], indent: str) -> list[str]:
    """Comment lines, each one line whatever it quotes (a folder named with a line break)."""
    return [f"{indent}# {printable(line)}".rstrip() for line in lines]


class _Writer:
    def __init__(self, draft: Draft) -> None:
        self.d = draft
        self.out: list[str] = []

    def mapping(self, data: dict[str, Any], path: Key, depth: int) -> None:
        indent = "  " * depth
        for i, (key, value) in enumerate(data.items()):
            here = (*path, key)
            # Sections and services are easier to scan with space between them.
            if i and (depth == 0 or path == ("services",)):
                self.out.append("")
            self.out.extend(_comment_lines(self.d.comments.get(here, []), indent))
            if path == ("services",):
                notes = [n for n in self.d.sorted_notes() if n.service == key]
                if notes:
                    self.out.append(f"{indent}# Not imported:")
                    self.out.extend(_comment_lines([f"  {n.format()}" for n in notes], indent))
            self.entry(scalar(key), value, here, depth)
        self.out.extend(_comment_lines(self.d.trailing.get(path, []), indent))

    def entry(self, key: str, value: Any, path: Key, depth: int) -> None:
        indent = "  " * depth
        if value is None:
            # An empty stage reads best as `development:`; a null target says what it means.
            self.out.append(f"{indent}{key}: null" if len(path) >= 2 and path[-2] == "targets" else f"{indent}{key}:")
            return
        flow = _flow(value)
        if flow is not None and not (isinstance(value, dict) and self.d.trailing.get(path)):
            self.out.append(f"{indent}{key}: {flow}")
        elif isinstance(value, dict):
            self.out.append(f"{indent}{key}:")
            self.mapping(value, path, depth + 1)
        elif isinstance(value, list):
            self.out.append(f"{indent}{key}:")
            for item in value:
                if isinstance(item, dict | list):
                    raise TypeError("lists of mappings are not written here")
                self.out.append(f"{indent}  - {scalar(item)}")
        else:
            self.out.append(f"{indent}{key}: {scalar(value)}")


def emit(draft: Draft) -> str:
    """The matrix file's text for `draft`.

    Raises AssertionError (a bug) if the text does not read back as the draft's data.
    """
    w = _Writer(draft)
    w.out.extend(_comment_lines(draft.header, ""))
    general = [n for n in draft.sorted_notes() if n.service is None or n.service not in draft.data.get("services", {})]
    if general:
        w.out.append("#")
        w.out.append("# Not imported:")
        w.out.extend(_comment_lines([f"  {n.format()}" for n in general], ""))
    if w.out:
        w.out.append("")
    w.mapping(draft.data, (), 0)
    text = "\n".join(w.out) + "\n"
    _check_reads_back(text, draft.data)
    return text


def _check_reads_back(text: str, data: dict[str, Any]) -> None:
    from ..model.source import parse

    assert parse(text, "matrix.yaml").data == data, "emit wrote YAML that reads back differently"
