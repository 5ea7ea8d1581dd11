"""Services that run another service's image with a different command.

The other service's image is built once; each stage of this service is a
thin stage on top of it, reached through a bake `target:` named context,
so BuildKit builds the shared image a single time for all its users.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import common
from .base import Runtime

if TYPE_CHECKING:
    from ..model.resolved import Resolved, ResolvedService


def base_context(target: str) -> str:
    """Name of the named context that carries the shared image for Dockerfile stage `target`."""
    return f"image-{target or 'last-stage'}"


@dataclass(frozen=True)
class ImageOfValues(common.CommonValues):
    """What image-of.Dockerfile.j2 renders."""

    root: str  # the service whose image this is
    stages: dict[str, str]  # Dockerfile stage -> the named context holding the shared image


class ImageOf(Runtime):
    name = "image_of"
    template = "image-of.Dockerfile.j2"
    # The thin Dockerfile copies nothing from its context.
    IGNORE = ()

    def values(self, service: ResolvedService, resolved: Resolved) -> ImageOfValues:
        from . import get

        root = resolved.service(service.root)
        probe = get(root.runtime).http_probe
        shared = common.shared_values(service, probe)
        # Only the service's own port is exposed; an http health check may
        # probe the port of the service whose image this is.
        shared["healthcheck"] = common.healthcheck(service, service.port or root.port, probe)
        # For the stages that add a user (they run a shell on the build platform).
        shared["base_build"] = root.base_build
        return ImageOfValues(
            **shared,
            root=service.root,
            stages={service.targets[s]: base_context(service.targets[s]) for s in service.stages},
        )


runtime = ImageOf()
