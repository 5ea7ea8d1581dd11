"""One module per runtime, behind one small interface (base.Runtime).

A runtime says which images it builds from by default, reads and checks
what only it can (a Python project's lock file, a user's Dockerfile's
stages) once while the compiler resolves, and turns a resolved service into
the values its Dockerfile template renders. Adding a runtime means adding
one module here and one template.
"""

from __future__ import annotations

from .base import Runtime

__all__ = ["Runtime", "get"]


def get(name: str) -> Runtime:
    """The runtime called `name`: python, go, dockerfile, or image_of (a service running another's image)."""
    from . import dockerfile, go, image_of, python

    modules = {"python": python, "go": go, "dockerfile": dockerfile, "image_of": image_of}
    return modules[name].runtime
