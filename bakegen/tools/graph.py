"""`bakegen graph`: services, their stages' targets, platforms, base images and image_of edges."""

from __future__ import annotations

import re

from ..model.plan import Plan
from ..model.resolved import Resolved


def _id(kind: str, name: str) -> str:
    return f"{kind}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"


def edges(resolved: Resolved, plan: Plan) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """(nodes, edges): nodes are (id, label, kind); edges are (from, to, label)."""
    nodes: dict[str, tuple[str, str, str]] = {}
    out: list[tuple[str, str, str]] = []

    def node(kind: str, name: str, label: str | None = None) -> str:
        key = _id(kind, name)
        nodes.setdefault(key, (key, label or name, kind))
        return key

    for service in resolved.services:
        s = node("service", service.name)
        if service.root != service.name:
            out.append((s, node("service", service.root), "image of"))
        else:
            for image in dict.fromkeys(i for i in (service.base_build, service.base_run) if i):
                out.append((s, node("image", image), "builds from"))
    for t in plan.targets:
        target = node("target", t.name, f"{t.name} ({t.stage})")
        out.append((node("service", t.service), target, t.stage))
        for platform in t.platforms:
            out.append((target, node("platform", platform), ""))
    return list(nodes.values()), out


def mermaid(resolved: Resolved, plan: Plan) -> str:
    nodes, links = edges(resolved, plan)
    shapes = {"service": ('["', '"]'), "target": ('("', '")'), "platform": ('{{"', '"}}'), "image": ('[("', '")]')}
    lines = ["flowchart LR"]
    for key, label, kind in nodes:
        left, right = shapes[kind]
        lines.append(f"  {key}{left}{label.replace(chr(34), '#quot;')}{right}")
    for a, b, label in links:
        lines.append(f"  {a} -->|{label}| {b}" if label else f"  {a} --> {b}")
    return "\n".join(lines) + "\n"


def dot(resolved: Resolved, plan: Plan) -> str:
    nodes, links = edges(resolved, plan)
    shapes = {"service": "box", "target": "ellipse", "platform": "hexagon", "image": "cylinder"}
    lines = ["digraph bakegen {", "  rankdir=LR;"]
    for key, label, kind in nodes:
        lines.append(f'  {key} [label="{label}", shape={shapes[kind]}];')
    for a, b, label in links:
        lines.append(f'  {a} -> {b} [label="{label}"];' if label else f"  {a} -> {b};")
    lines.append("}")
    return "\n".join(lines) + "\n"
