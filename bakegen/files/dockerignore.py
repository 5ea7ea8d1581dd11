""".dockerignore patterns, matched as BuildKit matches them, to see what a build is sent.

Patterns are '/'-separated paths relative to the context; `*`, `?` and
`[...]` match within one path segment, `**` any number of segments, a
leading `!` takes back what earlier patterns excluded, and the last pattern
that matches decides. A folder that is excluded excludes what it holds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from functools import cache, lru_cache
from pathlib import Path

# Names that say a file holds a secret. Environment files are excluded by
# default; these are reported when a build context would send them.
SECRET_NAMES = re.compile(
    r"(?i)^(?:.*\.(?:pem|key|p12|pfx|jks|kdbx|keystore)|id_(?:rsa|dsa|ecdsa|ed25519)|\.netrc|\.pypirc|\.npmrc"
    r"|\.git-credentials|credentials(?:\.json)?|secrets?\..*|service[-_]?account.*\.json)$")
# At most this many files are looked at per context: enough for any app, and
# a render stays fast on a context that holds a data folder by mistake.
MAX_FILES = 20_000


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:end].replace("\\", "\\\\")
                out.append("[" + ("^" + body[1:] if body.startswith("^") else body) + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + "$")


def _clean(pattern: str) -> str:
    return os.path.normpath(pattern.strip()).replace(os.sep, "/").lstrip("/")


class Matcher:
    def __init__(self, patterns: Sequence[str]) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in patterns:
            raw = raw.strip()
            if not raw or raw.startswith("#"):
                continue
            negate = raw.startswith("!")
            self.rules.append((negate, _regex(_clean(raw[1:] if negate else raw))))

    def excluded(self, path: str) -> bool:
        """Whether the '/'-separated `path` (relative to the context) is left out."""
        parts = path.split("/")
        result = False
        # A path is excluded when it, or a folder holding it, matches last.
        for negate, regex in self.rules:
            if any(regex.match("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
                result = not negate
        return result

    def taken_back(self, path: str) -> bool:
        """Whether a `!` pattern names `path`: the user asked for it explicitly."""
        return any(negate and regex.match(path) for negate, regex in self.rules)


def sent_files(context: Path, patterns: Sequence[str]) -> Iterator[str]:
    """Files of `context` a build is sent, '/'-separated and relative, up to MAX_FILES looked at."""
    matcher = Matcher(patterns)
    seen = 0
    for folder, dirs, files in os.walk(context):
        rel_folder = os.path.relpath(folder, context).replace(os.sep, "/")
        prefix = "" if rel_folder == "." else rel_folder + "/"
        # An excluded folder is skipped unless a `!` pattern may take something inside it back.
        dirs[:] = sorted(d for d in dirs if not matcher.excluded(prefix + d)
                         or any(n for n, _ in matcher.rules))
        for name in sorted(files):
            seen += 1
            if seen > MAX_FILES:
                return
            path = prefix + name
            if not matcher.excluded(path):
                yield path


def secret_names(sent: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """Of the files a build is `sent`, those whose names say they hold secrets (not taken back by `!`)."""
    return list(_secret_names(tuple(sent), tuple(patterns)))


@lru_cache(maxsize=256)
def _secret_names(sent: tuple[str, ...], patterns: tuple[str, ...]) -> tuple[str, ...]:
    # Services that share a context ask this with the same files and patterns.
    matcher = Matcher(patterns)
    return tuple(p for p in sent if SECRET_NAMES.match(p.rsplit("/", 1)[-1]) and not matcher.taken_back(p))
