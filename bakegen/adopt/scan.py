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
from ..runtimes.wheels import lock_files
from .versions import python_version

SKIP = {"node_modules", "__pycache__", "venv", "dist", "build", "vendor", "testdata", "generated", "site-packages"}
MAX_DEPTH = 5
COMPOSE = re.compile(r"^(docker-)?compose(\.[\w-]+)?\.ya?ml$")
# The files `docker compose` reads on its own, in its order of preference
# (compose-go's DefaultFileNames and DefaultOverrideFileNames): the first base
# file found, then the first override file beside it. Any other file is read
# only when named with -f.
COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILES = ("compose.override.yml", "compose.override.yaml", "docker-compose.override.yml",
                  "docker-compose.override.yaml")


def compose_order(path: str) -> tuple[int, str]:
    """Sort key for compose files: base files first, then overrides, then the rest."""
    name = path.rsplit("/", 1)[-1]
    rank = 0 if name in COMPOSE_FILES else 1 if name in OVERRIDE_FILES else 2
    return rank, path
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
    version_eol: bool = False  # the newest release it allows is end of life
    version_spec: str = ""  # what decided the version, as the project writes it
    command_from: str = ""  # what the command was found in ("" for a guess)
    port: int | None = None  # the port the command listens on, when it says
    dependencies: frozenset[str] = frozenset()  # normalised names of its dependencies


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
    toolchain: str = ""  # go.mod's toolchain line, e.g. "1.24"


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
    specs, pinned = _python_constraints(folder, names, project, poetry, lock)
    wheels = lock_files(folder / lock) if lock and lock != "requirements.txt" else None
    version, eol = python_version(specs, pinned, wheels)
    scripts = project.get("scripts") or poetry.get("scripts") or {}
    deps = _dependencies(folder, names, project, poetry)
    command: list[str] | None = [next(iter(scripts))] if scripts else None
    command_from, port = ("[project.scripts]" if project.get("scripts") else "[tool.poetry.scripts]") \
        if scripts else "", None
    app = _web_app(folder, deps) if command is None else None
    if app is not None:
        command, port, command_from = app
    if command is None:
        packages = sorted(p.name for p in _listing(folder) if _is_dir(p) and is_regular(p / "__main__.py"))
        if packages:
            command = ["python", "-m", packages[0]]
        elif "main.py" in names:
            command = ["python", "main.py"]
    has_tests = _is_dir(folder / "tests") or any(n.startswith("test_") and n.endswith(".py") for n in names)
    said = ", ".join([*(f"requires {s}" for s in dict.fromkeys(specs)), *([f".python-version {pinned}"] if pinned
                                                                        else [])])
    return PythonProject(rel, manager, lock, version, command, has_tests, version_eol=eol, version_spec=said,
                         command_from=command_from, port=port, dependencies=deps)


def _python_constraints(folder: Path, names: set[str], project: dict[str, Any], poetry: dict[str, Any],
                        lock: str | None) -> tuple[list[str], str | None]:
    """(the Python specifiers a project states, its .python-version): requires-python,
    Poetry's python dependency, and the lock file's own record of them."""
    python = poetry.get("dependencies", {}).get("python")
    specs = [str(project.get("requires-python") or ""), str(python) if isinstance(python, str) else ""]
    if lock == "uv.lock":
        specs.append(str(_toml(folder / lock).get("requires-python", "")))
    elif lock == "poetry.lock":
        specs.append(str(_toml(folder / lock).get("metadata", {}).get("python-versions", "")))
    pinned = (_text(folder / ".python-version") or "").strip().splitlines() if is_regular(folder / ".python-version") \
        else []
    found = re.match(r"(?:cpython-|python)?(3\.\d+)", pinned[0].strip()) if pinned else None
    return [s for s in specs if s], found.group(1) if found else None


