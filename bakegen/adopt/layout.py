"""Turn imported builds (Units) into a Draft: stages, shared images, tags, services.

Both importers describe what they found as Units, one per image the old
setup builds with a Dockerfile, and this module decides how the matrix
says it, so compose and bake imports lay out the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..model.fields import NAME_PATTERN
from . import images
from .dockerfiles import DockerfileInfo
from ..runtimes.dockerfile import is_root
from .draft import Draft

# Dockerfile targets that are the image a team ships, whatever their position.
PUSHED_NAMES = ("production", "prod", "release", "runtime", "final")
# Stands for a Dockerfile's final stage when it has no name (`FROM image` without
# `AS`); the matrix says null there, and bake builds the last stage.
UNNAMED_FINAL = "runtime"


def unnamed_final(info: DockerfileInfo | None, target: str) -> bool:
    """Whether `target` stands for `info`'s final stage, which has no name."""
    return info is not None and not info.last and target == UNNAMED_FINAL
# Where a Dockerfile builds for the machine that runs the build, the matrix
# builds this platform (what CI machines are) and says so.
BUILD_MACHINE = "linux/amd64"
# A local `registry:2` container: the default where nothing names a registry.
LOCAL_REGISTRY = "localhost:5000"
SHIPPED = "production"
KNOWN_STAGES = ("development", "test", "production")
# Stage names that say what a stage is for, whatever its position: a development
# environment (`dev-envs` for Docker Dev Environments, `devcontainer`), or tests.
DEVELOPMENT = re.compile(r"^(?:dev|devel|develop|development|dev[-_.]?envs?|dev[-_.]?containers?|debug|local)$")
TESTING = re.compile(r"^(?:tests?|testing|ci|e2e|integration(?:[-_]tests?)?|unit[-_]?tests?)$")


def role(name: str) -> str | None:
    """"development" or "test" for a stage or service name that says so; None otherwise."""
    return "development" if DEVELOPMENT.match(name) else "test" if TESTING.match(name) else None


def shipped_target(info: DockerfileInfo) -> str | None:
    """The stage a Dockerfile ships: the one named production, else the final one (""
    when it has no name), unless its name says it is a development or test environment
    (`dev-envs`): then the last stage before it that is neither. None: no such stage."""
    if "production" in info.stages:
        return "production"
    if role(info.last or "") is None:
        return info.last or ""
    before = [s.name for s in info.sections if s.name and role(s.name) is None]
    return before[-1] if before else None


def project_name(text: str) -> str:
    """`text` as a matrix name: lowercase letters, digits, '.', '_' and '-'."""
    name = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._") or "app"
    return name[:64]


@dataclass
class Unit:
    """One image the old setup builds from a user's Dockerfile."""

    name: str  # the matrix service name
    origin: str  # "file:line" it came from
    context: str  # relative to the matrix folder
    dockerfile: str  # relative to the matrix folder
    info: DockerfileInfo | None = None
    compose_name: str = ""
    stages: dict[str, str] = field(default_factory=dict)  # stage -> Dockerfile target
    args: dict[str, str] = field(default_factory=dict)
    platforms: tuple[str, ...] = ()  # () when the old setup names none
    contexts: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    images: dict[str, list[str]] = field(default_factory=dict)  # stage -> image references
    run: dict[str, Any] = field(default_factory=dict)  # command, port, healthcheck, env
    run_lines: dict[str, int] = field(default_factory=dict)
    profiles: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # more matrix keys (deploy, ...)
    language: str | None = None  # "python" or "go": a runtime that could generate its Dockerfile

    def __post_init__(self) -> None:
        self.compose_name = self.compose_name or self.name

    def build_key(self) -> tuple[Any, ...]:
        """Units with equal keys build the same images (at whichever stages each uses)."""
        return (self.context, self.dockerfile, tuple(sorted(self.args.items())), self.platforms,
                tuple(sorted(self.contexts.items())), tuple(sorted(self.labels.items())))


