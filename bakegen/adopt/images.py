"""Image references: split into registry, name and tag, and turned into tag schemes.

The importers meet literal image names (`registry.example.com/shop/api:1.4`);
a matrix writes tag schemes (`{registry}/{service}:{tag}`) whose bake
variables evaluate to the same names, so CI can retarget them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class ImageRef:
    registry: str  # everything before the last '/', or '' for a bare name
    name: str
    tag: str  # '' when the reference names no tag

    @classmethod
    def parse(cls, ref: str) -> ImageRef:
        ref = ref.split("@", 1)[0]
        path, tag = ref, ""
        head, sep, tail = ref.rpartition(":")
        if sep and "/" not in tail:
            path, tag = head, tail
        registry, _, name = path.rpartition("/")
        return cls(registry, name, tag)


def choose_registry(refs: list[ImageRef]) -> str | None:
    """The registry most references use (first seen wins a tie), or None if none names one."""
    counts = Counter(r.registry for r in refs if r.registry)
    return max(counts, key=lambda k: counts[k]) if counts else None


def choose_tag(refs: list[ImageRef], stages: set[str] = frozenset()) -> str | None:  # type: ignore[assignment]
    """The tag most references use (no tag is `latest`), leaving out tags that only name a stage."""
    # A tag that is already a scheme (`{tag}`, for a variable compose requires) names no default.
    counts = Counter(r.tag or "latest" for r in refs if r.tag not in stages and "{" not in r.tag)
    return max(counts, key=lambda k: counts[k]) if counts else None


def scheme(ref: ImageRef, service: str, stage: str, registry: str | None, tag: str | None) -> str:
    """A tag scheme that evaluates to `ref` for `service` at `stage`.

    A reference without a tag means `latest` to Docker; the scheme spells it out,
    as `{tag}` when `latest` is the project's tag (TAG's default), so that TAG
    applies to it as to every other name.
    """
    name = "{service}" if ref.name == service.lower() else ref.name
    if ref.registry and ref.registry == registry:
        prefix = "{registry}/"
    else:
        prefix = f"{ref.registry}/" if ref.registry else ""
    value = ref.tag or "latest"
    if value == stage:
        value = "{stage}"
    elif value == (tag or "latest"):
        value = "{tag}"
    elif tag and value.startswith(tag + "-") and value[len(tag) + 1:] == stage:
        value = "{tag}-{stage}"
    return f"{prefix}{name}:{value}"
