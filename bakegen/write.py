"""Compare rendered files with the disk, and write the ones that changed.

Writes are atomic: each file is written to a temporary file in its own
folder and renamed over the old one, so readers (and an interrupted run)
see either the old file or the new one, never half of either.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileStatus:
    path: str  # relative to the project folder
    state: str  # "create", "update" or "unchanged"
    old: str | None
    new: str

    def diff(self) -> str:
        old_lines = (self.old or "").splitlines(keepends=True)
        new_lines = self.new.splitlines(keepends=True)
        return "".join(difflib.unified_diff(
            old_lines, new_lines,
            fromfile=f"a/{self.path}" if self.old is not None else "/dev/null",
            tofile=f"b/{self.path}",
        ))


def compare(project_dir: Path, files: dict[str, str]) -> list[FileStatus]:
    """The state of each rendered file relative to what is on disk."""
    out = []
    for rel, text in files.items():
        old = _read(project_dir / rel)
        if old is None:
            state = "create"
        elif old == text:
            state = "unchanged"
        else:
            state = "update"
        out.append(FileStatus(rel, state, old, text))
    return out


def _read(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def write(project_dir: Path, statuses: list[FileStatus]) -> None:
    """Write every created or updated file atomically; leave unchanged ones alone."""
    for status in statuses:
        if status.state != "unchanged":
            atomic_write(project_dir / status.path, status.new)


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; generated files are ordinary, shared files.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