class StageAxis:
    """The matrix's stages, in the order the old setup's targets appear."""

    def __init__(self) -> None:
        self.push: dict[str, bool] = {}

    def ordered(self, units: list[Unit]) -> dict[str, bool]:
        """The stages in the order their Dockerfiles define them (development before production)."""
        def position(stage: str) -> int:
            found = [u.info.stages.index(t) for u in units for s, t in u.stages.items()
                     if s == stage and u.info and t in u.info.stages]
            return min(found, default=len(self.push) + 1000)
        # What ships comes last, after the stages that lead to it.
        order = sorted(self.push, key=lambda s: (s == SHIPPED, s == "test", position(s), list(self.push).index(s)))
        return {s: self.push[s] for s in order}

    def add_target(self, unit: Unit, target: str | None, where: str, draft: Draft, harness: bool = False,
                   ships: bool = False) -> str:
        """Record that `unit` builds Dockerfile stage `target` (None: the final one); return the stage name.

        The final stage is what ships (production), unless its name says it is a
        development environment, or `harness`: the old setup runs it to test.
        `ships`: `target` is what the Dockerfile ships, wherever it is (shipped_target).
        """
        info = unit.info
        if target is None:
            target = info.last if info and info.last else UNNAMED_FINAL
        elif info and target not in info.stages:
            draft.edit(f"{unit.dockerfile} has no stage '{target}' ({where})", unit.dockerfile, ("targets", "dockerfile"))
        final = ships or info is not None and (target == info.last or unnamed_final(info, target))
        # The image a Dockerfile ends with is what a team ships: the production stage of the axis,
        # so `docker buildx bake production` builds every service's, whatever its Dockerfile calls it.
        stage = target if re.match(NAME_PATTERN, target) else project_name(target)
        kind = "test" if harness else role(target) if final and not ships else None
        axis = kind or SHIPPED
        if final and target not in KNOWN_STAGES and unit.stages.get(axis, target) == target:
            stage = axis
        unit.stages[stage] = target
        shipped = (final and kind is None) or (target in PUSHED_NAMES and not harness)
        self.push[stage] = self.push.get(stage, False) or shipped
        return stage

    def ships(self, unit: Unit) -> bool:
        """Whether any stage `unit` builds is pushed."""
        return any(self.push.get(s) for s in unit.stages)


def _shared_groups(units: list[Unit]) -> list[list[Unit]]:
    groups: dict[tuple[Any, ...], list[Unit]] = {}
    for u in units:
        groups.setdefault(u.build_key(), []).append(u)
    return list(groups.values())


def _taken_names(units: list[Unit], axis: StageAxis) -> set[str]:
    return {u.name for u in units} | set(axis.push) | {"default", "push"}


def _rename_clashing_stages(units: list[Unit], axis: StageAxis) -> None:
    """Stages, services and groups share bake's namespace: a stage named like a service is renamed."""
    names = {u.name for u in units}
    for stage in [s for s in axis.push if s in names]:
        new = f"{stage}-stage"
        axis.push = {new if s == stage else s: p for s, p in axis.push.items()}
        for u in units:
            u.stages = {new if s == stage else s: t for s, t in u.stages.items()}
            u.images = {new if s == stage else s: i for s, i in u.images.items()}


