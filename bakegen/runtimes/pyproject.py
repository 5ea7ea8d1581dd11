"""What a Python project's own files say about how to build it.

Read from pyproject.toml, the lock file and requirements files, at render
time: whether the project is a package to install (src layout, console
scripts), which local path dependencies it has (built as wheels on the build
platform, then installed like any wheel), which dependency groups hold its
development dependencies, and whether anything installs pytest.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..files.project import ProjectFiles, read_toml

DEV_REQUIREMENTS = ("requirements-dev.txt", "dev-requirements.txt", "requirements/dev.txt")
# Lines of a requirements file that name a local folder or file, not a package index entry.
_LOCAL_LINE = re.compile(r"^(?:-e\s+|--editable[=\s]+)?(?P<path>(?:\.{1,2}/|/|file:)[^\s;#]*)|^[^#]*?@\s*file:(?P<url>\S+)")


@dataclass(frozen=True)
class ProjectInfo:
    installable: bool = False  # the project itself builds into a wheel
    src_layout: bool = False  # its code lives under src/
    # Local path dependencies, relative to the project folder, '/'-separated.
    local_paths: tuple[str, ...] = ()
    dev_groups: tuple[str, ...] = ()  # Poetry dependency groups besides main
    has_dev_dependencies: bool = False
    has_extras: bool = False  # [project.optional-dependencies]: test tools often live there
    mentions_pytest: bool = False
    problems: tuple[str, ...] = field(default=())  # e.g. pyproject.toml is not valid TOML


def _toml(path: Path, files: ProjectFiles | None = None) -> tuple[dict[str, Any], str | None]:
    return files.toml(path) if files is not None else read_toml(path)


def _get(data: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)  # type: ignore[assignment]
    return data


def _norm(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/"))


def detect_manager(context: Path, files: ProjectFiles | None = None) -> str | None:
    """The package manager a project's files name, or None when there is no Python project.

    A lock file decides (uv.lock, poetry.lock); then a `[tool.poetry]` table;
    then requirements.txt (pip); then a `[project]` table alone (uv, which reads it).
    A pyproject.toml that only configures tools is not a project.
    """
    is_file = files.is_file if files is not None else Path.is_file
    if is_file(context / "uv.lock"):
        return "uv"
    if is_file(context / "poetry.lock"):
        return "poetry"
    pyproject, _ = _toml(context / "pyproject.toml", files)  # read only when no lock file decides
    if _get(pyproject, "tool", "poetry") is not None:
        return "poetry"
    if is_file(context / "requirements.txt"):
        return "pip"
    if _get(pyproject, "project") is not None:
        return "uv"
    return None


def read(context: Path, manager: str, dev_requirements: str | None,
         files: ProjectFiles | None = None) -> ProjectInfo:
    """What the project in `context` needs, for package manager `manager`."""
    files = files or ProjectFiles(context)
    pyproject, problem = _toml(context / "pyproject.toml", files)
    problems = [problem] if problem else []
    tool = _get(pyproject, "tool") or {}
    build_system = "build-system" in pyproject
    text_of_deps = " ".join(str(d) for d in (_get(pyproject, "project", "dependencies") or []))

    if manager == "uv":
        package = _get(tool, "uv", "package")
        installable = bool(package) if package is not None else build_system
        groups = _get(pyproject, "dependency-groups") or {}
        has_dev = bool(groups) or bool(_get(tool, "uv", "dev-dependencies")) \
            or bool(_get(pyproject, "project", "optional-dependencies"))
        dev_text = str(groups) + str(_get(tool, "uv", "dev-dependencies")) \
            + str(_get(pyproject, "project", "optional-dependencies"))
        local = _uv_local(context, pyproject, files)
        dev_groups: tuple[str, ...] = ()
    elif manager == "poetry":
        poetry = _get(tool, "poetry") or {}
        installable = build_system and poetry.get("package-mode", True) is not False
        group_tables = poetry.get("group") or {}
        names = [g for g in group_tables if g != "main"]
        if poetry.get("dev-dependencies") and "dev" not in names:
            names.append("dev")  # Poetry's legacy table is the group "dev"
        dev_groups = tuple(names)
        dev_text = str(group_tables) + str(poetry.get("dev-dependencies")) \
            + str(_get(pyproject, "project", "optional-dependencies")) + str(pyproject.get("dependency-groups"))
        has_dev = bool(names) or bool(_get(pyproject, "project", "optional-dependencies")) \
            or bool(pyproject.get("dependency-groups"))
        text_of_deps += str(poetry.get("dependencies"))
        local = _poetry_local(context, poetry, files)
        if installable:
            missing = _poetry_package_problem(context, pyproject, poetry)
            problems += [missing] if missing else []
    else:
        installable = build_system or files.is_file(context / "setup.py") or files.is_file(context / "setup.cfg")
        dev_file = context / dev_requirements if dev_requirements else None
        has_dev = dev_file is not None
        dev_text = (files.text(dev_file) or "") if dev_file else ""
        main = context / "requirements.txt"
        text_of_deps = files.text(main) or ""
        local = _requirements_local(text_of_deps) + (_requirements_local(dev_text) if dev_file else [])
        dev_groups = ()

    src = context / "src"
    src_layout = src.is_dir() and any((d / "__init__.py").is_file() for d in src.iterdir() if d.is_dir())
    return ProjectInfo(
        installable=installable,
        src_layout=src_layout,
        local_paths=tuple(dict.fromkeys(p for p in local if p not in (".", ""))),
        dev_groups=dev_groups,
        has_dev_dependencies=has_dev,
        has_extras=bool(_get(pyproject, "project", "optional-dependencies")),
        mentions_pytest="pytest" in dev_text.lower() or "pytest" in text_of_deps.lower(),
        problems=tuple(problems),
    )


def _poetry_package_problem(context: Path, pyproject: dict[str, Any], poetry: dict[str, Any]) -> str | None:
    """Why Poetry would find no package to build: with no `packages`, it builds the one named
    after the project (dashes and dots as underscores), in the project folder or in src/."""
    name = _get(pyproject, "project", "name") or poetry.get("name")
    if poetry.get("packages") or not isinstance(name, str):
        return None
    module = re.sub(r"[-_.]+", "_", name).lower()
    bases = [b for b in (context, context / "src") if b.is_dir()]
    if any((b / module).is_dir() or (b / f"{module}.py").is_file() for b in bases):
        return None
    found = sorted({d.relative_to(context).as_posix() for b in bases for d in b.iterdir()
                    if d.is_dir() and (d / "__init__.py").is_file() and d.name not in ("tests", "test")})
    text = (f"pyproject.toml: Poetry builds the package '{module}' (the project's name), and there is no "
            f"folder or module of that name")
    if found:
        include = found[0].rpartition("/")[2]
        where = ', from = "src"' if found[0].startswith("src/") else ""
        text += (f"; the package folder there is {found[0]}: add `packages = [{{include = \"{include}\"{where}}}]` "
                 "under [tool.poetry]")
    return text


def _uv_local(context: Path, pyproject: dict[str, Any], files: ProjectFiles) -> list[str]:
    """Local packages from uv.lock (every one, transitively), else [tool.uv.sources]."""
    lock, _ = _toml(context / "uv.lock", files)
    paths = []
    for package in lock.get("package", []):
        source = package.get("source", {})
        for kind in ("editable", "directory", "path"):
            if kind in source and source[kind] != ".":
                paths.append(_norm(source[kind]))
    if lock:
        return paths
    for spec in (_get(pyproject, "tool", "uv", "sources") or {}).values():
        if isinstance(spec, dict) and "path" in spec:
            paths.append(_norm(spec["path"]))
    return paths


def _poetry_local(context: Path, poetry: dict[str, Any], files: ProjectFiles) -> list[str]:
    """Local packages from poetry.lock (every one), else path dependencies in pyproject.toml."""
    lock, _ = _toml(context / "poetry.lock", files)
    paths = [_norm(p["source"]["url"]) for p in lock.get("package", [])
             if p.get("source", {}).get("type") in ("directory", "file")]
    if lock:
        return paths
    tables = [poetry.get("dependencies") or {}, poetry.get("dev-dependencies") or {}]
    tables += [(g or {}).get("dependencies") or {} for g in (poetry.get("group") or {}).values()]
    return [_norm(spec["path"]) for table in tables for spec in table.values()
            if isinstance(spec, dict) and "path" in spec]


def _requirements_local(text: str) -> list[str]:
    """Local folders and files a requirements file's `text` names."""
    out = []
    for line in text.splitlines():
        match = _LOCAL_LINE.match(line.strip())
        if match:
            raw = match.group("path") or match.group("url")
            out.append(_norm(raw.removeprefix("file:").removeprefix("//")))
    return out
