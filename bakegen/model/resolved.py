"""The resolved project: every service with its references followed and defaults applied.

The values resolve.py produces, and runtimes/ and expand.py read: kept below
both, so neither imports the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import schema
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
class ResolvedService:
    name: str
    spec: schema.Service
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

    @property
    def all_platforms(self) -> tuple[str, ...]:
        return self.platforms + self.local_platforms


@dataclass(frozen=True)
class Resolved:
    matrix: schema.Matrix
    services: tuple[ResolvedService, ...]
    output: str = "generated"  # '/'-separated, inside the project; "" is the project folder
    templates: str | None = None  # override folder, checked to exist

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
