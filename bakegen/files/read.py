"""Reading a file a user controls: a regular file only, up to a bound, never waiting.

Every input bakegen reads (the matrix, compose and bake files, pyproject.toml,
go.mod and Go sources, Dockerfiles, the files it generated before) comes
through `read_bytes`. A FIFO would block the read forever, /dev/zero (or a
link to it) never ends, and a file of hundreds of megabytes would take
minutes to parse: so the file is opened without blocking, checked on that
open descriptor (no race with a rename), and read no further than its bound.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ..errors import BakegenError, Diagnostic

MIB = 1024 * 1024


class NotRegularFile(OSError):
    """A pipe, socket or device where a file was expected."""


class FileTooLarge(OSError):
    def __init__(self, path: str, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"{size:,} bytes, more than {limit:,}", path)
        self.size = size
        self.limit = limit


def read_bytes(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of the regular file at `path` (links followed), at most `limit` of them.

    Raises FileNotFoundError, IsADirectoryError, NotADirectoryError,
    NotRegularFile, FileTooLarge, or another OSError (PermissionError, a
    symbolic link loop); never blocks on a pipe or reads a device.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno in (errno.ENXIO, errno.EOPNOTSUPP):  # a socket, or a FIFO/device that refuses
            raise NotRegularFile(exc.errno, "not a regular file", str(path)) from None
        raise
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file", str(path))
        if info.st_size > limit:
            raise FileTooLarge(str(path), info.st_size, limit)
        chunks = []
        left = limit + 1  # one byte more tells a file that grew since fstat
        while left > 0:
            chunk = os.read(fd, min(left, MIB))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            raise FileTooLarge(str(path), len(data), limit)
        return data
    finally:
        os.close(fd)


def is_regular(path: str | os.PathLike[str]) -> bool:
    """Whether `path` is a regular file (links followed), without opening it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def problem(exc: OSError, what: str = "file") -> tuple[str, str]:
    """(message, hint) for a file `read_bytes` could not read; `what` names it ("bake file")."""
    if isinstance(exc, FileTooLarge):
        return (f"the file is {exc.size:,} bytes; bakegen reads {what}s of at most {exc.limit:,} "
                f"({_size(exc.limit)})", f"a {what} is far smaller; check that this is the right file")
    if isinstance(exc, NotRegularFile):
        return "not a regular file (a pipe, socket or device)", f"pass the {what} itself"
    if isinstance(exc, IsADirectoryError):
        return f"is a folder, not a {what}", f"pass the {what} itself"
    if isinstance(exc, FileNotFoundError):
        return f"{what} not found", "check the path"
    if isinstance(exc, NotADirectoryError):
        return "a part of this path is a file, not a folder", "check the path"
    if exc.errno == errno.ELOOP:
        return "is a symbolic link that leads to itself (a loop)", "remove the link, or point it at a file"
    return f"cannot read the file: {exc.strerror or exc}", "check the file's permissions"


def _size(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit >= MIB else f"{limit // 1024} KiB"


def decode(raw: bytes, display: str, hint: str = "save the file as UTF-8") -> str:
    """`raw` as UTF-8 text (a leading byte order mark dropped), else a BakegenError at the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise BakegenError([Diagnostic(f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                                       file=display, line=line, column=column, hint=hint)]) from None


def read_text(path: Path, display: str, limit: int, what: str = "file") -> str:
    """The UTF-8 text of the file at `path`, else a BakegenError naming `display` and what to do."""
    try:
        raw = read_bytes(path, limit)
    except OSError as exc:
        message, hint = problem(exc, what)
        raise BakegenError([Diagnostic(message, file=display, hint=hint)]) from None
    return decode(raw, display, hint=f"save {Path(display).name} as UTF-8")
