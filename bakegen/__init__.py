"""bakegen: compile matrix.yaml into Dockerfiles and a docker-bake.hcl.

The public API is what `__all__` lists; everything else may change.
"""

from .errors import BakegenError, Diagnostic
from .model.plan import Group, Plan, Target
from .pipeline import Rendered, build_plan, render_project
from .version import __version__

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
