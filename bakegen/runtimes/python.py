"""runtime: python — uv, pip or poetry; builder, development, test, production."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from ..errors import Diagnostic
from ..files import dockerignore
from ..model.schema import BaseImages, PythonOptions, SystemPackages
from . import common, pyproject, wheels
from .base import Runtime

if TYPE_CHECKING:
    from pathlib import Path

    from ..files.project import ProjectFiles
    from ..model import schema
    from ..model.resolved import Resolved, ResolvedService

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

# Per package manager: its partial of python.Dockerfile.j2, the command that
# installs requirements (installers do not compile: pip's .pyc files would name
# its temporary folder), the cache it keeps, and the options that make a cross
# install take the target platform's wheels ($platform: cross_steps).
PARTIAL = {"uv": "_python_uv.j2", "poetry": "_python_poetry.j2", "pip": "_python_pip.j2"}
INSTALLER = {"uv": "uv pip install --python python3", "poetry": "pip install --no-compile",
             "pip": "pip install --no-compile"}
CACHE = {"uv": "/root/.cache/uv", "poetry": "/root/.cache/pip", "pip": "/root/.cache/pip"}
CROSS_FLAGS = {"uv": '--python-platform "$platform" --only-binary :all: ', "poetry": "--only-binary=:all: ",
               "pip": "--only-binary=:all: "}
# Requirement lines that name a local folder (sed -E): those packages install from wheels instead.
STRIP_LOCAL = r"/^(-e[[:space:]]|--editable|\.{1,2}\/|\/|file:)|@ *file:/d"

# What production images leave out of a project's source (the test stage keeps it).
PRODUCTION_EXCLUDE = ("tests", "test", "test_*.py", "*_test.py", "conftest.py", "pytest.ini", "tox.ini",
                      "noxfile.py", ".coveragerc", "requirements-dev.txt", "dev-requirements.txt")


@dataclass(frozen=True)
class PythonFacts:
    """What a Python service's files and options say, read once while resolving."""

    manager: str  # uv, poetry or pip
    lock: str  # the lock file's name (pip: requirements.txt)
    lock_present: bool
    project: pyproject.ProjectInfo
    dev_requirements: str | None  # pip's dev requirements file, if there is one
    local_packages: tuple[str, ...]  # path dependencies, where the builder sees them (/src/...)
    local_contexts: dict[str, str]  # named contexts for those outside the service's context
    libc: wheels.Libc
    modes: dict[str, str]  # platform (local ones too) -> "cross" or "native"
    # Service platform -> locked packages with no wheel for it; None when unknown.
    missing_wheels: dict[str, tuple[str, ...]] | None
    builder: str
    uv_image: str | None
    poetry_version: str  # the lock's own Poetry unless python.poetry_version names one
    emulation: str  # project.emulation: allow, warn or forbid
    test_command: tuple[str, ...]
    system_packages_build: tuple[str, ...]
    system_packages_run: tuple[str, ...]


