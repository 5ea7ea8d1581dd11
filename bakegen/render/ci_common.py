"""What the generated CI pipelines share, whichever CI runs them (ci_github.py, ci_gitlab.py).

Both build each pushed target once per platform and push by digest, so they
name platforms, images, registry caches and build order the same way, set
the same bake variables for pushes, and write their YAML alike.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML

from ..model.plan import SBOM, Plan, Target, display, repository


def arch(platform: str) -> str:
    """A short, path-safe name for a platform: linux/arm64 -> arm64, linux/arm/v7 -> arm-v7."""
    return "-".join(platform.split("/")[1:])


def image_name(target: Target) -> str:
    """The repository of a target's first tag, for pushing by digest."""
    return repository(display(target.tags[0]))


def dependencies(target: Target) -> list[str]:
    """Targets whose image this target starts from (bake `target:` contexts)."""
    return [v.removeprefix("target:") for v in target.contexts.values() if v.startswith("target:")]


def registry_cache(target: Target, platform: str) -> str:
    """The registry cache of one target on one platform: an image of its own next to the
    target's, so platforms (and stages) do not overwrite each other's cache."""
    return f"type=registry,ref={image_name(target)}:cache-{target.stage}-{arch(platform)}"


def push_variables(plan: Plan) -> dict[str, str]:
    """Bake variables every CI push sets: pushed images carry their SBOM (local builds need
    no scanner image)."""
    return {SBOM: "true"} if any(v.name == SBOM for v in plan.variables) else {}


def bakegen_requirement(plan: Plan) -> str:
    """What a CI job that runs bakegen installs by default: the wheel of the version that wrote
    the file, kept in the repository (`pip wheel --no-deps -w tools .` in a clone of bakegen).
    Never a name on PyPI: bakegen is not published there, and a name there could be anyone's."""
    return f"tools/bakegen-{plan.version}-py3-none-any.whl"


def dump_yaml(data: dict[str, Any]) -> str:
    """A pipeline as YAML: block style, scripts as literal blocks, no line folded."""
    yaml = YAML(typ="rt", pure=True)
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()
