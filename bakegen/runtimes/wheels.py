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
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..cache import cache_dir

# Bumped when _parse_lock reads more: cached results of an older parser are not reused.
PARSER_VERSION = 2

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

# The C library of an image, read from the distribution its tag names: which
# manylinux (glibc) or musllinux wheels run there. A wheel tagged
# manylinux_2_X needs glibc >= 2.X.
GLIBC_BY_RELEASE = {
    "stretch": (2, 24), "buster": (2, 28), "bullseye": (2, 31), "bookworm": (2, 36), "trixie": (2, 41),
    "debian9": (2, 24), "debian10": (2, 28), "debian11": (2, 31), "debian12": (2, 36), "debian13": (2, 41),
    "bionic": (2, 27), "focal": (2, 31), "jammy": (2, 35), "noble": (2, 39),
    "al2023": (2, 34), "amazonlinux2023": (2, 34), "ubi8": (2, 28), "ubi9": (2, 34),
}
# Official images' tags without a release (python:3.12-slim) follow Debian's current stable,
# bookworm or newer since 2023: its glibc is the floor.
DEFAULT_GLIBC = (2, 36)
# An image we cannot read: the oldest glibc still common in build images.
UNKNOWN_GLIBC = (2, 28)
# uv names targets up to this glibc; newer systems install these wheels too.
UV_NEWEST_GLIBC = 40


@dataclass(frozen=True)
class Libc:
    """The C library wheels must run against: glibc (major, minor), or musl."""

    musl: bool = False
    glibc: tuple[int, int] = UNKNOWN_GLIBC

    @property
    def label(self) -> str:
        return "musl" if self.musl else f"glibc {self.glibc[0]}.{self.glibc[1]}"


def libc_of(image: str | None, glibc: str | None = None) -> Libc:
    """The C library of `image` (a reference like python:3.12-slim-bookworm).

    `glibc` ("2.36") overrides what the reference says, for images whose
    name does not tell.
    """
    if glibc:
        major, minor = glibc.split(".")
        return Libc(glibc=(int(major), int(minor)))
    ref = (image or "").split("@")[0].lower()
    name = ref.rsplit("/", 1)[-1]
    if "alpine" in name or "musl" in name:
        return Libc(musl=True)
    for release, version in GLIBC_BY_RELEASE.items():
        if re.search(rf"(?:^|[^a-z0-9]){release}(?:$|[^a-z0-9])", ref):
            return Libc(glibc=version)
    official = ref.removeprefix("docker.io/").removeprefix("library/")
    if official.split(":")[0] in ("python", "pypy"):
        return Libc(glibc=DEFAULT_GLIBC)
    return Libc(glibc=UNKNOWN_GLIBC)


def floor(*libcs: Libc) -> Libc:
    """The libc every image of `libcs` satisfies (wheels installed once, used in all)."""
    if any(libc.musl for libc in libcs):
        return Libc(musl=True)
    return Libc(glibc=min(libc.glibc for libc in libcs))


def normalise(platform: str) -> str:
    """The platform as BuildKit's TARGETPLATFORM spells it (arm64/v8 -> arm64)."""
    if platform == "linux/arm64/v8":
        return "linux/arm64"
    if platform.startswith("linux/amd64/"):
        return "linux/amd64"  # wheels do not distinguish x86-64 levels
    return platform


def cross_installable(platform: str) -> bool:
    return normalise(platform) in WHEEL_ARCH


_UV_GNU = {"armv7l": "armv7-unknown-linux-gnueabihf", "armv6l": "armv7-unknown-linux-gnueabihf",
           "i686": "i686-unknown-linux-gnu", "ppc64le": "powerpc64le-unknown-linux-gnu",
           "s390x": "s390x-unknown-linux-gnu", "riscv64": "riscv64gc-unknown-linux-gnu"}


def uv_platform(platform: str, libc: Libc = Libc()) -> str:
    """Value of `uv pip install --python-platform` for `platform`.

    uv reads manylinux_2_X as "glibc 2.X": every older manylinux tag installs too.
    """
    arch = WHEEL_ARCH[normalise(platform)]
    if arch in ("x86_64", "aarch64"):
        if libc.musl:
            return f"{arch}-unknown-linux-musl"
        return f"{arch}-manylinux_2_{min(libc.glibc[1], UV_NEWEST_GLIBC)}"
    return _UV_GNU[arch]