class Python(Runtime):
    name = "python"
    template = "python.Dockerfile.j2"
    STAGES = STAGES
    IGNORE = IGNORE

    def default_base(self) -> BaseImages:
        return BaseImages(build="python", run="python")

    def http_probe(self, url: str) -> list[str] | None:
        # Slim images have no curl; the image's own Python can probe.
        return ["python", "-c",
                f"import sys, urllib.request; sys.exit(0 if urllib.request.urlopen({url!r}, timeout=4).status < 400 "
                "else 1)"]

    def facts(self, service: ResolvedService, spec: schema.Service, matrix: schema.Matrix,
              files: ProjectFiles) -> tuple[PythonFacts | None, list[Diagnostic]]:
        errors = common.context_name_errors(service) + self.stage_errors(service)
        at = ("services", service.name)
        opts = spec.python or PythonOptions()
        context = files.root / service.context
        manager, manager_errors = _package_manager(service, opts, matrix, files)
        errors += manager_errors
        if manager is None:
            return None, errors
        poetry_version = opts.poetry_version
        if manager == "poetry" and "poetry_version" not in opts.model_fields_set:
            poetry_version = _lock_poetry(files.text(context / "poetry.lock")) or poetry_version
        elif manager == "poetry" and _version(opts.poetry_version) < OLDEST_POETRY:
            errors.append(Diagnostic(
                f"Poetry {opts.poetry_version} is older than {'.'.join(map(str, OLDEST_POETRY))}, which bakegen's "
                "export step needs (dependency groups)",
                path=at + ("python", "poetry_version"), hint="use 1.8.5, or a 2.x release such as 2.5.1"))
        dev = (next((f for f in DEV_REQUIREMENTS if files.is_file(context / f)), None) if manager == "pip"
               else "dev.txt")
        info = files.memo(("python-project", context, manager, dev),
                          lambda: pyproject.read(context, manager, dev, files))
        for problem in info.problems:
            errors.append(Diagnostic(f"{service.context}/{problem}", path=at + ("context",)))
        local, local_contexts, local_errors = local_packages(service, files, info)
        errors += local_errors
        errors += _tests_ignored(service, spec, files)
        if "test" in service.targets.values() and _runs_pytest(opts.test_command) and not info.mentions_pytest:
            where = at + ("python", "test_command") if "test_command" in opts.model_fields_set \
                else at + ("stages",) if spec.stages else at
            add = {"uv": "`uv add --dev pytest`", "poetry": "`poetry add --group dev pytest`",
                   "pip": "pytest to requirements-dev.txt"}[manager]
            errors.append(Diagnostic(
                "the test stage runs pytest, but no dependency of this project installs it",
                path=where, hint=f"add {add}, or set python.test_command to what your tests run with"))

        lock = DEPENDENCY_FILES[manager][0]
        target_libc = wheels.floor(wheels.libc_of(service.base_build, opts.glibc),
                                   wheels.libc_of(service.base_run, opts.glibc))
        modes, missing, mode_errors = _install_modes(service, opts, matrix, files, context / lock, target_libc)
        errors += mode_errors
        packages = spec.system_packages or SystemPackages()
        return PythonFacts(
            manager=manager,
            lock=lock,
            lock_present=files.is_file(context / lock),
            project=info,
            dev_requirements=dev,
            local_packages=tuple(local),
            local_contexts=local_contexts,
            libc=target_libc,
            modes=modes,
            missing_wheels=None if missing is None else {p: tuple(missing[p]) for p in service.platforms},
            builder=opts.builder,
            uv_image=matrix.images.get("uv"),
            poetry_version=poetry_version,
            emulation=matrix.project.emulation,
            test_command=tuple(opts.test_command),
            system_packages_build=tuple(packages.build),
            system_packages_run=tuple(packages.run),
        ), errors

    def images(self, service: ResolvedService) -> tuple[str, ...]:
        uv = _facts(service).uv_image if _facts(service).manager == "uv" else None
        return super().images(service) + ((uv,) if uv else ())

    def extra_contexts(self, service: ResolvedService) -> dict[str, str]:
        """Local packages outside the service's context, as named contexts."""
        return _facts(service).local_contexts

    def warnings(self, service: ResolvedService) -> list[str]:
        facts = _facts(service)
        out = []
        if facts.manager != "pip" and not facts.lock_present:
            out.append(f"service '{service.name}': {service.context}/{facts.lock} is missing, so dependency "
                       f"versions are resolved at build time and builds are not reproducible; "
                       f"commit a lock file ({facts.manager} lock)")
        production = service.stage_values.get("production")
        if "production" in service.targets.values() and not service.entrypoint \
                and not (production and production.command):
            out.append(f"service '{service.name}': production images have no command (no `command` or "
                       "`entrypoint`), so they run the base image's, a Python prompt; set `command`")
        for platform, packages in (facts.missing_wheels or {}).items():
            if packages and wheels.cross_installable(platform) and facts.emulation != "allow":
                out.append(
                    f"service '{service.name}': no {platform} wheel of {', '.join(packages)}, so its dependencies "
                    f"install on {platform} itself (python.builder: auto), which needs emulation on other "
                    "machines and compilers in the image (system_packages.build); set python.builder to "
                    "silence this")
        return out

    def values(self, service: ResolvedService, resolved: Resolved) -> PythonValues:
        facts = _facts(service)
        info = facts.project
        uv = facts.manager == "uv"
        shared = common.shared_values(service, self.http_probe, STAGES)
        shared["context_paths"] = dict(sorted({**shared["context_paths"],
                                               **{k: f"/src/{v}" for k, v in facts.local_contexts.items()}}.items()))
        # Local packages are found at their place in the mirrored project layout.
        workdir = shared["workdir"] = common.workdir(service.context,
                                                     mirrored=bool(shared["context_paths"] or facts.local_packages))
        dev = facts.dev_requirements
        if facts.manager == "pip":
            requirements = "requirements.txt"
            # requirements-dev.txt holds the test tools; the tests need the app's dependencies too.
            test_requirements = (requirements,) + ((dev,) if dev else ())
        else:
            requirements = "main.txt"
            test_requirements = (dev,) if dev else ()
        dev_paths = (["/app/src"] if info.src_layout else []) + (["/opt/python-dev"] if dev else []) + ["/opt/python"]
        test_paths = ([f"{workdir}/src"] if info.src_layout else []) + ["/opt/python-test"]
        platforms = shared["platforms"] = tuple(
            replace(p, mode=facts.modes[platform],
                    cross_steps=tuple(cross_steps(platform, facts.libc, uv)) if wheels.cross_installable(platform)
                    else ())
            for p, platform in zip(shared["platforms"], service.all_platforms, strict=True))
        args, arg_names = shared["args"], shared["args_per_platform"]
        installs = {
            # On the build platform, for the target platform's wheels: every
            # install step picks that platform's tags.
            "cross": InstallValues(
                args=common.arg_lines(args, arg_names, platform_known=True),
                case=tuple((p.target_platform, "; ".join(p.cross_steps + p.arg_steps))
                           for p in platforms if p.cross_steps),
                flags=CROSS_FLAGS[facts.manager]),
            # On the target platform: only per-platform build args differ.
            "native": InstallValues(args=shared["arg_lines"]["platform"], case=shared["arg_case"],
                                    uv_stage="uv-target"),
            "test": InstallValues(args=shared["arg_lines"]["shared"]),
        }
        return PythonValues(
            **shared,
            uv_image=facts.uv_image,
            poetry_packages=tuple(poetry_packages(facts.poetry_version)),
            package_manager=facts.manager,
            partial=PARTIAL[facts.manager],
            installer=INSTALLER[facts.manager],
            cache=CACHE[facts.manager],
            installs=installs,
            install_stages=(("builder", "/opt/python"),) + ((("dev-builder", "/opt/python-dev"),) if dev else ()),
            requirements=requirements,
            dev_requirements=dev,
            test_requirements=test_requirements,
            dev_groups=info.dev_groups,
            has_extras=info.has_extras,
            dev_export=((f"--with {','.join(info.dev_groups)}",) if info.dev_groups else ())
            + (("--all-extras",) if info.has_extras else ()),
            strip_local=STRIP_LOCAL if facts.local_packages else None,
            installable=info.installable,
            local_packages=facts.local_packages,
            wheel_sources=((".",) if info.installable else ()) + facts.local_packages,
            pythonpath={"run": "/opt/python", "development": ":".join(dev_paths), "test": ":".join(test_paths)},
            path={"run": "/opt/python/bin:$PATH",
                  # development starts from base, whose PATH has /opt/python/bin already.
                  "development": "/opt/python-dev/bin:$PATH" if dev else "$PATH",
                  "test": "/opt/python-test/bin:$PATH"},
            system_packages_build=facts.system_packages_build,
            system_packages_run=facts.system_packages_run,
            production_exclude=PRODUCTION_EXCLUDE + service.production_exclude,
            modes=tuple(sorted(set(facts.modes.values()))),
            test_command=facts.test_command,
        )


