"""runtime: python — uv, pip or poetry; builder, development, test, production."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..files import dockerignore
from ..errors import Diagnostic
from ..model.schema import BaseImages, Matrix, PythonOptions, SystemPackages
from ..model.platforms import platform_slug
from . import common, pyproject, wheels

if TYPE_CHECKING:
    from ..model.resolved import Resolved, ResolvedService

name = "python"
template = "python.Dockerfile.j2"
# Stages the template defines that a bake target may build.
STAGES = ("base", "builder", "development", "test", "production")

# The files each package manager resolves dependencies from; the first is
# the lock file that makes builds reproducible.
DEPENDENCY_FILES = {
    "uv": ("uv.lock", "pyproject.toml"),
    "poetry": ("poetry.lock", "pyproject.toml"),
    "pip": ("requirements.txt",),
}

DEV_REQUIREMENTS = pyproject.DEV_REQUIREMENTS
# poetry-plugin-export, which gives Poetry 2 its `export` command, by the
# Poetry versions it works with. Poetry 1.2 to 1.8 ship it themselves.
POETRY_EXPORT = (((2, 1), "poetry-plugin-export==1.10.1"), ((2, 0), "poetry-plugin-export==1.9.0"))
OLDEST_POETRY = (1, 2)
CURRENT_UV = "ghcr.io/astral-sh/uv:0.13.9"

# Never sent to the builder: VCS data, local environments, caches, secrets.
IGNORE = common.IGNORE + ("**/__pycache__", "**/*.py[cod]", ".venv", "venv", ".pytest_cache", ".mypy_cache",
                          ".ruff_cache", ".tox", ".nox", ".coverage", "htmlcov", "*.egg-info", "dist", "build")

# What production images leave out of a project's source (the test stage keeps it).
PRODUCTION_EXCLUDE = ("tests", "test", "test_*.py", "*_test.py", "conftest.py", "pytest.ini", "tox.ini",
                      "noxfile.py", ".coveragerc", "requirements-dev.txt", "dev-requirements.txt")


def default_base() -> BaseImages:
    return BaseImages(build="python", run="python")


def options(service: ResolvedService) -> PythonOptions:
    return service.spec.python or PythonOptions()


def package_manager(service: ResolvedService, project_dir: Path) -> str:
    """`python.package_manager`, or what the context's files name (uv when they name none)."""
    return (options(service).package_manager or pyproject.detect_manager(project_dir / service.context)
            or "uv")


def check(service: ResolvedService, matrix: Matrix, project_dir: Path) -> list[Diagnostic]:
    errors = common.context_name_errors(service)
    at = ("services", service.name)
    for stage, target in service.targets.items():
        if target not in STAGES:
            errors.append(Diagnostic(
                f"stage '{stage}' maps to Dockerfile stage '{target}', which the python template does not have",
                path=("stages", stage, "target"), hint=f"python stages: {', '.join(STAGES)}"))
    chosen = options(service).package_manager
    context = project_dir / service.context
    manager = chosen or pyproject.detect_manager(context)
    if manager is None:
        errors.append(Diagnostic(
            f"no Python project in {service.context}: none of uv.lock, poetry.lock, pyproject.toml or "
            "requirements.txt is there",
            path=at + ("context",),
            hint="point `context` at the folder that holds them, or set python.package_manager"))
        return errors
    if manager == "uv" and "uv" not in matrix.images:
        errors.append(Diagnostic(
            "package manager uv needs the uv image under `images`",
            path=at + ("python", "package_manager") if chosen else at + ("runtime",),
            hint=f"add e.g. `uv: {CURRENT_UV}` under `images` (pin the version you use)"))
    required = DEPENDENCY_FILES[manager][-1]
    if not (context / required).is_file():
        errors.append(Diagnostic(
            f"package manager {manager} needs {service.context}/{required}, which does not exist",
            path=at + ("context",)))
        return errors
    opts = options(service)
    if manager == "poetry" and _version(opts.poetry_version) < OLDEST_POETRY:
        errors.append(Diagnostic(
            f"Poetry {opts.poetry_version} is older than {'.'.join(map(str, OLDEST_POETRY))}, which bakegen's "
            "export step needs (dependency groups)",
            path=at + ("python", "poetry_version"), hint="use 1.8.5, or a 2.x release such as 2.5.1"))
    info = project_info(service, project_dir)
    for problem in info.problems:
        errors.append(Diagnostic(f"{service.context}/{problem}", path=at + ("context",)))
    _, _, local_errors = local_packages(service, project_dir, info)
    errors += local_errors
    errors += _tests_ignored(service, project_dir)
    if "test" in service.targets.values() and _runs_pytest(opts.test_command) and not info.mentions_pytest:
        where = at + ("python", "test_command") if service.spec.python and "test_command" in \
            service.spec.python.model_fields_set else at + ("stages",) if service.spec.stages else at
        add = {"uv": "`uv add --dev pytest`", "poetry": "`poetry add --group dev pytest`",
               "pip": "pytest to requirements-dev.txt"}[manager]
        errors.append(Diagnostic(
            "the test stage runs pytest, but no dependency of this project installs it",
            path=where, hint=f"add {add}, or set python.test_command to what your tests run with"))
    return errors


