"""What the registry already holds: an image of a target built from the same inputs.

A pushed target need not be built again when the registry has an image
for it whose every platform carries the target's input digest (the
`dev.bakegen.inputs` label) and whose platforms are the target's: its tags
can point at that image instead (`docker buildx imagetools create`). It is
looked for at the target's own tags, with TAG as the environment sets it
and as each `reuse_tags` value (the commit before: `sha-<before>`), and
at its fixed tags (`latest`). One `imagetools inspect` per candidate,
several at a time.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..errors import BakegenError, Diagnostic
from ..model.plan import Plan, Target, repository
from . import image_names
from .digests import LABEL

# Registry requests in flight at once.
WORKERS = 8
FORMAT = '{"manifest":{{json .Manifest}},"image":{{json .Image}}}'


@dataclass(frozen=True)
class Held:
    """An image in the registry built from a target's inputs."""

    ref: str  # where it was found, e.g. registry.example.com/shop/api:latest
    source: str  # the image itself, pinned: registry.example.com/shop/api@sha256:...


@dataclass(frozen=True)
class Lookup:
    held: dict[str, Held]  # target -> the image found
    problems: tuple[str, ...]  # candidates that could not be read for another reason than absence


def candidates(t: Target, variables: Mapping[str, str], reuse_tags: Sequence[str]) -> list[str]:
    """Where an image of `t` may be: each tag with TAG as set, then as each of `reuse_tags`."""
    out: list[str] = []
    for tag_value in (variables.get("TAG", ""), *reuse_tags):
        for tag in t.tags:
            ref = image_names.fill(tag, {**variables, "TAG": tag_value})
            if ref not in out:
                out.append(ref)
    return out


def lookup(plan: Plan, digests: Mapping[str, str], names: Iterable[str], environ: Mapping[str, str],
           reuse_tags: Sequence[str] = (), docker: str | None = None) -> Lookup:
    """For each target of `names` (pushed ones), the image the registry holds with its input
    digest (`digests`: target -> digest), if any.

    REGISTRY and TAG come from `environ` (else the matrix's defaults) and
    are checked first. Raises BakegenError when docker is missing.
    """
    variables = image_names.values(plan, environ)
    docker = docker or shutil.which("docker")
    if docker is None:
        raise BakegenError([Diagnostic("docker is not installed or not on PATH", file="--registry",
                                       hint="install Docker with the buildx plugin, or leave out --registry")])
    targets = [plan.target(n) for n in names if plan.target(n).push]

    def find(t: Target) -> tuple[str, Held | None, list[str]]:
        problems = []
        for ref in candidates(t, variables, reuse_tags):
            found, problem = _inspect(docker, ref)
            if problem:
                problems.append(f"{ref}: {problem}")
            if found is not None and matches(t, digests[t.name], found):
                return t.name, Held(ref, f"{repository(ref)}@{found['manifest']['digest']}"), problems
        return t.name, None, problems

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(find, targets))
    return Lookup({name: held for name, held, _ in results if held is not None},
                  tuple(p for _, _, problems in results for p in problems))


def matches(t: Target, digest: str, found: dict) -> bool:
    """Whether `found` (imagetools inspect: manifest and image config) is `t` built from
    inputs with `digest`: every platform labelled so, the target's platforms exactly,
    and one manifest for a single-manifest target, an index otherwise."""
    manifest, image = found.get("manifest") or {}, found.get("image") or {}
    is_index = "manifests" in manifest
    if is_index == t.single_manifest or "digest" not in manifest:
        return False
    if is_index:
        platforms = [_platform(m.get("platform") or {}) for m in manifest["manifests"]
                     if (m.get("platform") or {}).get("os") != "unknown"]
        # imagetools prints one config for an index of one image, else one per platform.
        configs = {platforms[0]: image} if len(platforms) == 1 and _is_config(image) else image
    else:
        configs = {t.platforms[0]: image}
    if not isinstance(configs, dict) or {_name(p) for p in configs} != {_name(p) for p in t.platforms}:
        return False
    return all(((c or {}).get("config") or {}).get("Labels", {}).get(LABEL) == digest for c in configs.values())


def _is_config(value: object) -> bool:
    return isinstance(value, dict) and "architecture" in value and "config" in value


def _platform(entry: dict) -> str:
    return "/".join(x for x in (entry.get("os"), entry.get("architecture"), entry.get("variant")) if x)


def _name(platform: str) -> str:
    return platform.removesuffix("/v8") if platform.startswith("linux/arm64") else platform


def _inspect(docker: str, ref: str) -> tuple[dict | None, str | None]:
    """The manifest and image config(s) at `ref`; (None, None) when there is none there,
    (None, why) when it could not be read."""
    try:
        result = subprocess.run([docker, "buildx", "imagetools", "inspect", "--format", FORMAT, ref],
                                capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        return None, "no answer in 120 s"
    if result.returncode != 0:
        message = " ".join(result.stderr.split()) or "no output"
        return None, None if "not found" in message.lower() else message
    try:
        return json.loads(result.stdout), None
    except json.JSONDecodeError:
        return None, "unreadable output of imagetools inspect"
