"""bakegen: compile matrix.yaml into Dockerfiles and a docker-bake.hcl.

The public API is what `__all__` lists; everything else may change. Its
names are imported on first use, so `bakegen --version` and the CLI's
start-up build no pydantic model they do not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .errors import BakegenError, Diagnostic
    from .model.plan import Group, Plan, Target
    from .pipeline import Rendered, build_plan, render_project

__all__ = [
    "BakegenError",
    "Diagnostic",
    "Group",
    "Plan",
    "Rendered",
    "Target",
    "__version__",
    "build_plan",
    "render_project",
]

_HOMES = {
    "BakegenError": "errors", "Diagnostic": "errors",
    "Group": "model.plan", "Plan": "model.plan", "Target": "model.plan",
    "Rendered": "pipeline", "build_plan": "pipeline", "render_project": "pipeline",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'bakegen' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value
