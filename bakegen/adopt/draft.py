"""The matrix being written by init or import: data, comments and notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model.source import Span

Key = tuple[str, ...]


@dataclass(frozen=True)
class Note:
    """An item of the source that the matrix does not carry, and where it was."""

    message: str
    file: str = ""
    line: int = 0  # 1-based; 0: the whole file
    service: str | None = None  # the matrix service it belongs to, if any
    column: int = 0  # 1-based; 0: unknown

    def format(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        where += f":{self.column}" if self.line and self.column else ""
        return f"{where}: {self.message}" if where else self.message


@dataclass(frozen=True)
class Edit:
    """A change only the user can make, before the matrix renders.

    `dockerfile` and `covers` say what `bakegen validate` would report as a
    consequence (its errors at services.NAME.KEY, KEY in `covers`, for a
    service built from `dockerfile`), so the user reads each problem once.
    """

    message: str
    dockerfile: str = ""
    covers: tuple[str, ...] = ()


@dataclass
class Draft:
    """A matrix as plain data (dicts in the order they are written), plus

    - `comments`: lines written above the key at that path (without '# ');
    - `trailing`: commented-out lines written at the end of a mapping, for
      keys the user may add (a deploy target to choose, a compose command
      that a user Dockerfile decides);
    - `notes`: what was not imported, listed to the user and in the file;
    - `edits`: what the user must change before the matrix renders.
    """

    data: dict[str, Any] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)
    comments: dict[Key, list[str]] = field(default_factory=dict)
    trailing: dict[Key, list[str]] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    _asked: set[str] = field(default_factory=set, repr=False)

    def comment(self, key: Key, *lines: str) -> None:
        self.comments.setdefault(key, []).extend(lines)

    def trail(self, key: Key, *lines: str) -> None:
        self.trailing.setdefault(key, []).extend(lines)

    def edit(self, message: str, dockerfile: str = "", covers: tuple[str, ...] = (), once: str = "") -> bool:
        """Ask the user for a change, once: a second edit with the same `once` key (default:
        the same message) is the same change, asked for from another place. True if new."""
        key = once or message
        if key in self._asked:
            return False
        self._asked.add(key)
        self.edits.append(Edit(message, dockerfile, covers))
        return True

    def sorted_notes(self) -> list[Note]:
        """Notes in reading order: by file (in the order files were read), then line."""
        files = list(dict.fromkeys(n.file for n in self.notes))
        return sorted(self.notes, key=lambda n: (files.index(n.file), n.line, n.column))

    def note(self, message: str, file: str = "", line: int | Span = 0, service: str | None = None) -> None:
        """Record what was not imported; `line` may be a Span, which gives the column too."""
        if isinstance(line, Span):
            self.notes.append(Note(message, file, line.line, service, line.column))
        else:
            self.notes.append(Note(message, file, line, service))
