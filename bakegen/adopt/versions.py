"""Which CPython and Go release `init` builds a project with.

The newest release the project allows, never one that is end of life when a
supported one fits. "Supported" is a table, not the clock: bakegen's output
must not change from one day to the next, so the table changes with
bakegen's releases (CPython: devguide.python.org/versions; Go: the two newest
minor releases, go.dev/doc/devel/release).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Newest first. A CPython release joins PYTHON a few months after its .0, once
# wheels for it are common; it moves to PYTHON_EOL at its end of life.
PYTHON = ("3.14", "3.13", "3.12", "3.11")
PYTHON_EOL = ("3.10", "3.9", "3.8", "3.7")
GO = ("1.27", "1.26")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def _clause_allows(clause: str, version: tuple[int, int, int]) -> bool:
    """One comparison of a version specifier (PEP 440, or Poetry's ^ ~ and bare versions)."""
    match = re.fullmatch(r"\s*(===|==|!=|~=|>=|<=|>|<|\^|~)?\s*v?(\d+(?:\.\d+)*)(\.\*)?\s*", clause)
    if not match:
        return True  # a clause this reader does not know restricts nothing it can tell
    op, text, wildcard = match.group(1) or "", match.group(2), bool(match.group(3))
    bound = _version(text)
    padded = bound + (0,) * (3 - len(bound))
    if op in ("", "==", "===") and (wildcard or op == ""):
        # `3.11`, `==3.11.*`: that release and its patches (Poetry reads a bare version so too)
        return version[:len(bound)] == bound
    if op == "!=" and wildcard:
        return version[:len(bound)] != bound
    if op == "^":  # Poetry: the leftmost non-zero part stays
        upper = (bound[0] + 1,) if bound[0] else bound[:2][:-1] + (bound[1] + 1,)
        return padded <= version < upper + (0,) * (3 - len(upper))
    if op == "~":  # Poetry: ~3.10 is >=3.10,<3.11; ~3 is >=3,<4
        upper = (bound[0] + 1,) if len(bound) == 1 else (bound[0], bound[1] + 1)
        return padded <= version < upper + (0,)
    if op == "~=" and len(bound) >= 2:  # PEP 440: ~=3.10 is >=3.10,<4; ~=3.10.2 is >=3.10.2,<3.11
        upper = bound[:-1][:-1] + (bound[:-1][-1] + 1,)
        return padded <= version < upper + (0,) * (3 - len(upper))
    op = ">=" if op == "~=" else op
    comparisons = {"==": version == padded, "!=": version != padded, ">=": version >= padded,
                   "<=": version <= padded, ">": version > padded, "<": version < padded}
    return comparisons.get(op, True)


def allows(spec: str, minor: str) -> bool:
    """Whether the specifier `spec` (">=3.9,<3.13", "^3.10", "~=3.11", "3.12") admits a patch
    release of `minor` ("3.12"); an empty spec admits every release."""
    spec = spec.strip().strip("\"'")
    if not spec or spec == "*":
        return True
    major, minor_number = _version(minor)[:2]
    patches = {0, 99} | {int(p) for p in re.findall(rf"\b{major}\.{minor_number}\.(\d+)", spec)}
    for alternative in spec.split("||"):
        clauses = [c for c in re.split(r",|\s+(?=[<>=!~^])", alternative) if c.strip()]
        if any(all(_clause_allows(c, (major, minor_number, patch)) for c in clauses) for patch in sorted(patches)):
            return True
    return False


def python_version(specs: Iterable[str], pinned: str | None = None,
                   wheels: dict[str, list[str]] | None = None) -> tuple[str, bool]:
    """(CPython minor release, whether it is end of life) for a project.

    `specs`: every constraint the project states (requires-python, Poetry's
    python dependency, the lock file's); `pinned`: its .python-version, which
    wins while it is allowed and supported; `wheels`: the locked packages'
    wheel files, which rule out a release that some package has wheels for,
    but none for it. The newest supported release that fits, else the newest
    end-of-life one that does.
    """
    specs = [s for s in specs if s]
    fitting = [v for v in (*PYTHON, *PYTHON_EOL) if all(allows(s, v) for s in specs)]
    if wheels:
        fitting = [v for v in fitting if all(_has_wheel_for(files, v) for files in wheels.values())] or fitting
    if pinned:
        minor = ".".join(pinned.strip().split(".")[:2])
        if minor in PYTHON and (not fitting or minor in fitting):
            return minor, False
    supported = [v for v in fitting if v in PYTHON]
    if supported:
        return supported[0], False
    if fitting:
        return fitting[0], True
    return PYTHON[0], False


_WHEEL_TAGS = re.compile(r"-(?P<py>[\w.]+)-(?P<abi>[\w.]+)-(?P<plat>[\w.]+)\.whl$")


def _has_wheel_for(files: list[str], minor: str) -> bool:
    """Whether a package's wheels include one CPython `minor` installs (a pure-Python or
    abi3 wheel, or one built for it); a package with no wheels builds from source anyway."""
    if not files:
        return True
    wanted = "cp" + minor.replace(".", "")
    for name in files:
        tags = _WHEEL_TAGS.search(name.rsplit("/", 1)[-1])
        if tags is None:
            continue
        py, abi = tags.group("py").split("."), tags.group("abi").split(".")
        if any(t in ("py3", "py2.py3") or t.startswith("py3") for t in py) or wanted in py:
            return True
        if "abi3" in abi and any(t.startswith("cp3") and int(t[3:] or 0) <= int(wanted[3:]) for t in py):
            return True
    return False


def go_version(line: str | None, toolchain: str | None = None) -> tuple[str, bool]:
    """(Go minor release, whether it was moved up from an end-of-life one) for go.mod's `go`
    line (the oldest Go the module builds with) and `toolchain` line: that release while it is
    supported, or one newer than bakegen knows; else the oldest supported release, which
    builds it too (Go 1 compatibility)."""
    wanted = max((v for v in (line, toolchain) if v), key=_version, default=GO[-1])
    wanted = ".".join(wanted.split(".")[:2])
    if wanted in GO or _version(wanted) > _version(GO[0]):
        return wanted, False
    newer = [v for v in reversed(GO) if _version(v) >= _version(wanted)]
    return newer[0], True