def build_draft(draft: Draft, name: str, units: list[Unit], axis: StageAxis,
                deploy_targets: dict[str, Any] | None = None) -> None:
    """Fill `draft.data` from `units`: the matrix for project `name`.

    Units with `deploy` in `extra` build the platforms of that entry of `deploy_targets`.
    """
    _rename_clashing_stages(units, axis)
    taken = _taken_names(units, axis)
    # (matrix name, the unit that builds, the compose services that run it)
    services: list[tuple[str, Unit, list[Unit]]] = []
    for group in _shared_groups(units):
        if len(group) == 1:
            services.append((group[0].name, group[0], []))
            continue
        root = name if name not in taken else f"{group[0].name}-image"
        taken.add(root)
        builder = Unit(name=root, origin=group[0].origin, context=group[0].context, dockerfile=group[0].dockerfile,
                       info=group[0].info, args=group[0].args, platforms=group[0].platforms,
                       contexts=group[0].contexts, labels=group[0].labels, extra=group[0].extra,
                       language=group[0].language)
        for u in group:
            builder.stages.update(u.stages)
        services.append((root, builder, group))

    _separate_shared_names(units, draft)
    for unit in units:
        _limit_platforms(unit, draft)
    refs = [images.ImageRef.parse(r) for u in units for rs in u.images.values() for r in rs]
    registry = images.choose_registry(refs)
    tag = images.choose_tag(refs, set(axis.push))

    project: dict[str, Any] = {"name": name}
    required = next((u.extra["_required_registry"] for u in units if "_required_registry" in u.extra), None)
    if registry and required and registry.startswith(LOCAL_REGISTRY):
        project["registry"] = registry
        draft.comment(("project", "registry"), f"CHANGE: compose took the registry from {required}, which it",
                      "requires; here the bake variable REGISTRY does, with a local `registry:2` container as its",
                      "default: `REGISTRY=... docker buildx bake push --push` pushes elsewhere.")
    elif registry:
        project["registry"] = registry
        draft.comment(("project", "registry"), "The registry most image names use; the bake variable REGISTRY",
                      "defaults to it, so `REGISTRY=... docker buildx bake push --push` pushes elsewhere.")
    else:
        project["registry"] = f"{LOCAL_REGISTRY}/{name}"
        draft.comment(("project", "registry"), "CHANGE: where `docker buildx bake push --push` pushes. The old setup",
                      "named no registry; localhost:5000 is a local `registry:2` container.")
    if tag and tag != "latest":
        project["tag"] = tag
    explicit = {u.platforms for _, u, _ in services if "deploy" not in u.extra}
    if not explicit:
        pass  # every service is on a deploy target: the default never applies
    elif len(explicit) == 1 and () not in explicit:
        project["platforms"] = list(next(iter(explicit)))
    else:
        project["platforms"] = ["linux/amd64", "linux/arm64"]
        if () in explicit:
            draft.comment(("project", "platforms"),
                          "Builds that named no platform built for the machine they ran on; these build",
                          "for both. `LOCAL_PLATFORM=true docker buildx bake` builds for this machine only.")
    draft.data = {"version": 1, "project": project, "stages": {}}
    for stage, push in axis.ordered(units).items():
        draft.data["stages"][stage] = {"push": True} if push else None
    if deploy_targets:
        draft.data["deploy_targets"] = deploy_targets
    draft.comment(("stages",), "The Dockerfile stages the old setup builds; each is a bake group",
                  "(`docker buildx bake production`). production is the stage each Dockerfile ends with, and is",
                  "pushed; a service's `targets` names it where its Dockerfile calls it otherwise.")

    out: dict[str, Any] = {}
    tags = _Tags(draft, registry, tag, axis)
    for matrix_name, unit, runners in services:
        out[matrix_name] = _built_service(draft, matrix_name, unit, project, axis, bool(runners))
        if runners:
            names = ", ".join(r.compose_name for r in runners)
            draft.comment(("services", matrix_name), f"One image for {names}: built once, each runs it with",
                          "its own command (compose built it once per service).")
            shared_refs = {tuple(r.images.get(s, [])) for r in runners for s in r.stages}
            if len(shared_refs) == 1:
                tags.assign(out[matrix_name], matrix_name, unit)
            for runner in runners:
                derived: dict[str, Any] = {"image_of": matrix_name}
                if list(runner.stages) != list(unit.stages):
                    derived["stages"] = list(runner.stages)
                derived.update(runner.run)
                if runner.run.get("healthcheck") and "port" not in runner.run and "port" in unit.run:
                    derived["port"] = unit.run["port"]
                out[runner.name] = derived
                if len(shared_refs) != 1:
                    tags.assign(derived, runner.name, runner)
        else:
            tags.assign(out[matrix_name], matrix_name, unit)
            _run_comments(draft, matrix_name, unit)
    tags.finish(out)
    draft.data["services"] = out


def _limit_platforms(unit: Unit, draft: Draft) -> None:
    if unit.info is not None:
        before = ", ".join(unit.platforms) if unit.platforms else "for the machine it ran on"
        chosen = platform_limit(unit.info, list(unit.stages.values()), unit.name, unit.dockerfile, before, draft)
        if chosen is not None:
            unit.platforms = (chosen,)