def _dependencies(folder: Path, names: set[str], project: dict[str, Any], poetry: dict[str, Any]) -> frozenset[str]:
    """The names of a project's dependencies (lowercase, '-' for '_' and '.'), from pyproject.toml
    or requirements.txt: enough to tell which web server it installs."""
    found = [str(d) for d in project.get("dependencies") or []] + [str(d) for d in poetry.get("dependencies") or {}]
    if not found and "requirements.txt" in names:
        found = [line for line in (_text(folder / "requirements.txt") or "").splitlines()
                 if line.strip() and not line.lstrip().startswith(("#", "-"))]
    names_found = (re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", d) for d in found)
    return frozenset(re.sub(r"[-_.]+", "-", m.group(1).lower()) for m in names_found if m)


# `NAME = Framework(` at the start of a line: an app object a server imports.
_APP = re.compile(r"^(\w+)\s*(?::[^=\n]+)?=\s*(?:\w+\.)?(FastAPI|Starlette|Quart|Litestar|Flask|App|Bottle)\(", re.M)
_ASGI = ("FastAPI", "Starlette", "Quart", "Litestar")
_DJANGO = re.compile(r"^(\w+)\s*=\s*get_(asgi|wsgi)_application\(", re.M)
PORT = 8000


def _web_app(folder: Path, deps: frozenset[str]) -> tuple[list[str], int, str] | None:
    """(command, port, where) for the ASGI or WSGI app a project defines, served by the server
    its dependencies install; None if it defines none. Looks at the usual modules only."""
    candidates = [folder / n for n in ("main.py", "app.py", "asgi.py", "wsgi.py", "server.py", "api.py")]
    for package in sorted(p for p in _listing(folder) if _is_dir(p) and p.name not in SKIP and p.name != "tests"):
        roots = sorted(q for q in _listing(package) if _is_dir(q)) if package.name == "src" else [package]
        for root in roots:
            candidates += [root / n for n in ("main.py", "app.py", "asgi.py", "wsgi.py", "server.py", "api.py")]
    for path in candidates:
        if not is_regular(path):
            continue
        text = _text(path) or ""
        found = _APP.search(text)
        django = _DJANGO.search(text)
        if not found and not django:
            continue
        rel = path.relative_to(folder).as_posix()
        module = rel.removeprefix("src/").removesuffix(".py").replace("/", ".")
        name, kind = (django.group(1), django.group(2)) if django else (found.group(1), "asgi"
                                                                        if found.group(2) in _ASGI else "wsgi")
        if kind == "wsgi" and found and found.group(2) == "App" and "falcon" not in deps:
            continue  # `App(` is Falcon's; anything else is not known to be a WSGI app
        framework = "Django" if django else found.group(2)
        return _serve(module, name, kind, deps), PORT, f"{rel} ({framework}, {kind.upper()})"
    return None


def _serve(module: str, name: str, kind: str, deps: frozenset[str]) -> list[str]:
    """The command that serves `module:name` with the server the project installs."""
    target = f"{module}:{name}"
    if kind == "asgi":
        if "hypercorn" in deps and "uvicorn" not in deps:
            return ["hypercorn", target, "--bind", f"0.0.0.0:{PORT}"]
        if "granian" in deps and "uvicorn" not in deps:
            return ["granian", "--interface", "asgi", "--host", "0.0.0.0", "--port", str(PORT), target]
        return ["uvicorn", target, "--host", "0.0.0.0", "--port", str(PORT)]
    if "waitress" in deps and "gunicorn" not in deps:
        return ["waitress-serve", f"--listen=0.0.0.0:{PORT}", target]
    return ["gunicorn", "--bind", f"0.0.0.0:{PORT}", target]


# The web servers whose command _serve writes, by the distribution that installs them.
SERVERS = {"uvicorn": "uvicorn", "hypercorn": "hypercorn", "granian": "granian", "gunicorn": "gunicorn",
           "waitress-serve": "waitress"}


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
    toolchain = re.search(r"^toolchain\s+go(\d+\.\d+)", text, re.M)
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
    return GoProgram(rel, module.group(1) if module else rel, version.group(1) if version else "", package,
                     _is_lambda(text, folder / package), _has_go_tests(folder), replaces,
                     toolchain=toolchain.group(1) if toolchain else "")


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
