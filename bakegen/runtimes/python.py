"""runtime: python — uv, pip or poetry; builder, development, test, production."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Diagnostic
from ..schema import BaseImages, Matrix, PythonOptions
from . import common, wheels

if TYPE_CHECKING:
    from ..resolve import Resolved, ResolvedService

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

DEV_REQUIREMENTS = ("requirements-dev.txt", "dev-requirements.txt")
# poetry-plugin-export, which gives Poetry 2 its `export` command.
POETRY_EXPORT_VERSION = "1.10.1"

# Never sent to the builder: VCS data, local environments, caches, secrets.
IGNORE = (".git", ".venv", "venv", "**/__pycache__", "**/*.py[cod]", ".pytest_cache", ".mypy_cache",
          ".ruff_cache", "*.egg-info", "dist", "build", ".env", ".env.*", "Dockerfile*", ".dockerignore")


def default_base() -> BaseImages:
    return BaseImages(build="python", run="python")


def options(service: ResolvedService) -> PythonOptions:
    return service.spec.python or PythonOptions()


def check(service: ResolvedService, matrix: Matrix, project_dir: Path) -> list[Diagnostic]:
    errors = common.context_name_errors(service)
    at = ("services", service.name)
    for stage, target in service.targets.items():
        if target not in STAGES:
            errors.append(Diagnostic(
                f"stage '{stage}' maps to Dockerfile stage '{target}', which the python template does not have",
                path=("stages", stage, "target"), hint=f"python stages: {', '.join(STAGES)}"))
    manager = options(service).package_manager
    if manager == "uv" and "uv" not in matrix.images:
        errors.append(Diagnostic(
            "package manager uv needs the uv image under `images`",
            path=at + ("python", "package_manager") if service.spec.python else at + ("runtime",),
            hint="add e.g. `uv: ghcr.io/astral-sh/uv:0.9.5` under `images` (pin the version you use)"))
    context = project_dir / service.context
    required = DEPENDENCY_FILES[manager][-1]
    if not (context / required).is_file():
        errors.append(Diagnostic(
            f"package manager {manager} needs {service.context}/{required}, which does not exist",
            path=at + ("context",)))
    return errors


def warnings(service: ResolvedService, project_dir: Path) -> list[str]:
    manager = options(service).package_manager
    lock = DEPENDENCY_FILES[manager][0]
    if manager != "pip" and not (project_dir / service.context / lock).is_file():
        return [f"service '{service.name}': {service.context}/{lock} is missing, so dependency "
                f"versions are resolved at build time and builds are not reproducible; "
                f"commit a lock file ({manager} lock)"]
    return []


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
        lock = DEPENDENCY_FILES[opts.package_manager][0]
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


def values(service: ResolvedService, resolved: Resolved, project_dir: Path) -> dict[str, Any]:
    opts = options(service)
    manager = opts.package_manager
    lock = DEPENDENCY_FILES[manager][0]
    by_platform = modes(service, project_dir)
    uv = manager == "uv"
    target_libc = libc(service)
    if manager == "pip":
        requirements = "requirements.txt"
        dev_requirements = next(
            (f for f in DEV_REQUIREMENTS if (project_dir / service.context / f).is_file()), None)
    else:
        requirements, dev_requirements = "main.txt", "dev.txt"
    return {
        **common.shared_values(service),
        "base_build": service.base_build,
        "base_run": service.base_run,
        "uv_image": resolved.matrix.images.get("uv"),
        "poetry_version": opts.poetry_version,
        "poetry_export_version": POETRY_EXPORT_VERSION,
        "package_manager": manager,
        "locked": (project_dir / service.context / lock).is_file(),
        "requirements": requirements,
        "dev_requirements": dev_requirements,
        "modes": sorted(set(by_platform.values())),
        "platforms": [
            {
                "target_platform": wheels.normalise(p),
                "slug": common.platform_slug(p),
                "mode": mode,
                "cross_steps": cross_steps(p, target_libc, uv) if wheels.cross_installable(p) else [],
            }
            for p, mode in by_platform.items()
        ],
        "test_command": list(opts.test_command),
        "dev_command": list(opts.dev_command or service.spec.command or []),
        "healthcheck": common.healthcheck(service, service.spec.port, http_probe),
    }
