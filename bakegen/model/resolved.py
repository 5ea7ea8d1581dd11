"""The resolved project: every service with its references followed, defaults applied
and its runtime's facts read, in plain frozen types.

compiler/resolve.py makes these from the validated matrix (the pydantic shape
in schema.py) and the project's files; everything after it (expand, the
runtimes' values, render, the CI generators) reads only these, never the
shape and never a file. Kept below the compiler and the runtimes, so neither
imports the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .platforms import platform_slug

# The machines developers build on. `LOCAL_PLATFORM=true docker buildx bake`
# builds for the machine's own platform, whatever a service deploys to, so
# every generated Dockerfile knows these too.
LOCAL_PLATFORMS = ("linux/amd64", "linux/arm64")


@dataclass(frozen=True)
class StageValues:
    """Environment and command of one Dockerfile stage (compiler/per_stage.py)."""

    # ENV lines before the service's own `env`: the stage's, for keys the service does not set.
    env_before: dict[str, str] = field(default_factory=dict)
    # ENV lines after it: the service's values for this stage.
    env_after: dict[str, str] = field(default_factory=dict)
    command: tuple[str, ...] | None = None


@dataclass(frozen=True)
class User:
    uid: int = 10001
    gid: int = 10001
    name: str | None = None


@dataclass(frozen=True)
class HealthCheck:
    command: tuple[str, ...] | None  # exec form; None: probe `http`
    http: str | None  # path on the service's port
    interval: str
    timeout: str
    start_period: str
    retries: int


@dataclass(frozen=True)
class Secret:
    id: str
    env: str | None  # exactly one of env and file
    file: str | None
    target: str | None = None  # where a file secret is mounted


@dataclass(frozen=True)
class Cache:
    backend: Literal["registry", "gha"]
    ref: str  # tag scheme of the cache image (registry)
    mode: str


@dataclass(frozen=True)
class Stage:
    """One entry of the stage axis, as every service's target at that stage sees it."""

    name: str
    target: str  # Dockerfile stage, unless a service maps it
    push: bool
    tags: tuple[str, ...] | None  # tag schemes; None: the project's
    output: tuple[str, ...] | None


@dataclass(frozen=True)
class DeployTarget:
    name: str
    platforms: tuple[str, ...]
    single_manifest: bool


@dataclass(frozen=True)
class GithubCi:
    """Settings of the generated GitHub Actions workflow (ci.github)."""

    workflow: str
    name: str
    branches: tuple[str, ...]
    runners: dict[str, str]
    cache: Literal["gha", "registry"]
    username_secret: str
    password_secret: str


@dataclass(frozen=True)
class GitlabCi:
    """Settings of the generated GitLab CI pipeline (ci.gitlab)."""

    file: str  # relative to the project folder: .gitlab-ci.yml, or a file it includes
    branches: tuple[str, ...]
    runners: dict[str, tuple[str, ...]]  # platform -> runner tags a job there asks for
    docker: Literal["dind", "shell"]  # docker-in-docker service, or the runner's own Docker
    docker_image: str  # dind: the jobs' image (docker CLI with buildx)
    dind_image: str  # dind: the Docker daemon service
    python_image: str  # dind: the merge-request plan job's image (runs bakegen)
    stage: str
    registry: str  # REGISTRY, GitLab-expanded
    username_variable: str
    password_variable: str


@dataclass(frozen=True)
class Project:
    """Project-level settings, as targets and generated files read them."""

    name: str
    registry: str
    tag: str
    tags: tuple[str, ...]
    platforms: tuple[str, ...]
    output: str  # '/'-separated, inside the project; "" is the project folder
    source: str | None
    attestations: bool
    metadata_action: bool
    syntax: str | None  # the `# syntax=` image; None: no such line
    templates: str | None  # override folder, checked to exist
    cache: Cache | None
    allow_outside: tuple[str, ...]
    labels: dict[str, str]
    images: dict[str, str]
    stages: dict[str, Stage]
    deploy_targets: dict[str, DeployTarget]
    ci_github: GithubCi | None
    ci_gitlab: GitlabCi | None = None


@dataclass(frozen=True)
class ResolvedService:
    name: str
    runtime: str  # of the service whose image this is (image_of followed)
    root: str  # the service whose image is built: itself unless image_of
    context: str  # '/'-separated, relative to the project folder
    platforms: tuple[str, ...]
    stages: tuple[str, ...]
    deploy: str | None
    single_manifest: bool
    base_build: str | None  # image references, for templated runtimes
    base_run: str | None
    dockerfile: str | None  # the user's Dockerfile (runtime: dockerfile)
    targets: dict[str, str]  # stage -> Dockerfile stage
    args: dict[str, dict[str, str]]  # name -> platform -> value
    env: dict[str, dict[str, str]]
    contexts: dict[str, str] = field(default_factory=dict)
    # Platforms only a local build asks for (LOCAL_PLATFORMS this service is
    # not built for); `args` and `env` have values for them too.
    local_platforms: tuple[str, ...] = ()
    # Environment and command per Dockerfile stage (see per_stage.py).
    stage_values: dict[str, StageValues] = field(default_factory=dict)
    # The service's own settings, normalised.
    user: User = User()
    command: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    port: int | None = None
    healthcheck: HealthCheck | None = None
    labels: dict[str, str] = field(default_factory=dict)
    secrets: tuple[Secret, ...] = ()
    tags: tuple[str, ...] | None = None  # tag schemes; None: the stage's or the project's
    dockerignore: tuple[str, ...] = ()
    production_exclude: tuple[str, ...] = ()
    writable: tuple[str, ...] = ()
    run_as_root: bool = False
    size_budget: dict[str, str] = field(default_factory=dict)  # platform or "default" -> size, e.g. 400MB
    # What the runtime read from the service's files, once (runtimes/*.py say
    # which type); None for services that run another's image.
    facts: object = None
    # Patterns of the .dockerignore bakegen writes beside the service's
    # Dockerfile; None: it writes none (the user's own applies, or nothing is copied).
    ignore: tuple[str, ...] | None = None
    # The files of the build context a build is sent (after the generated
    # .dockerignore, or the user's own), relative to it, '/'-separated, sorted.
    context_files: tuple[str, ...] = ()
    # Every file the build reads, project-relative and sorted: the context's
    # sent files, its named contexts' files, the user's Dockerfile and ignore file.
    input_files: tuple[str, ...] = ()

    @property
    def all_platforms(self) -> tuple[str, ...]:
        return self.platforms + self.local_platforms


@dataclass(frozen=True)
class Resolved:
    project: Project
    services: tuple[ResolvedService, ...]

    @property
    def output(self) -> str:
        return self.project.output

    @property
    def templates(self) -> str | None:
        return self.project.templates

    def service(self, name: str) -> ResolvedService:
        return self._by_name[name]

    @property
    def _by_name(self) -> dict[str, ResolvedService]:
        # Built on first use; a frozen dataclass cannot take it as a field.
        index = self.__dict__.get("_index")
        if index is None:
            index = {s.name: s for s in self.services}
            object.__setattr__(self, "_index", index)
        return index


def local_platforms(platforms: tuple[str, ...]) -> tuple[str, ...]:
    """LOCAL_PLATFORMS a service built for `platforms` does not cover."""
    built = {platform_slug(p) for p in platforms}
    return tuple(p for p in LOCAL_PLATFORMS if platform_slug(p) not in built)


def bake_name(*parts: str) -> str:
    """The bake name for a service/stage: parts joined by '-', '.' replaced by '_'."""
    return "-".join(parts).replace(".", "_")