_TEST_FILE = re.compile(r"(^|/)(tests?/|test_[^/]*\.py$|[^/]*_test\.py$|conftest\.py$)")


def _tests_ignored(service: ResolvedService, project_dir: Path) -> list[Diagnostic]:
    """A `dockerignore` pattern that removes the tests leaves the test stage nothing to run."""
    if "test" not in service.targets.values():
        return []
    context = project_dir / service.context
    tests = [f for f in dockerignore.sent_files(context, IGNORE) if _TEST_FILE.search(f)]
    errors = []
    for i, pattern in enumerate(service.spec.dockerignore):
        hit = next((f for f in tests if dockerignore.Matcher([pattern]).excluded(f)), None)
        if hit and not pattern.startswith("!"):
            errors.append(Diagnostic(
                f"dockerignore pattern '{pattern}' removes the tests ({hit}) from every stage, so the "
                "test stage has none to run",
                path=("services", service.name, "dockerignore", i),
                hint="production images leave tests out already; for other files use `production_exclude`"))
    return errors


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


def _runs_pytest(command: list[str]) -> bool:
    return any(word == "pytest" or word.endswith("/pytest") or word.startswith("pytest") for word in command)


def project_info(service: ResolvedService, project_dir: Path) -> pyproject.ProjectInfo:
    manager = package_manager(service, project_dir)
    return pyproject.read(project_dir / service.context, manager, dev_requirements(service, project_dir))


def dev_requirements(service: ResolvedService, project_dir: Path) -> str | None:
    """The dev requirements file of a pip project, if it has one."""
    if package_manager(service, project_dir) != "pip":
        return "dev.txt"
    return next((f for f in DEV_REQUIREMENTS if (project_dir / service.context / f).is_file()), None)


def local_packages(service: ResolvedService, project_dir: Path, info: pyproject.ProjectInfo
                   ) -> tuple[list[str], dict[str, str], list[Diagnostic]]:
    """The local path dependencies: their paths in the builder (which mirrors the project
    under /src), the named contexts that bring the ones outside the service's context, and
    problems (a path outside the project)."""
    context = (project_dir / service.context).resolve()
    root = project_dir.resolve()
    at = ("services", service.name, "context")
    given = {name: (project_dir / path).resolve() for name, path in service.contexts.items()}
    paths, contexts, errors = [], {}, []
    for rel in info.local_paths:
        full = (context / rel).resolve()
        if not (full == root or root in full.parents):
            errors.append(Diagnostic(
                f"local dependency '{rel}' of {service.context} is outside the project folder", path=at,
                hint="move it into the project (bake reads only its folder, and named contexts)"))
            continue
        project_rel = full.relative_to(root).as_posix()
        paths.append(f"/src/{project_rel}")
        inside = full == context or context in full.parents
        if not inside and not any(full == c or c in full.parents for c in given.values()):
            name = "pkg-" + "".join(ch if ch.isalnum() else "-" for ch in full.name.lower()).strip("-")
            while name in contexts or name in service.contexts:
                name += "-x"
            contexts[name] = project_rel
    return paths, contexts, errors


def extra_contexts(service: ResolvedService, project_dir: Path) -> dict[str, str]:
    """Named contexts the service needs beyond its own: local packages outside its context."""
    return local_packages(service, project_dir, project_info(service, project_dir))[1]


def warnings(service: ResolvedService, project_dir: Path) -> list[str]:
    opts = options(service)
    manager = package_manager(service, project_dir)
    lock = DEPENDENCY_FILES[manager][0]
    out = []
    if manager != "pip" and not (project_dir / service.context / lock).is_file():
        out.append(f"service '{service.name}': {service.context}/{lock} is missing, so dependency "
                   f"versions are resolved at build time and builds are not reproducible; "
                   f"commit a lock file ({manager} lock)")
    if opts.builder == "auto":
        missing = wheels.missing_wheels(project_dir / service.context / lock, service.platforms, libc(service))
        for platform, packages in (missing or {}).items():
            if packages and wheels.cross_installable(platform):
                out.append(
                    f"service '{service.name}': no {platform} wheel of {', '.join(packages)}, so its dependencies "
                    f"install on {platform} itself (python.builder: auto), which needs emulation on other "
                    "machines and compilers in the image (system_packages.build); set python.builder to "
                    "silence this")
    return out


def http_probe(url: str) -> list[str] | None:
    # Slim images have no curl; the image's own Python can probe.
    return ["python", "-c",
            f"import sys, urllib.request; sys.exit(0 if urllib.request.urlopen({url!r}, timeout=4).status < 400 else 1)"]