def platform_limit(info: DockerfileInfo, targets: list[str], service: str, dockerfile: str, before: str,
                   draft: Draft) -> str | None:
    """The one platform a service built from `info` at `targets` can be built for, if its
    Dockerfile ties its image or binary to one (FROM --platform=linux/amd64, GOARCH=amd64,
    a go build on the build machine that reads no TARGETARCH); None: any. Never widen
    platforms silently: each reason is noted at its line. `before`: what the old setup built."""
    limits: dict[tuple[int, str], str | None] = {}
    for target in targets:
        unnamed = unnamed_final(info, target)
        for platform, line, why in info.platform_limits(None if unnamed else target):
            limits[(line, why)] = platform
    fixed = sorted({p for p in limits.values() if p})
    machine = any(p is None for p in limits.values())
    chosen = fixed[0] if len(fixed) == 1 else BUILD_MACHINE if machine and not fixed else None
    for (line, why), platform in limits.items():
        if platform == "" or chosen is None:
            draft.note(why, dockerfile, line, service)
        elif platform is None:
            draft.note(f"{why}; {service} builds {chosen} only (the old setup built {before}): add "
                       "`ARG TARGETOS TARGETARCH` to that stage and `GOOS=$TARGETOS GOARCH=$TARGETARCH` to the "
                       "build, then its `platforms` can widen", dockerfile, line, service)
        else:
            draft.note(f"{why}, so {service} builds {chosen} only (the old setup built {before}): an image "
                       f"for another platform would hold {chosen} files", dockerfile, line, service)
    return chosen


def _separate_shared_names(units: list[Unit], draft: Draft) -> None:
    """Two different builds under one image name overwrite each other (the last one built wins,
    and bake refuses it): the first keeps the name, the others get one from the tag scheme."""
    owners: dict[tuple[str, str, str], Unit] = {}
    for unit in units:
        for stage, refs in unit.images.items():
            for ref in list(refs):
                parsed = images.ImageRef.parse(ref)
                key = (parsed.registry, parsed.name, parsed.tag or "latest")
                first = owners.setdefault(key, unit)
                if first is unit or first.build_key() == unit.build_key():
                    continue  # the same build under its own name, or shared on purpose
                refs.remove(ref)
                draft.note(f"image {ref} is also {first.compose_name}'s, which builds something else (the last "
                           f"build would take the name, and bake refuses two targets with one): {unit.name}'s "
                           "image is named by the tag scheme instead",
                           unit.origin.rsplit(":", 1)[0], int(unit.origin.rsplit(":", 1)[1]), unit.name)


def _built_service(draft: Draft, name: str, unit: Unit, project: dict[str, Any], axis: StageAxis,
                   shared: bool) -> dict[str, Any]:
    service: dict[str, Any] = {"runtime": "dockerfile", "context": unit.context or ".",
                               "dockerfile": unit.dockerfile}
    if not shared:
        draft.comment(("services", name), f"From {unit.origin}. Your Dockerfile, unchanged: bakegen writes only",
                      f"its bake targets (`runtime: {unit.language}` would generate one)." if unit.language
                      else "its bake targets.")
    if list(unit.stages) != list(axis.push):
        service["stages"] = list(unit.stages)
    targets = {s: None if unnamed_final(unit.info, t) else t for s, t in unit.stages.items() if s != t}
    if targets:
        service["targets"] = targets
    if None in targets.values():
        draft.comment(("services", name, "targets"), f"null: the last stage of {unit.dockerfile}, which has no "
                      "name; bake builds it when a target names none.")
    if unit.platforms and list(unit.platforms) != project.get("platforms"):
        service["platforms"] = list(unit.platforms)
    service.update({k: v for k, v in unit.extra.items() if not k.startswith("_")})
    for key in ("args", "contexts", "labels"):
        if getattr(unit, key):
            service[key] = dict(getattr(unit, key))
    root_stages = _root_stages(unit, axis)
    if root_stages:
        service["run_as_root"] = True
        draft.comment(("services", name, "run_as_root"),
                      f"{unit.dockerfile}: "
                      + ("its last stage" if unnamed_final(unit.info, root_stages[0]) else f"stage '{root_stages[0]}'")
                      + " ends as root, which bakegen refuses to push",
                      "unless accepted here. Better: end it with `USER 10001:10001` and remove this line.")
    return service


def _root_stages(unit: Unit, axis: StageAxis) -> list[str]:
    """The pushed Dockerfile stages of `unit` that end as root, as `bakegen validate` decides it
    (the same users, with the service's args), and also the final stage before it has a name."""
    info = unit.info
    if info is None:
        return []
    found = []
    for stage, target in unit.stages.items():
        unnamed = unnamed_final(info, target)
        if axis.push.get(stage) and (target in info.stages or unnamed) \
                and is_root(info.user_of(None if unnamed else target, unit.args)):
            found.append(target)
    return found


