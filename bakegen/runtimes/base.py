"""The interface every runtime implements, with the defaults most of them share.

A runtime has two moments. While the compiler resolves (it may read the
matrix's shape and the project's files), `facts` reads what the runtime
needs to know about one service, once, into a frozen value, and checks it.
After that (expand), `warnings`, `extra_contexts` and `values` see only the
resolved service and those facts: no file, no pydantic model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ..errors import Diagnostic

if TYPE_CHECKING:
    from ..files.project import ProjectFiles
    from ..model import schema
    from ..model.resolved import Resolved, ResolvedService


class Runtime:
    name: ClassVar[str]
    # Template under templates/ that renders this runtime's Dockerfile, or
    # None when the user brings the Dockerfile.
    template: ClassVar[str | None] = None
    # Dockerfile stages of the template that a bake target may build; () for any.
    STAGES: ClassVar[tuple[str, ...]] = ()
    # Default .dockerignore patterns of this runtime's build contexts; ()
    # writes none (the user's own .dockerignore applies).
    IGNORE: ClassVar[tuple[str, ...]] = ()

    def default_base(self) -> schema.BaseImages | None:
        """The `images` keys a service builds from when it names no `base`; None: it names its own."""
        return None

    def http_probe(self, url: str) -> list[str] | None:
        """The exec-form command that probes `url` with a tool the image has; None if it has none."""
        return None

    def facts(self, service: ResolvedService, spec: schema.Service, matrix: schema.Matrix,
              files: ProjectFiles) -> tuple[object, list[Diagnostic]]:
        """What this runtime reads about `service`, once, and the problems found in it."""
        return None, self.stage_errors(service)

    def stage_errors(self, service: ResolvedService) -> list[Diagnostic]:
        """A stage mapped to a Dockerfile stage the template does not have."""
        if not self.STAGES:
            return []
        return [Diagnostic(f"stage '{stage}' maps to Dockerfile stage '{target}', which the {self.name} "
                           "template does not have",
                           path=("stages", stage, "target"), hint=f"{self.name} stages: {', '.join(self.STAGES)}")
                for stage, target in service.targets.items() if target not in self.STAGES]

    def warnings(self, service: ResolvedService) -> list[str]:
        return []

    def images(self, service: ResolvedService) -> tuple[str, ...]:
        """The image references `service`'s build starts from (a user's Dockerfile names its own)."""
        return tuple(dict.fromkeys(i for i in (service.base_build, service.base_run) if i))

    def extra_contexts(self, service: ResolvedService) -> dict[str, str]:
        """Named contexts the service needs beyond its `contexts` (name -> project-relative folder)."""
        return {}

    def values(self, service: ResolvedService, resolved: Resolved) -> object:
        """What this runtime's template renders for `service` (runtimes with a template)."""
        raise NotImplementedError(f"runtime {self.name} has no template")