def pip_platforms(platform: str, libc: Libc = Libc()) -> list[str]:
    """Every `pip install --platform` tag that runs on `platform` with `libc`, newest first.

    pip matches a --platform value exactly, so one manylinux tag would miss
    the wheels built for an older glibc (most of PyPI is manylinux2014).
    """
    arch = WHEEL_ARCH[normalise(platform)]
    if libc.musl:
        return [f"musllinux_1_{minor}_{arch}" for minor in (2, 1)]
    # PyPI's wheels for glibc older than 2.17 carry the legacy aliases
    # (manylinux2010, manylinux1), which pip adds to manylinux2014 itself.
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(libc.glibc[1], 16, -1)]
    return tags + [f"manylinux2014_{arch}"] if libc.glibc >= (2, 17) else tags


_WHEEL = re.compile(r"^(?P<name>.+?)-(?P<ver>[^-]+)(-\d[^-]*)?-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$")


def wheel_fits(filename: str, platform: str, libc: Libc = Libc()) -> bool:
    """Whether the wheel `filename` installs on Linux `platform` with `libc`."""
    match = _WHEEL.match(filename.rsplit("/", 1)[-1])
    if not match:
        return False
    arch = WHEEL_ARCH.get(normalise(platform))
    if arch is None:
        return "any" in match.group("plat").split(".")
    accepted = set(pip_platforms(platform, libc))
    if not libc.musl:
        accepted |= {f"manylinux2010_{arch}", f"manylinux1_{arch}"}
    return any(tag == "any" or tag in accepted for tag in match.group("plat").split("."))


def lock_files(lock: Path) -> dict[str, list[str]] | None:
    """Package name -> wheel file names, from uv.lock or poetry.lock; None if unreadable.

    Parsing a lock file costs more than the rest of a render, so the result
    is kept per content hash, in memory and in the user's cache folder.
    """
    from ..files.project import MAX_TOML
    from ..files.read import read_bytes

    try:
        raw = read_bytes(lock, MAX_TOML)  # a regular file, bounded: never a pipe or a device
    except OSError:
        return None
    return _lock_files(lock.name, hashlib.sha256(raw).hexdigest(), raw)


@cache
def _lock_files(kind: str, digest: str, raw: bytes) -> dict[str, list[str]] | None:
    folder = cache_dir("locks")
    # The parser's version is in the name: a result of an older parser is not reused.
    cached = folder / f"{kind}-{PARSER_VERSION}-{digest}.json" if folder else None
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
    metadata_files = (data.get("metadata") or {}).get("files") or {}
    legacy = {**metadata_files, **{_normalise(k): v for k, v in metadata_files.items()}}
    for package in data.get("package", []):
        source = package.get("source", {})
        if kind == "uv.lock":
            if not ({"registry", "url"} & set(source)):
                continue
            files = [w.get("url", w.get("path", "")) for w in package.get("wheels", [])]
        else:
            if source.get("type") in ("directory", "git", "file"):
                continue
            listed = package.get("files")
            if listed is None:  # Poetry 1.0 and 1.1 list the files in [metadata.files]
                listed = legacy.get(package["name"]) or legacy.get(_normalise(package["name"])) or []
            files = [f.get("file", "") for f in listed]
        out[package["name"]] = [f for f in files if f.endswith(".whl")]
    return out


def _normalise(name: str) -> str:
    """A package name as PEP 503 compares them: lowercase, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def missing_wheels(lock: Path, platforms: tuple[str, ...], libc: Libc = Libc()) -> dict[str, list[str]] | None:
    """Per platform, the locked packages with no wheel for it and `libc`; None when unknown."""
    packages = lock_files(lock) if lock.is_file() else None
    if packages is None:
        return None
    return {
        p: sorted(name for name, files in packages.items() if not any(wheel_fits(f, p, libc) for f in files))
        for p in platforms
    }
