"""Find the projects in a folder: Python, Go, plain Dockerfiles, compose files.

Read-only and shallow: it reads the files that name a project
(pyproject.toml, go.mod, requirements*.txt, lock files, Dockerfiles) and
nothing they point to. It never follows a symbolic link to a folder (a link
to `.` would find every project again, one to `/` the whole machine), reads
only regular files, each up to a bound (a FIFO named main.go would block,
a link to /dev/zero never end), and skips what it may not read.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..files.read import MIB, is_regular, read_bytes
from ..runtimes.pyproject import detect_manager

SKIP = {"node_modules", "__pycache__", "venv", "dist", "build", "vendor", "testdata", "generated", "site-packages"}
MAX_DEPTH = 5
COMPOSE = re.compile(r"^(docker-)?compose(\.[\w-]+)?\.ya?ml$")
DOCKERFILE = re.compile(r"^(Dockerfile(\.[\w.-]+)?|[\w.-]+\.Dockerfile)$")
# go.mod, pyproject.toml and Go sources are far smaller; a larger one is skipped.
MAX_READ = 4 * MIB


@dataclass
class PythonProject:
    folder: str  # relative to the root, '/'-separated
    manager: str  # uv, poetry or pip
    lock: str | None  # the lock file found, if any
    version: str  # Python version, e.g. "3.12"
    command: list[str] | None
    has_tests: bool
    dockerfiles: list[str] = field(default_factory=list)


@dataclass
class GoProgram:
    folder: str
    module: str
    version: str
    package: str  # "." or "./cmd/NAME"
    lambda_function: bool
    has_tests: bool
    replaces: dict[str, str] = field(default_factory=dict)  # module -> folder relative to the root
    dockerfiles: list[str] = field(default_factory=list)


@dataclass
class DockerfileProject:
    folder: str
    dockerfile: str  # relative to the root


@dataclass
class Found:
    python: list[PythonProject] = field(default_factory=list)
    go: list[GoProgram] = field(default_factory=list)
    dockerfiles: list[DockerfileProject] = field(default_factory=list)
    compose: list[str] = field(default_factory=list)
    bake: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what was seen and why it is not a service


def scan(root: Path) -> Found:
    found = Found()
    root = root.resolve()
    _walk(root, root, 0, found)
    return found


def _rel(root: Path, path: Path) -> str:
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    return "." if rel == "." else rel


def _walk(root: Path, folder: Path, depth: int, found: Found) -> None:
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError:
        return
    names = {p.name for p in entries if is_regular(p)}
    rel = _rel(root, folder)
    dockerfiles = [_rel(root, folder / n) for n in sorted(names) if DOCKERFILE.match(n)]
    found.compose.extend(_rel(root, folder / n) for n in sorted(names) if COMPOSE.match(n))
    found.bake.extend(_rel(root, folder / n) for n in sorted(names) if n in ("docker-bake.hcl", "docker-bake.json"))
    project: Any = None
    if "pyproject.toml" in names or "requirements.txt" in names:
        project = _python(folder, rel, names)
        if project:
            project.dockerfiles = dockerfiles
            found.python.append(project)
    elif "go.mod" in names:
        project = _go(root, folder, rel)
        if project:
            project.dockerfiles = dockerfiles
            found.go.append(project)
        elif _text(folder / "go.mod") is None:
            found.skipped.append(f"{rel}/go.mod: cannot be read (permissions), or larger than "
                                 f"{MAX_READ // MIB} MiB; not scanned")
        else:
            found.skipped.append(f"{rel}/go.mod: a Go library (no `package main`); programs that replace it "
                                 "get it as a named context")
    if project is None and "go.mod" not in names:
        found.dockerfiles.extend(DockerfileProject(rel, d) for d in dockerfiles)
    if project is not None or depth >= MAX_DEPTH:
        return
    for entry in entries:
        if entry.name.startswith(".") or entry.name in SKIP or not _is_dir(entry):
            continue
        if entry.is_symlink():
            found.skipped.append(f"{_rel(root, entry)}: a symbolic link to a folder; not followed (a build "
                                 "context does not follow it either)")
            continue
        _walk(root, entry, depth + 1, found)


def _is_dir(path: Path) -> bool:
    """Whether `path` is a folder (links followed); False for what cannot be looked at."""
    try:
        return path.is_dir()
    except OSError:  # no permission to look
        return False


def _text(path: Path) -> str | None:
    """The text of the regular file at `path`, if it can be read and is not too large."""
    try:
        return read_bytes(path, MAX_READ).decode("utf-8", errors="replace")
    except OSError:
        return None


def _toml(path: Path) -> dict[str, Any]:
    text = _text(path)
    try:
        return tomllib.loads(text) if text is not None else {}
    except tomllib.TOMLDecodeError:
        return {}


def _python(folder: Path, rel: str, names: set[str]) -> PythonProject | None:
    data = _toml(folder / "pyproject.toml") if "pyproject.toml" in names else {}
    poetry = data.get("tool", {}).get("poetry", {})
    project = data.get("project", {})
    manager = detect_manager(folder)
    if manager is None:
        return None
    lock = {"uv": "uv.lock", "poetry": "poetry.lock", "pip": "requirements.txt"}[manager]
    lock = lock if lock in names else None
    spec = str(project.get("requires-python") or poetry.get("dependencies", {}).get("python", ""))
    version = re.search(r"3\.(\d+)", spec)
    scripts = project.get("scripts") or poetry.get("scripts") or {}
    command: list[str] | None = [next(iter(scripts))] if scripts else None
    if command is None:
        packages = sorted(p.name for p in _listing(folder) if _is_dir(p) and is_regular(p / "__main__.py"))
        if packages:
            command = ["python", "-m", packages[0]]
        elif "main.py" in names:
            command = ["python", "main.py"]
    has_tests = _is_dir(folder / "tests") or any(n.startswith("test_") and n.endswith(".py") for n in names)
    return PythonProject(rel, manager, lock, f"3.{version.group(1)}" if version else "3.12", command, has_tests)


def _real(path: Path) -> Path | None:
    """`path` with links followed, if it exists."""
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None


def _listing(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def _go(root: Path, folder: Path, rel: str) -> GoProgram | None:
    text = _text(folder / "go.mod")
    if text is None:
        return None
    module = re.search(r"^module\s+(\S+)", text, re.M)
    version = re.search(r"^go\s+(\d+\.\d+)", text, re.M)
    package = None
    if _has_main(folder):
        package = "."
    elif _is_dir(folder / "cmd"):
        mains = sorted(p.name for p in _listing(folder / "cmd") if _is_dir(p) and not p.is_symlink()
                       and _has_main(p))
        package = f"./cmd/{mains[0]}" if mains else None
    if package is None:
        return None
    replaces = {}
    # A replacement by a folder starts with ./ or ../, or is absolute (Go's rule);
    # one by another module (=> example.com/fork v1.2.3) needs no context.
    for old, new in re.findall(r"^\s*(?:replace\s+)?(\S+)(?:\s+v\S+)?\s+=>\s+(\.{1,2}/\S*|/\S*)\s*$", text, re.M):
        replaces[old] = _rel(root, _real(folder / new) or Path(os.path.normpath(folder / new)))
    return GoProgram(rel, module.group(1) if module else rel, version.group(1) if version else "1.24", package,
                     _is_lambda(text, folder / package), _has_go_tests(folder), replaces)


def _is_lambda(go_mod: str, main: Path) -> bool:
    """An AWS Lambda function: the Go SDK, or a loop over the Lambda Runtime API."""
    if "github.com/aws/aws-lambda-go" in go_mod:
        return True
    return any("AWS_LAMBDA_RUNTIME_API" in (_text(p) or "") for p in _go_files(main))


def _has_go_tests(folder: Path) -> bool:
    """Whether `go test ./...` finds a test file: in any package of the module, not only its root."""
    for dirpath, dirnames, filenames in os.walk(folder):
        # Folders the go tool skips (testdata, _ or . prefixes), vendored code, other modules.
        dirnames[:] = [d for d in dirnames if not d.startswith((".", "_")) and d not in ("testdata", "vendor")
                       and not is_regular(Path(dirpath) / d / "go.mod")]
        if any(name.endswith("_test.go") for name in filenames):
            return True
    return False


def _go_files(folder: Path) -> list[Path]:
    """The Go source files in `folder`: regular files named *.go (a folder may be named x.go)."""
    return sorted(p for p in _listing(folder) if p.name.endswith(".go") and is_regular(p))


def _has_main(folder: Path) -> bool:
    for path in _go_files(folder):
        if path.name.endswith("_test.go"):
            continue
        if re.search(r"^package\s+main\b", _text(path) or "", re.M):
            return True
    return False
