"""The `--allow` entitlements `docker buildx bake` asks for to run a bake file.

buildx 0.19 and later refuse (or prompt for) a bake file that reads or
writes outside the working directory, forwards the SSH agent or asks for
host networking, unless the command grants it with `--allow`. What the file
needs comes from two places: the plan (folders outside the project, secret
files, local outputs) and the rendered text, which template overrides may
extend (an `ssh` or `entitlements` attribute). Older buildx has no `--allow`
and needs none.
"""

from __future__ import annotations

import posixpath
import re

from ..model.plan import Plan

# buildx versions: the first that checks entitlements in bake.
ALLOW_SINCE = (0, 19)

_SSH = re.compile(r"^\s*ssh\s*=", re.MULTILINE)
_NETWORK_HOST = re.compile(r'^\s*network\s*=\s*"host"', re.MULTILINE)
_ENTITLEMENTS = re.compile(r"^\s*entitlements\s*=\s*\[([^\]]*)\]", re.MULTILINE)
_QUOTED = re.compile(r'"([^"\\]*)"')


def _outside(path: str) -> bool:
    """Whether a project-relative or absolute path leaves the project folder."""
    return posixpath.isabs(path) or posixpath.normpath(path).startswith("..")


def from_plan(plan: Plan) -> list[str]:
    """Entitlements the plan's own values need."""
    needed = [f"fs.read={p}" for p in plan.allow_reads]
    for target in plan.targets:
        for secret in target.secret:
            fields = dict(f.split("=", 1) for f in secret.split(",") if "=" in f)
            if "src" in fields and _outside(fields["src"]):
                needed.append(f"fs.read={fields['src']}")
        for output in target.output:
            fields = dict(f.split("=", 1) for f in output.split(",") if "=" in f)
            if fields.get("type") in ("local", "tar") and fields.get("dest", "-") != "-":
                needed.append(f"fs.write={fields['dest']}")
    return needed


def from_text(bake_text: str) -> list[str]:
    """Entitlements that attributes in the rendered bake file ask for."""
    # A word the text lacks needs no pattern run over a few megabytes.
    needed = []
    if "ssh" in bake_text and _SSH.search(bake_text):
        needed.append("ssh")
    if "network" in bake_text and _NETWORK_HOST.search(bake_text):
        needed.append("network.host")
    if "entitlements" in bake_text:
        for match in _ENTITLEMENTS.finditer(bake_text):
            needed.extend(_QUOTED.findall(match.group(1)))
    return needed


def flags(entitlements: list[str]) -> tuple[str, ...]:
    """`--allow=...` flags, one per distinct entitlement, in a stable order."""
    return tuple(f"--allow={e}" for e in sorted(set(entitlements)))


def command(allow: tuple[str, ...]) -> str:
    return " ".join(["docker buildx bake", *allow])
