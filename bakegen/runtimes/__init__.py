"""One module per runtime, behind one small interface.

A runtime says which images it builds from by default, checks what only it
can check (a user's Dockerfile has the stages we target), and turns a
resolved service into the values its Dockerfile template renders. Adding a
runtime means adding one module here and one template.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import Diagnostic
from ..model.schema import BaseImages, Matrix

if TYPE_CHECKING:
    from ..model.resolved import Resolved, ResolvedService


class Runtime(Protocol):
    name: str
    # Template under templates/ that renders this runtime's Dockerfile, or
    # None when the user brings the Dockerfile.
    template: str | None

    def default_base(self) -> BaseImages: ...

    # The exec-form command that probes `url` with a tool the image has, or
    # None when the image has none (then an http health check is refused).
    def http_probe(self, url: str) -> list[str] | None: ...

    def check(self, service: ResolvedService, matrix: Matrix, project_dir: Path) -> list[Diagnostic]: ...

    def values(self, service: ResolvedService, resolved: Resolved, project_dir: Path) -> dict[str, Any]: ...

    def warnings(self, service: ResolvedService, project_dir: Path) -> list[str]: ...

    # Named contexts the service needs beyond its `contexts` (name -> project-relative folder).
    def extra_contexts(self, service: ResolvedService, project_dir: Path) -> dict[str, str]: ...

    # Default .dockerignore patterns of this runtime's build contexts.
    IGNORE: tuple[str, ...]


def get(name: str) -> Runtime:
    from . import dockerfile, go, image_of, python

    modules: dict[str, Runtime] = {
        "python": python,
        "go": go,
        "dockerfile": dockerfile,
        "image_of": image_of,
    }
    return modules[name]
