"""`bakegen sizes`: pushed image sizes per platform against each service's size_budget.

Sizes are read from the registry with `docker buildx imagetools inspect --raw`
(the image index, then each platform's manifest) and are the compressed
sizes a pull transfers: config plus layers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass

from . import image_names
from ..errors import BakegenError, Diagnostic
from ..model.fields import parse_size
from ..model.plan import Plan, repository
from ..model.resolved import Resolved


@dataclass(frozen=True)
class Measured:
    target: str
    platform: str
    ref: str
    size: int
    budget: int

    @property
    def over(self) -> bool:
        return self.size > self.budget


def _inspect(docker: str, ref: str) -> dict:
    result = subprocess.run([docker, "buildx", "imagetools", "inspect", "--raw", ref],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise BakegenError([Diagnostic(f"cannot inspect {ref}: {result.stderr.strip() or 'no output'}",
                                       file="docker", hint="push the images first, and log in to the registry")])
    return json.loads(result.stdout)


def _manifest_size(manifest: dict) -> int:
    return manifest.get("config", {}).get("size", 0) + sum(layer.get("size", 0) for layer in manifest.get("layers", []))


def measure(plan: Plan, resolved: Resolved) -> list[Measured]:
    """Sizes of every pushed target with a budget, per platform, read from the images
    that REGISTRY and TAG (environment, else the matrix's defaults) name."""
    variables = image_names.values(plan, os.environ)
    docker = shutil.which("docker")
    if docker is None:
        raise BakegenError([Diagnostic("docker is not installed or not on PATH", file="docker",
                                       hint="install Docker with the buildx plugin")])
    out = []
    for t in plan.targets:
        budgets = resolved.service(t.service).size_budget
        if not t.push or not budgets:
            continue
        ref = image_names.fill(t.tags[0], variables)
        top = _inspect(docker, ref)
        if "manifests" in top:  # an index: one manifest per platform
            by_platform = {}
            for entry in top["manifests"]:
                p = entry.get("platform", {})
                if p.get("os") == "unknown":
                    continue  # attestation manifests
                name = "/".join(x for x in (p.get("os"), p.get("architecture"), p.get("variant")) if x)
                by_platform[name] = entry["digest"]
            repo = repository(ref)
            sizes = {name: _manifest_size(_inspect(docker, f"{repo}@{digest}")) for name, digest in by_platform.items()}
        else:  # a single manifest (single_manifest deploy targets)
            sizes = {t.platforms[0]: _manifest_size(top)}
        for platform in t.platforms:
            budget = budgets.get(platform, budgets.get("default"))
            if budget is None:
                continue
            size = sizes.get(platform.removesuffix("/v8"))
            if size is None:
                raise BakegenError([Diagnostic(f"{ref} has no image for {platform}", file="docker")])
            out.append(Measured(t.name, platform, ref, size, parse_size(budget)))
    return out


def table(rows: list[Measured]) -> str:
    lines = ["TARGET  PLATFORM  SIZE  BUDGET  STATUS"]
    for r in rows:
        status = "OVER BUDGET" if r.over else "ok"
        lines.append(f"{r.target}  {r.platform}  {r.size / 1e6:.1f} MB  {r.budget / 1e6:.1f} MB  {status}")
    return "\n".join(lines)
