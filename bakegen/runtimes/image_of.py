"""Services that run another service's image with a different command.

The other service's image is built once; each stage of this service is a
thin stage on top of it, reached through a bake `target:` named context,
so BuildKit builds the shared image a single time for all its users.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Diagnostic
from ..model.schema import BaseImages, Matrix
from . import common

if TYPE_CHECKING:
    from ..model.resolved import Resolved, ResolvedService

name = "image_of"
template = "image-of.Dockerfile.j2"


def base_context(target: str) -> str:
    """Name of the named context that carries the shared image for Dockerfile stage `target`."""
    return f"image-{target}"

# The thin Dockerfile copies nothing from its context.
IGNORE: tuple[str, ...] = ()


def default_base() -> BaseImages:  # pragma: no cover - never builds from a base image
    raise NotImplementedError


def check(service: ResolvedService, matrix: Matrix, project_dir: Path) -> list[Diagnostic]:
    return []


def extra_contexts(service: ResolvedService, project_dir: Path) -> dict[str, str]:
    return {}


def warnings(service: ResolvedService, project_dir: Path) -> list[str]:
    return []


def values(service: ResolvedService, resolved: Resolved, project_dir: Path) -> dict[str, Any]:
    from . import get

    root = resolved.service(service.root)
    probe = get(root.runtime).http_probe
    return {
        **common.shared_values(service),
        "root": service.root,
        # Only the service's own port is exposed; an http health check may
        # probe the port of the service whose image this is.
        "port": service.spec.port,
        # For the stages that add a user (they run a shell on the build platform).
        "base_build": root.base_build,
        # Dockerfile stage -> the named context holding the shared image.
        "stages": {service.targets[s]: base_context(service.targets[s]) for s in service.stages},
        "healthcheck": common.healthcheck(service, service.spec.port or root.spec.port, probe),
    }