@dataclass(frozen=True)
class InstallValues:
    """How one stage of python.Dockerfile.j2 installs requirements."""

    args: tuple[str, ...]  # its ARG lines
    case: common.Case = ()  # the per-platform shell case before the installer
    flags: str = ""  # installer options before the requirements, each followed by a space
    uv_stage: str = "uv"  # the stage uv is copied from (uv only)


@dataclass(frozen=True)
class PythonValues(common.CommonValues):
    """What python.Dockerfile.j2 renders."""

    uv_image: str | None
    poetry_packages: tuple[str, ...]  # what pip installs into the builder's Poetry venv
    package_manager: str
    partial: str  # the template of the package manager's steps (PARTIAL)
    installer: str  # the command that installs requirements files
    cache: str  # the installer's cache folder, a cache mount
    # The stages that install, by kind: "cross" and "native" (builders, v.modes), "test".
    installs: dict[str, InstallValues]
    install_stages: tuple[tuple[str, str], ...]  # (stage, the folder it installs into) that later stages copy
    requirements: str  # the exported (or pip's own) requirements file
    dev_requirements: str | None
    test_requirements: tuple[str, ...]
    dev_groups: tuple[str, ...]
    has_extras: bool
    dev_export: tuple[str, ...]  # Poetry: export options for the dev requirements
    strip_local: str | None  # sed expression that drops local packages from requirements; None: none
    installable: bool  # the project itself builds into a wheel
    local_packages: tuple[str, ...]
    wheel_sources: tuple[str, ...]  # folders built into wheels
    pythonpath: dict[str, str]  # stage kind -> PYTHONPATH
    path: dict[str, str]  # stage kind -> PATH, console scripts first
    system_packages_build: tuple[str, ...]
    system_packages_run: tuple[str, ...]
    production_exclude: tuple[str, ...]
    modes: tuple[str, ...]  # the install modes some platform uses
    test_command: tuple[str, ...]


