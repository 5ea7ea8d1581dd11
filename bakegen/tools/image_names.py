"""The REGISTRY and TAG that image names are made of, checked before docker sees them.

bake fills `${REGISTRY}` and `${TAG}` from the environment when it runs,
long after the matrix was validated. A mistake there (an uppercase
repository, a scheme, a stray slash) would surface as an error from buildx
or from the registry, on the first push, naming neither variable.
`bakegen bake` and `bakegen sizes` check the values they hand over here.

The grammar (distribution's reference) is model/image_ref.py's, which also
checks every tag scheme, with these variables' defaults, at validate time.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import BakegenError, Diagnostic
from ..model.image_ref import NAME_MAX, fill, registry_problems, tag_problems
from ..model.plan import Plan, repository

__all__ = ["CHECKS", "fill", "registry_problems", "tag_problems", "values"]

WHERE = "environment"

CHECKS = {"REGISTRY": registry_problems, "TAG": tag_problems}


def values(plan: Plan, environ: Mapping[str, str]) -> dict[str, str]:
    """Each bake variable's value (the environment's, else the matrix's default), after
    checking REGISTRY, TAG and every tag they make; raises BakegenError naming the variable."""
    found = {v.name: environ.get(v.name, str(v.default)) for v in plan.variables}
    errors = []
    for name, check in CHECKS.items():
        if name not in found:
            continue
        origin = "environment" if name in environ else "matrix default"
        for message, hint in check(found[name]):
            errors.append(Diagnostic(f"{name}={found[name]!r} ({origin}) {message}", file=WHERE, hint=hint))
    if not errors:
        names = [repository(fill(tag, found)) for t in plan.targets for tag in t.tags]
        longest = max(names, key=len, default="")
        if len(longest) > NAME_MAX:
            errors.append(Diagnostic(f"image names may have at most {NAME_MAX} characters; {longest} has "
                                     f"{len(longest)}", file=WHERE, hint="use a shorter REGISTRY"))
    if errors:
        raise BakegenError(errors)
    return found