def _run_comments(draft: Draft, name: str, unit: Unit) -> None:
    """Compose run-time settings of a service built from its own Dockerfile, kept as comments."""
    if not unit.run:
        return
    from .emit import scalar

    line = min(unit.run_lines.values())
    lines = [f"Compose runs it with (from line {line}); your Dockerfile decides what the image",
             "runs, so these stay in compose" + (f". With `runtime: {unit.language}` they would go into the image:"
                                                 if unit.language else ":")]
    for key, value in unit.run.items():
        if isinstance(value, dict):
            lines.append(f"  {key}: {{{', '.join(f'{k}: {_flat(v)}' for k, v in value.items())}}}")
        else:
            lines.append(f"  {key}: {_flat(value) if isinstance(value, list) else scalar(value)}")
    draft.trail(("services", name), *lines)


def _flat(value: Any) -> str:
    from .emit import scalar

    if isinstance(value, list):
        return "[" + ", ".join(scalar(v, flow=True) for v in value) + "]"
    return scalar(value, flow=True)


class _Tags:
    """Tag schemes that give every target the image names the old setup gave it."""

    def __init__(self, draft: Draft, registry: str | None, tag: str | None, axis: StageAxis) -> None:
        self.draft, self.registry, self.tag, self.axis = draft, registry, tag, axis
        self.by_service: dict[str, tuple[dict[str, Any], dict[str, list[str]], list[str]]] = {}
        self.refs: dict[str, list[str]] = {}

    def assign(self, service: dict[str, Any], name: str, unit: Unit) -> None:
        stages = list(unit.stages) or list(self.axis.push)
        schemes = {s: [images.scheme(images.ImageRef.parse(r), name, s, self.registry, self.tag)
                       for r in unit.images.get(s, [])] for s in stages}
        self.by_service[name] = (service, schemes, stages)
        self.refs[name] = [r for s in stages for r in unit.images.get(s, [])]
        if self.tag and self.tag != "latest":
            for ref in dict.fromkeys(self.refs[name]):
                if (images.ImageRef.parse(ref).tag or "latest") == "latest":
                    self.draft.note(f"image {ref}: `latest` as written, while the other images follow TAG "
                                    f"(default {self.tag}); `TAG=...` does not change this one", service=name)

    def finish(self, services: dict[str, Any]) -> None:
        lifted = self._stage_schemes()
        for name, (service, schemes, stages) in self.by_service.items():
            named = {s: v for s, v in schemes.items() if v}
            if not named or all(lifted.get(s) == v for s, v in named.items()):
                continue
            distinct = {tuple(v) for v in named.values()}
            chosen = list(next(iter(distinct)))
            if len(stages) > 1 and (len(distinct) > 1 or not any("{stage}" in s for s in chosen)):
                # One scheme serves every stage of a service: make each stage's name its own.
                chosen = [s if "{stage}" in s else f"{s}-{{stage}}" for s in chosen]
                shown = ", ".join(self.refs[name])
                self.draft.note(f"image names {shown}: one tag scheme per service covers all its stages, so each "
                                "stage's tag ends in -STAGE", service=name)
            service["tags"] = chosen
        if len(lifted) == len(self.axis.push) > 1 and len({tuple(v) for v in lifted.values()}) == 1:
            self.draft.data["project"]["tags"] = next(iter(lifted.values()))  # every stage agrees
            return
        for stage, scheme in lifted.items():
            self.draft.data["stages"][stage] = {**(self.draft.data["stages"][stage] or {}), "tags": scheme}

    def _stage_schemes(self) -> dict[str, list[str]]:
        """Per stage, the one scheme every service named at that stage agrees on, if any."""
        out: dict[str, list[str]] = {}
        for stage in self.axis.push:
            found = {tuple(schemes[stage]) for _, schemes, _ in self.by_service.values() if schemes.get(stage)}
            if len(found) != 1:
                continue
            scheme = list(found.pop())
            # Another stage with the same scheme would give two targets of a service one name.
            if all("{service}" in s for s in scheme) and (scheme not in out.values()
                                                           or all("{stage}" in s for s in scheme)):
                out[stage] = scheme
        return out