def _package_manager(service: ResolvedService, opts: PythonOptions, matrix: schema.Matrix,
                     files: ProjectFiles) -> tuple[str | None, list[Diagnostic]]:
    """The service's package manager (set, or detected from its files), or None when its project
    cannot be built: no Python project there, or the manager's required file missing."""
    at = ("services", service.name)
    context = files.root / service.context
    errors: list[Diagnostic] = []
    manager = opts.package_manager or pyproject.detect_manager(context, files)
    if manager is None:
        _, unreadable = files.toml(context / "pyproject.toml")
        errors.append(Diagnostic(
            f"{service.context}/pyproject.toml: {unreadable.split(': ', 1)[-1]}" if unreadable else
            f"no Python project in {service.context}: none of uv.lock, poetry.lock, pyproject.toml or "
            "requirements.txt is there",
            path=at + ("context",),
            hint="fix it: with no lock file it says which package manager builds the project (or set "
                 "python.package_manager)" if unreadable else
            "point `context` at the folder that holds them, or set python.package_manager"))
        return None, errors
    if manager == "uv" and "uv" not in matrix.images:
        errors.append(Diagnostic(
            "package manager uv needs the uv image under `images`",
            path=at + ("python", "package_manager") if opts.package_manager else at + ("runtime",),
            hint=f"add e.g. `uv: {CURRENT_UV}` under `images` (pin the version you use)"))
    required = DEPENDENCY_FILES[manager][-1]
    if not files.is_file(context / required):
        errors.append(Diagnostic(
            f"package manager {manager} needs {service.context}/{required}, which does not exist",
            path=at + ("context",)))
        return None, errors
    return manager, errors


