"""How platforms are named where BuildKit picks a stage per platform."""

from __future__ import annotations


def platform_slug(platform: str) -> str:
    """The suffix BuildKit's ${TARGETOS}-${TARGETARCH}${TARGETVARIANT} gives `platform`.

    arm64's default variant v8 is normalised away by BuildKit, so it is here too.
    """
    parts = platform.split("/")
    if parts[1:] == ["arm64", "v8"]:
        parts = parts[:2]
    return f"{parts[0]}-{parts[1]}{''.join(parts[2:])}"