def libc(service: ResolvedService) -> wheels.Libc:
    """The C library the installed wheels must run on: every image /opt/python is copied into."""
    glibc = options(service).glibc
    return wheels.floor(wheels.libc_of(service.base_build, glibc), wheels.libc_of(service.base_run, glibc))


def modes(service: ResolvedService, project_dir: Path) -> dict[str, str]:
    """Per platform, where dependencies install: "cross" (build platform) or "native"."""
    opts = options(service)
    out = {}
    missing = None
    if opts.builder == "auto":
        lock = DEPENDENCY_FILES[package_manager(service, project_dir)][0]
        missing = wheels.missing_wheels(project_dir / service.context / lock, service.all_platforms, libc(service))
    for platform in service.all_platforms:
        if not wheels.cross_installable(platform) or opts.builder == "native":
            out[platform] = "native"
        elif opts.builder == "cross" or missing is None:
            out[platform] = "cross"
        else:
            out[platform] = "native" if missing[platform] else "cross"
    return out


def cross_steps(platform: str, libc: wheels.Libc, uv: bool) -> list[str]:
    """Shell statements that point a cross install at `platform`'s wheels.

    uv takes one target ($platform); pip takes every compatible tag, as
    PIP_PLATFORM (pip's whitespace-separated form of repeated --platform).
    """
    if uv:
        return [f"platform={wheels.uv_platform(platform, libc)}"]
    return [f'PIP_PLATFORM="{" ".join(wheels.pip_platforms(platform, libc))}"', "export PIP_PLATFORM"]


def poetry_packages(version: str) -> list[str]:
    """What `pip install` puts into the builder's Poetry venv for Poetry `version`."""
    plugin = next((p for since, p in POETRY_EXPORT if _version(version)[:2] >= since), None)
    return [f"poetry=={version}"] + ([plugin] if plugin else [])


def values(service: ResolvedService, resolved: Resolved, project_dir: Path) -> dict[str, Any]:
    opts = options(service)
    manager = package_manager(service, project_dir)
    by_platform = modes(service, project_dir)
    uv = manager == "uv"
    target_libc = libc(service)
    info = project_info(service, project_dir)
    local, contexts, _ = local_packages(service, project_dir, info)
    shared = common.shared_values(service)
    shared["context_paths"] = dict(sorted({**shared["context_paths"],
                                           **{k: f"/src/{v}" for k, v in contexts.items()}}.items()))
    # Local packages are found at their place in the mirrored project layout.
    workdir = shared["workdir"] = common.workdir(service.context, mirrored=bool(shared["context_paths"] or local))
    if manager == "pip":
        requirements = "requirements.txt"
        dev = dev_requirements(service, project_dir)
        # requirements-dev.txt holds the test tools; the tests need the app's dependencies too.
        test_requirements = [requirements] + ([dev] if dev else [])
    else:
        requirements, dev = "main.txt", "dev.txt"
        test_requirements = [dev]
    dev_paths = (["/app/src"] if info.src_layout else []) + (["/opt/python-dev"] if dev else []) + ["/opt/python"]
    test_paths = ([f"{workdir}/src"] if info.src_layout else []) + ["/opt/python-test"]
    packages = opts_packages(service)
    return {
        **shared,
        "base_build": service.base_build,
        "base_run": service.base_run,
        "uv_image": resolved.matrix.images.get("uv"),
        "poetry_packages": poetry_packages(opts.poetry_version),
        "package_manager": manager,
        "requirements": requirements,
        "dev_requirements": dev,
        "test_requirements": test_requirements,
        "dev_groups": list(info.dev_groups),
        "has_extras": info.has_extras,
        "installable": info.installable,
        "local_packages": local,
        "wheel_sources": (["."] if info.installable else []) + local,
        "pythonpath": {"run": "/opt/python", "development": ":".join(dev_paths), "test": ":".join(test_paths)},
        "scripts": {"run": "/opt/python/bin",
                    # development starts from base, whose PATH has /opt/python/bin already.
                    "development": "/opt/python-dev/bin" if dev else "",
                    "test": "/opt/python-test/bin"},
        "system_packages_build": packages.build,
        "system_packages_run": packages.run,
        "production_exclude": list(PRODUCTION_EXCLUDE) + list(service.spec.production_exclude),
        "modes": sorted(set(by_platform.values())),
        "platforms": [
            {
                "target_platform": wheels.normalise(p),
                "slug": platform_slug(p),
                "mode": mode,
                "cross_steps": cross_steps(p, target_libc, uv) if wheels.cross_installable(p) else [],
            }
            for p, mode in by_platform.items()
        ],
        "test_command": list(opts.test_command),
        "healthcheck": common.healthcheck(service, service.spec.port, http_probe),
    }


def opts_packages(service: ResolvedService) -> SystemPackages:
    return service.spec.system_packages or SystemPackages()