def _install_modes(service: ResolvedService, opts: PythonOptions, matrix: schema.Matrix, files: ProjectFiles,
                   lock_path: Path, target_libc: wheels.Libc
                   ) -> tuple[dict[str, str], dict[str, list[str]] | None, list[Diagnostic]]:
    """(platform -> "cross" or "native", platform -> packages with no wheel there (python.builder:
    auto only), errors): where each platform's dependencies install."""
    at = ("services", service.name)
    errors: list[Diagnostic] = []
    missing = None
    if opts.builder == "auto":
        missing = files.memo(("missing-wheels", lock_path, service.all_platforms, target_libc),
                             lambda: wheels.missing_wheels(lock_path, service.all_platforms, target_libc))
    modes = {}
    for platform in service.all_platforms:
        if not wheels.cross_installable(platform) or opts.builder == "native":
            modes[platform] = "native"
        elif opts.builder == "cross" or missing is None:
            modes[platform] = "cross"
        else:
            modes[platform] = "native" if missing[platform] else "cross"
    native = [p for p in service.platforms if modes[p] == "native"]
    if matrix.project.emulation == "forbid" and native and len(service.platforms) > 1:
        errors.append(Diagnostic(
            f"dependencies install on {', '.join(native)} itself (python.builder: {opts.builder}"
            + (f"; no wheel of {', '.join(sorted({n for p in native for n in (missing or {}).get(p, [])}))}"
               if opts.builder == "auto" else "")
            + "), which needs emulation on one machine, and project.emulation is forbid",
            path=at + ("python", "builder") if "builder" in opts.model_fields_set else at + ("context",),
            hint="lock versions that have wheels for every platform, or build each platform on a native builder "
                 "(project.emulation: warn or allow)"))
    return modes, missing, errors


def _facts(service: ResolvedService) -> PythonFacts:
    assert isinstance(service.facts, PythonFacts), f"service '{service.name}' was not resolved as python"
    return service.facts


_TEST_FILE = re.compile(r"(^|/)(tests?/|test_[^/]*\.py$|[^/]*_test\.py$|conftest\.py$)")


def _tests_ignored(service: ResolvedService, spec: schema.Service, files: ProjectFiles) -> list[Diagnostic]:
    """A `dockerignore` pattern that removes the tests leaves the test stage nothing to run."""
    if "test" not in service.targets.values() or not spec.dockerignore:
        return []
    tests = [f for f in files.sent(service.context, IGNORE) if _TEST_FILE.search(f)]
    errors = []
    for i, pattern in enumerate(spec.dockerignore):
        hit = next((f for f in tests if dockerignore.Matcher([pattern]).excluded(f)), None)
        if hit and not pattern.startswith("!"):
            errors.append(Diagnostic(
                f"dockerignore pattern '{pattern}' removes the tests ({hit}) from every stage, so the "
                "test stage has none to run",
                path=("services", service.name, "dockerignore", i),
                hint="production images leave tests out already; for other files use `production_exclude`"))
    return errors


# Poetry writes the release that made the lock into its first line.
_LOCK_POETRY = re.compile(r"@generated by Poetry (\d+\.\d+(?:\.\d+)?)\b")
# What installs a lock that a Poetry older than OLDEST_POETRY made: it reads them, and exports.
OLD_LOCK_POETRY = "1.8.5"


def _lock_poetry(text: str | None) -> str | None:
    """The Poetry release to export poetry.lock with: the one that wrote it (another line may
    export a lock differently, e.g. drop a dependency with markers), or OLD_LOCK_POETRY for a
    lock older than export's oldest."""
    found = _LOCK_POETRY.search((text or "")[:500])
    if found is None:
        return None
    return found.group(1) if _version(found.group(1))[:2] >= OLDEST_POETRY else OLD_LOCK_POETRY


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


def _runs_pytest(command: list[str]) -> bool:
    return any(word == "pytest" or word.endswith("/pytest") or word.startswith("pytest") for word in command)


def local_packages(service: ResolvedService, files: ProjectFiles, info: pyproject.ProjectInfo
                   ) -> tuple[list[str], dict[str, str], list[Diagnostic]]:
    """The local path dependencies: their paths in the builder (which mirrors the project
    under /src), the named contexts that bring the ones outside the service's context, and
    problems (a path outside the project)."""
    if not info.local_paths:
        return [], {}, []
    project_dir = files.root
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
    return list(_poetry_packages(version))


@lru_cache(maxsize=64)
def _poetry_packages(version: str) -> tuple[str, ...]:
    plugin = next((p for since, p in POETRY_EXPORT if _version(version)[:2] >= since), None)
    return (f"poetry=={version}",) + ((plugin,) if plugin else ())


runtime = Python()
