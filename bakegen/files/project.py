"""The project's files as one run of the compiler reads them: each read once.

A thousand services may share one build context: its pyproject.toml, its
lock file and the list of files it sends are then the same for all of them.
`ProjectFiles` keeps what was read (and what was derived from it) for the
length of one resolve, so every fact is read from disk once, and no later
stage reads a file at all.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from . import dockerignore

T = TypeVar("T")

# pyproject.toml, lock and requirements files larger than this are refused,
# not parsed: real ones are a few hundred KiB, and 24 MB of TOML takes minutes.
MAX_TOML = 16 * 1024 * 1024


class ProjectFiles:
    """Reads below `root`, each at most once; derived facts kept by key (`memo`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._memo: dict[Hashable, Any] = {}

    def memo(self, key: Hashable, make: Callable[[], T]) -> T:
        """`make()`, computed once per `key` for this run."""
        try:
            return self._memo[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self._memo[key] = make()
            return value

    def is_file(self, path: Path) -> bool:
        return self.memo(("is_file", path), path.is_file)

    def toml(self, path: Path) -> tuple[dict[str, Any], str | None]:
        """The TOML document at `path` ({} if there is none) and a problem reading it, or None."""
        return self.memo(("toml", path), lambda: read_toml(path))

    def text(self, path: Path) -> str | None:
        """The text of the file at `path` (undecodable bytes replaced), None if it cannot be read."""
        def read() -> str | None:
            from .read import read_bytes

            try:
                return read_bytes(path, MAX_TOML).decode("utf-8", errors="replace")
            except (OSError, ValueError):
                return None
        return self.memo(("text", path), read)

    def sent(self, context: str, patterns: Sequence[str]) -> tuple[str, ...]:
        """The files of project folder `context` a build is sent with ignore `patterns`, sorted."""
        key = ("sent", context, tuple(patterns))
        return self.memo(key, lambda: tuple(sorted(dockerignore.sent_files(self.root / context, patterns))))


def read_toml(path: Path) -> tuple[dict[str, Any], str | None]:
    """A TOML file as data, and why it could not be read (None when it could, or is absent)."""
    from .read import FileTooLarge, NotRegularFile, read_bytes

    try:
        raw = read_bytes(path, MAX_TOML)
    except FileNotFoundError:
        return {}, None
    except FileTooLarge as exc:
        return {}, f"{path.name} is {exc.size:,} bytes; bakegen reads at most {exc.limit:,}"
    except NotRegularFile:
        return {}, f"{path.name} is not a regular file"
    except OSError as exc:
        return {}, f"{path.name} cannot be read: {exc.strerror or exc}"
    try:
        return tomllib.loads(raw.decode("utf-8")), None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, f"{path.name} cannot be read: {exc}"
