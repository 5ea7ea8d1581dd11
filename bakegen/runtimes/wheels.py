"""Which target platforms a Python service can install for without emulation.

A builder running on the build machine's platform can install dependencies
for another platform only from wheels built for it. Lock files list every
file of every locked package; this reads them and reports, per platform,
the packages with no usable wheel. Without a lock file nothing is known.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from functools import cache
from pathlib import Path

from ..cache import cache_dir

# Architecture names in wheel platform tags, per Docker platform.
WHEEL_ARCH = {
    "linux/amd64": "x86_64",
    "linux/arm64": "aarch64",
    "linux/arm/v7": "armv7l",
    "linux/arm/v6": "armv6l",
    "linux/386": "i686",
    "linux/ppc64le": "ppc64le",
    "linux/s390x": "s390x",
    "linux/riscv64": "riscv64",
}

# The glibc baseline assumed for manylinux wheels: Debian 11 and later
# (python:*-slim images) have glibc >= 2.28.
MANYLINUX = "manylinux_2_28"


def normalise(platform: str) -> str:
    """The platform as BuildKit's TARGETPLATFORM spells it (arm64/v8 -> arm64)."""
    if platform == "linux/arm64/v8":
        return "linux/arm64"
    if platform.startswith("linux/amd64/"):
        return "linux/amd64"  # wheels do not distinguish x86-64 levels
    return platform


def cross_installable(platform: str) -> bool:
    return normalise(platform) in WHEEL_ARCH


def uv_platform(platform: str) -> str:
    """Value of `uv pip install --python-platform` for `platform`."""
    arch = WHEEL_ARCH[normalise(platform)]
    if arch in ("x86_64", "aarch64"):
        return f"{arch}-{MANYLINUX}"
    gnu = {"armv7l": "armv7-unknown-linux-gnueabihf", "armv6l": "armv7-unknown-linux-gnueabihf",
           "i686": "i686-unknown-linux-gnu", "ppc64le": "powerpc64le-unknown-linux-gnu",
           "s390x": "s390x-unknown-linux-gnu", "riscv64": "riscv64gc-unknown-linux-gnu"}
    return gnu[arch]


def pip_platform(platform: str) -> str:
    """Value of `pip install --platform` for `platform` (pip adds the older manylinux tags)."""
    return f"{MANYLINUX}_{WHEEL_ARCH[normalise(platform)]}"


_WHEEL = re.compile(r"^(?P<name>.+?)-(?P<ver>[^-]+)(-\d[^-]*)?-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$")


def wheel_fits(filename: str, platform: str) -> bool:
    """Whether the wheel `filename` installs on glibc Linux `platform`."""
    match = _WHEEL.match(filename.rsplit("/", 1)[-1])
    if not match:
        return False
    arch = WHEEL_ARCH.get(normalise(platform))
    for tag in match.group("plat").split("."):
        if tag == "any":
            return True
        if arch and tag.endswith(f"_{arch}") and tag.startswith(("manylinux", "linux")):
            return True
    return False


def lock_files(lock: Path) -> dict[str, list[str]] | None:
    """Package name -> wheel file names, from uv.lock or poetry.lock; None if unreadable.

    Parsing a lock file costs more than the rest of a render, so the result
    is kept per content hash, in memory and in the user's cache folder.
    """
    try:
        raw = lock.read_bytes()
    except OSError:
        return None
    return _lock_files(lock.name, hashlib.sha256(raw).hexdigest(), raw)


@cache
def _lock_files(kind: str, digest: str, raw: bytes) -> dict[str, list[str]] | None:
    folder = cache_dir("locks")
    cached = folder / f"{kind}-{digest}.json" if folder else None
    try:
        return json.loads(cached.read_text(encoding="utf-8"))  # type: ignore[union-attr]
    except (OSError, ValueError, AttributeError):
        pass
    result = _parse_lock(kind, raw)
    if result is not None and cached is not None:
        try:
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(result), encoding="utf-8")
            os.replace(tmp, cached)
        except OSError:
            pass  # a cache that cannot be written is skipped
    return result


def _parse_lock(kind: str, raw: bytes) -> dict[str, list[str]] | None:
    """Package name -> wheel file names, parsed from the lock file's TOML.

    Packages that come from a folder, a git repository or the project itself
    are the user's own code and left out: they are built from source, which
    is the same on every platform for pure-Python code.
    """
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    out: dict[str, list[str]] = {}
    for package in data.get("package", []):
        source = package.get("source", {})
        if kind == "uv.lock":
            if not ({"registry", "url"} & set(source)):
                continue
            files = [w.get("url", w.get("path", "")) for w in package.get("wheels", [])]
        else:
            if source.get("type") in ("directory", "git", "file"):
                continue
            files = [f.get("file", "") for f in package.get("files", [])]
        out[package["name"]] = [f for f in files if f.endswith(".whl")]
    return out


def missing_wheels(lock: Path, platforms: tuple[str, ...]) -> dict[str, list[str]] | None:
    """Per platform, the locked packages with no wheel for it; None when unknown."""
    packages = lock_files(lock) if lock.is_file() else None
    if packages is None:
        return None
    return {
        p: sorted(name for name, files in packages.items() if not any(wheel_fits(f, p) for f in files))
        for p in platforms
    }
