"""Read compose files into a Draft: what compose builds, as matrix services.

The first file is the project's compose file; any further files are
variants (docker-compose.dev.yml, docker-compose.prod.yml) that compose
would merge over it. A variant that builds another Dockerfile target adds
that target as a stage of the service. Services that build the same
Dockerfile the same way ("one image, many services") share one image:
the build becomes a service of its own, and each compose service runs it
with `image_of` and its own command, port, health check and environment.
Everything else is listed as a Note with the line it came from.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BakegenError, Diagnostic
from ..model.fields import ARG_PATTERN, STAGE_PATTERN, looks_secret
from ..model.source import Positions, Span, load
from . import dockerfiles, images, interpolate
from .draft import Draft
from .layout import LOCAL_REGISTRY, StageAxis, Unit, build_draft, project_name, role, shipped_target

# BuildKit sets these for each platform it builds; a value passed as a
# build arg would build every platform with the same one.
AUTOMATIC_ARGS = frozenset({"BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
                            "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT"})
RUN_TIME_KEYS = ("command", "ports", "healthcheck", "environment")


@dataclass
class _Source:
    path: Path
    display: str
    data: dict[str, Any]
    positions: Positions

    def line(self, *path: str | int) -> Span:
        """Where `path` is in the file (its key, else its value), or its nearest ancestor."""
        key = tuple(path)
        while key:
            span = self.positions.keys.get(key) or self.positions.values.get(key)
            if span:
                return span
            key = key[:-1]
        return Span(0, 0)


@dataclass
class _Service:
    """One compose service, read: its build (if any) and its run-time settings."""

    name: str
    src: _Source
    build: dict[str, Any] | None
    raw: dict[str, Any]
    remarks: list[tuple[str, Span]] = field(default_factory=list)  # (message, where)


def read(files: list[Path], project_dir: Path) -> Draft:
    """A Draft for the compose project `files` (the first, then its variants).

    Paths in the draft are relative to `project_dir`, where matrix.yaml goes.
    Raises BakegenError when a file cannot be read as YAML.
    """
    sources = [_load(p, project_dir) for p in files]
    draft = Draft()
    base = sources[0]
    for key in base.data:
        if key == "include":
            draft.note("include: the included compose files are not read; import them one by one",
                       base.display, base.line(key))
        elif key not in ("services", "name"):
            draft.note(f"top-level `{key}`: a compose run-time setting; it stays in {base.path.name}",
                       base.display, base.line(key))
    services = base.data.get("services") or {}
    if not isinstance(services, dict):
        span = base.line("services")
        raise BakegenError([Diagnostic("`services` must be a mapping", file=base.display, line=span.line,
                                       column=span.column)])
    axis = StageAxis()
    units: list[Unit] = []
    for name, raw in services.items():
        unit = _unit(name, raw if isinstance(raw, dict) else {}, base, project_dir, draft, axis)
        if unit is not None:
            units.append(unit)
    if not units:
        names = ", ".join(str(n) for n in services) or "none"
        raise BakegenError([Diagnostic(
            f"no service of {base.display} builds an image (services: {names}); bakegen builds images from "
            "Dockerfiles, so there is nothing to import", file=base.display,
            hint="services with `build:` are imported; those that only run an image (`image: postgres:16`) "
                 "stay in compose")])
    units = _fold_profiles(units, draft, base)
    for variant in sources[1:]:
        _apply_variant(variant, services, units, project_dir, draft, axis)
    for unit in units:
        _add_shipped_stage(unit, base, draft, axis)
    name = project_name(str(base.data.get("name") or project_dir.resolve().name))
    shown = ", ".join(s.display for s in sources)
    draft.header = [
        f"Imported by `bakegen import` from {shown}.",
        "Each compose service that builds an image is a service here; comments say what",
        "compose keeps (run-time settings) and what was not imported. Next: `bakegen render`,",
        "then `docker buildx bake` (README: \"Your own project\").",
    ]
    build_draft(draft, name, units, axis)
    return draft


def _add_shipped_stage(unit: Unit, src: _Source, draft: Draft, axis: StageAxis) -> None:
    """A service compose builds only at a development stage still ships what its Dockerfile
    ends with: that stage is its production stage too (a test harness ships nothing)."""
    info = unit.info
    shipped = shipped_target(info) if info is not None else None
    if unit.extra.pop("_harness", False) or axis.ships(unit) or not shipped or shipped in unit.stages.values() \
            or not all(role(t) for t in unit.stages.values()):
        return
    at = ("services", unit.compose_name, "build")
    stage = axis.add_target(unit, shipped, f"{src.display}:{src.line(*at).line}", draft, ships=True)
    # The image's name is what gets pushed and deployed: it names what ships, and the
    # development stage is named by the tag scheme.
    names = list(dict.fromkeys(r for refs in unit.images.values() for r in refs))
    unit.images = {s: [] for s in unit.images}
    unit.images[stage] = names
    moved = f"; {', '.join(names)} names that stage" if names else ""
    draft.note(f"{unit.dockerfile}: stage '{shipped}' is what it ships, which compose builds nowhere: it is "
               f"{unit.name}'s stage {stage} (pushed) too{moved}", src.display, src.line(*at), unit.name)


def _fold_profiles(units: list[Unit], draft: Draft, src: _Source) -> list[Unit]:
    """A service in a profile (`profiles: [dev]`) that builds another stage of a service's
    Dockerfile the same way is that service's stage; any other keeps its own service."""
    out: list[Unit] = []
    for unit in units:
        at = src.line("services", unit.compose_name, "profiles")
        if not unit.profiles:
            out.append(unit)
            continue
        home = next((u for u in units if not u.profiles and u.build_key() == unit.build_key()
                     and not set(u.stages) & set(unit.stages)), None)
        profiles = ", ".join(unit.profiles)
        if home is None:
            draft.note(f"profiles [{profiles}]: bakegen builds {unit.name} with the others; "
                       f"`docker buildx bake {unit.name}` builds it alone", src.display, at, unit.name)
            out.append(unit)
            continue
        home.stages.update(unit.stages)
        home.images.update(unit.images)
        draft.note(f"service '{unit.compose_name}' (profiles [{profiles}]) builds stage "
                   f"{', '.join(unit.stages)} of {home.name}'s Dockerfile: it is that stage of {home.name}",
                   src.display, at, home.name)
    return out


def _load(path: Path, project_dir: Path) -> _Source:
    display = os.path.relpath(path, project_dir).replace(os.sep, "/") if path.is_absolute() else str(path)
    doc = load(path, display, what="compose file")
    if not isinstance(doc.data, dict):
        raise BakegenError([Diagnostic("a compose file is a mapping with `services`", file=display, line=1, column=1)])
    return _Source(path, display, doc.data, doc.positions)


def _text(value: Any, src: _Source, at: tuple[str | int, ...], remarks: list[tuple[str, Span]],
          required: list[interpolate.Required] | None = None) -> str:
    """`value` as compose would read it with no variable set.

    A variable compose requires (`${NAME:?message}`) has no value to assume:
    it is left out of the text, and either added to `required` for the
    caller to handle, or remarked here.
    """
    text = _scalar(value, src, at)
    if "$" in text:  # `$$` is a literal `$` whether or not a variable follows
        text, said, needed = interpolate.interpolate(text)
        remarks.extend((r, src.line(*at)) for r in said)
        if required is not None:
            required.extend(needed)
        else:
            remarks.extend((f"`{r.written}`: compose requires {r.name} from the environment; its value is "
                            "unknown here and left out", src.line(*at)) for r in needed)
    return text


def _scalar(value: Any, src: _Source, at: tuple[str | int, ...]) -> str:
    """A string, number or boolean as the text compose reads (variables not yet substituted);
    a list or mapping is refused where it is, as compose refuses it, never turned into a repr."""
    if isinstance(value, dict | list) or value is None:
        raise _refused(src, at, f"expected a string, number or boolean, not {_kind(value)}",
                       "compose refuses it too; write the value as a string")
    return str(value) if not isinstance(value, bool) else ("true" if value else "false")


def _ask(draft: Draft, src: _Source, at: tuple[str | int, ...], needed: list[interpolate.Required], what: str,
         where: str) -> None:
    """An edit for a value compose takes from a variable it requires: no value is assumed."""
    for r in needed:
        span = src.line(*at)
        draft.edit(f"{src.display}:{span.line}:{span.column}: {what} `{r.written}`: compose requires {r.name} "
                   f"from the environment; give {where} in matrix.yaml the value it should have")


def _mapping(value: Any, src: _Source, at: tuple[str | int, ...]) -> dict[str, Any]:
    """Compose's two forms of args, environment and labels: a mapping, or a list of KEY=VALUE."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    out: dict[str, Any] = {}
    for item in _list(value, src, at, "KEY=VALUE entries, or a mapping"):
        key, sep, val = _scalar(item, src, at).partition("=")
        out[key] = val if sep else None
    return out


def _list(value: Any, src: _Source, at: tuple[str | int, ...], what: str = "values") -> list[Any]:
    """`value`, a list in the compose file (absent: empty); anything else is refused where it is,
    as compose refuses it: a string would otherwise be read one character at a time."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _refused(src, at, f"expected a list of {what}, not {_kind(value)}",
                       f"compose refuses it too; write it as a list, e.g. [{_example(value)}]")
    return value


def _refused(src: _Source, at: tuple[str | int, ...], message: str, hint: str) -> BakegenError:
    span = src.line(*at)
    key = ".".join(str(p) for p in at[2:]) if len(at) > 2 else ".".join(str(p) for p in at)
    return BakegenError([Diagnostic(f"{key}: {message}", file=src.display, line=span.line, column=span.column,
                                    hint=hint)])


def _kind(value: Any) -> str:
    return ("a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list)
            else "an empty value" if value is None else "a string" if isinstance(value, str) else "a single value")


def _example(value: Any) -> str:
    import json

    return json.dumps(str(value), ensure_ascii=False) if not isinstance(value, dict | list) else "..."


def _rel(src: _Source, project_dir: Path, value: str) -> str:
    full = os.path.normpath(os.path.join(src.path.parent, value))
    return os.path.relpath(full, project_dir.resolve() if not src.path.is_absolute() else project_dir).replace(os.sep, "/")


def _unit(name: str, raw: dict[str, Any], src: _Source, project_dir: Path, draft: Draft,
          axis: StageAxis) -> Unit | None:
    at = ("services", name)
    service = project_name(name)
    build = raw.get("build")
    if build is None:
        image = raw.get("image", "")
        draft.note(f"service '{name}' builds nothing (image: {image}); compose runs it as it is",
                   src.display, src.line(*at))
        return None
    if isinstance(build, str):
        build = {"context": build}
    remarks: list[tuple[str, Span]] = []
    needed: list[interpolate.Required] = []
    context_raw = _text(build.get("context", "."), src, at + ("build", "context"), remarks, needed)
    _ask(draft, src, at + ("build", "context"), needed, "the build context is", f"services.{service}.context")
    if re.match(r"^[a-z]+://|^git@", context_raw):
        draft.note(f"service '{name}': remote build context {context_raw} cannot be a bake context here",
                   src.display, src.line(*at, "build", "context"))
        return None
    if "dockerfile_inline" in build:
        draft.note(f"service '{name}': `dockerfile_inline` has no file to build; write it to a Dockerfile",
                   src.display, src.line(*at, "build", "dockerfile_inline"))
        return None
    context = _rel(src, project_dir, context_raw)
    needed = []
    dockerfile_raw = _text(build.get("dockerfile", "Dockerfile"), src, at + ("build", "dockerfile"), remarks, needed)
    _ask(draft, src, at + ("build", "dockerfile"), needed, "the Dockerfile is", f"services.{service}.dockerfile")
    dockerfile = posixpath.normpath(posixpath.join(context, dockerfile_raw))
    unit = Unit(name=service, origin=f"{src.display}:{src.line(*at).line}", context=context, dockerfile=dockerfile)
    unit.info = dockerfiles.read(project_dir / dockerfile)
    unit.language = dockerfiles.language(project_dir / context, unit.info)
    if unit.info is None:
        draft.edit(f"{dockerfile} (service '{name}', {src.display}:{src.line(*at).line}) "
                   "is missing or BuildKit cannot parse it", dockerfile, ("dockerfile", "targets"))
    raw_target = build.get("target")
    target = _text(raw_target, src, at + ("build", "target"), remarks).lower() if raw_target else None
    _build_settings(unit, build, src, at, remarks, draft, project_dir)
    if not unit.platforms and raw.get("platform"):
        # compose builds a service for its run-time `platform` when the build names none
        unit.platforms = (_text(raw["platform"], src, at + ("platform",), remarks),)
        remarks.append((f"platform: {unit.platforms[0]}: compose builds and runs {name} for it; so does the matrix",
                        src.line(*at, "platform")))
    where = f"{src.display}:{src.line(*at, 'build').line}"
    harness = _is_harness(name, dockerfile, target, raw)
    stage = axis.add_target(unit, target, where, draft, harness)
    if harness:
        remarks.append((f"service '{name}' runs tests (its name, Dockerfile or target says so): its image is the "
                        f"stage {stage}, built and never pushed", src.line(*at)))
    if raw_target and interpolate.has_variables(str(raw_target)) and unit.info and unit.info.last \
            and unit.info.last != target:
        # A variable target is a switch between stages (BUILD_TARGET=production): each is a stage here.
        other = axis.add_target(unit, unit.info.last, where, draft)
        remarks.append((f"target {raw_target} switches between stages: {stage} (its default) and {other} "
                        f"(the Dockerfile's final stage) are both stages; `docker buildx bake {other}` "
                        "builds that one for every service", src.line(*at, "build", "target")))
    unit.extra["_harness"] = harness
    refs = [_scalar(raw["image"], src, at + ("image",))] if raw.get("image") else []
    refs += [_scalar(t, src, at + ("build", "tags"))
             for t in _list(build.get("tags"), src, at + ("build", "tags"), "tags")]
    switch = re.match(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)", str(raw_target or ""))
    for built in unit.stages:
        # An image named after the switch (app:${BUILD_TARGET}) is named after each stage.
        named = [re.sub(r"\$\{?" + switch.group(1) + r"\b[^}]*\}?", built, r) if switch else r for r in refs]
        unit.images[built] = [ref for r in named
                              if (ref := _image(_one_tag_for_all_platforms(r, src, at, remarks), src, at, remarks,
                                                unit)) is not None]
    remarks[:] = list(dict.fromkeys(remarks))
    _run_time(unit, raw, src, at, remarks, draft)
    for message, line in remarks:
        draft.note(message, src.display, line, service)
    return unit


# Where a variable compose requires stands in an image name, until the name is parsed.
_HOLE = "\x00"


def _image(ref: str, src: _Source, at: tuple[str, ...], remarks: list[tuple[str, Span]], unit: Unit) -> str | None:
    """An image reference as the matrix names it; None if a required variable names the image.

    A variable compose requires in the tag becomes the bake variable TAG
    (`{tag}`), and in the registry part the bake variable REGISTRY (with a
    local registry as its default): both are set when bake runs, as compose
    needed them set. One in the image's own name leaves it to the tag scheme.
    """
    line = src.line(*at, "image")
    text, said, needed = interpolate.interpolate(ref, lambda r: _HOLE)
    remarks.extend((r, line) for r in said)
    if not needed:
        return text
    holes = iter(needed)
    parsed = images.ImageRef.parse(text)
    if _HOLE in parsed.name:
        names = ", ".join(f"`{r.written}`" for r in needed)
        remarks.append((f"image {ref}: its name comes from {names}, which compose requires from the environment; "
                        f"{unit.name}'s image is named by the tag scheme (set `tags` to name it yourself)", line))
        return None
    registry_parts, tag_parts = parsed.registry.split(_HOLE), parsed.tag.split(_HOLE)
    registry = registry_parts[0]
    for part in registry_parts[1:]:
        r = next(holes)
        registry += LOCAL_REGISTRY + part
        unit.extra["_required_registry"] = r.written
        remarks.append((f"`{r.written}`: compose requires {r.name} from the environment; the bake variable REGISTRY "
                        f"takes its place (`REGISTRY=... docker buildx bake push --push`)", line))
    tag = tag_parts[0]
    for part in tag_parts[1:]:
        r = next(holes)
        tag += "{tag}" + part
        remarks.append((f"`{r.written}`: compose requires {r.name} from the environment; the bake variable TAG "
                        f"takes its place (`TAG=... docker buildx bake`)", line))
    return f"{registry + '/' if registry else ''}{parsed.name}{':' + tag if tag else ''}"


_HARNESS_FILE = re.compile(r"(?:^|[./_-])(?:tests?|e2e)(?:$|[./_-])")


def _is_harness(name: str, dockerfile: str, target: str | None, raw: dict[str, Any]) -> bool:
    """A compose service that runs a test suite: its name, its Dockerfile's name, its target or
    its profile says so (`tests`, `e2e`, `Dockerfile.test`, `profiles: [test]`)."""
    words = re.split(r"[-_.]", name.lower())
    profiles = [str(p).lower() for p in raw.get("profiles") or []]
    return (role(name.lower()) == "test" or any(role(w) == "test" for w in words[1:] + words[:1])
            or bool(_HARNESS_FILE.search(posixpath.basename(dockerfile).lower()))
            or (target is not None and role(target) == "test") or any(role(p) == "test" for p in profiles))


_PLATFORM_VAR = re.compile(r"[-_.]?\$\{?(?:TARGET|BUILD)(?:PLATFORM|ARCH|OS|VARIANT)\b[^}]*\}?")


def _one_tag_for_all_platforms(ref: str, src: _Source, at: tuple[str, ...], remarks: list[tuple[str, Span]]) -> str:
    """A tag per architecture (`app:latest-${TARGETARCH}`) becomes one tag for the multi-platform image."""
    if not _PLATFORM_VAR.search(ref):
        return ref
    fixed = _PLATFORM_VAR.sub("", ref)
    fixed = fixed if not fixed.endswith(":") else fixed + "latest"
    remarks.append((f"image {ref}: one image per architecture; a multi-platform build pushes one image "
                    f"(an index holding every platform) under one name, so it is {fixed}", src.line(*at, "image")))
    return fixed


def _build_settings(unit: Unit, build: dict[str, Any], src: _Source, at: tuple[str, ...],
                    remarks: list[tuple[str, Span]], draft: Draft, project_dir: Path) -> None:
    b = at + ("build",)
    for key, value in _mapping(build.get("args"), src, b + ("args",)).items():
        line = src.line(*b, "args", key)
        if key in AUTOMATIC_ARGS:
            remarks.append((f"build arg {key}: BuildKit sets it for each platform it builds; "
                            "a fixed value would give every platform the same one", line))
        elif value is None:
            remarks.append((f"build arg {key} has no value (compose reads it from the environment); "
                            "pass it with `docker buildx bake --set '*.args." + key + "=...'`", line))
        elif not re.match(ARG_PATTERN, key):
            remarks.append((f"build arg '{key}={value or ''}': "
                            + ("it has no name" if not key else "not a name a build arg can have (letters, digits "
                               "and '_')") + "; not imported", line))
        elif looks_secret(key):
            remarks.append((f"build arg {key}: looks like a secret, and build args are stored in the image; "
                            "use `secrets:` in the matrix", line))
        else:
            needed: list[interpolate.Required] = []
            text = _text(value, src, b + ("args", key), remarks, needed)
            if needed:
                _ask(draft, src, b + ("args", key), needed, f"build arg {key} is", f"services.{unit.name}.args.{key}")
            else:
                unit.args[key] = text
    if build.get("platforms"):
        unit.platforms = tuple(_text(p, src, b + ("platforms",), remarks)
                               for p in _list(build["platforms"], src, b + ("platforms",), "platforms"))
    for key, value in _mapping(build.get("additional_contexts"), src, b + ("additional_contexts",)).items():
        line = src.line(*b, "additional_contexts", key)
        value = _text(value or "", src, b + ("additional_contexts", key), remarks)
        if re.match(r"^[a-z-]+://|^service:|^target:", value) or not re.match(STAGE_PATTERN, key):
            remarks.append((f"named context {key}={value}: only local folders with lowercase names are imported",
                            line))
        else:
            unit.contexts[key] = _rel(src, project_dir, value)
    for key, value in _mapping(build.get("labels"), src, b + ("labels",)).items():
        unit.labels[key] = _text(value or "", src, b + ("labels", key), remarks)
    for key in build:
        if key not in ("context", "dockerfile", "target", "args", "platforms", "additional_contexts", "labels",
                       "tags"):
            remarks.append((f"build.{key}: not imported (set it in the matrix, e.g. `project.cache`, "
                            "or with `docker buildx bake --set`)", src.line(*b, key)))


def _run_time(unit: Unit, raw: dict[str, Any], src: _Source, at: tuple[str, ...],
              remarks: list[tuple[str, Span]], draft: Draft) -> None:
    """Command, port, health check and environment: matrix keys for a service that runs a shared image."""
    run = unit.run
    if raw.get("command"):
        command = raw["command"]
        run["command"] = ([_text(c, src, at + ("command",), remarks) for c in command] if isinstance(command, list)
                          else _text(command, src, at + ("command",), remarks))
        unit.run_lines["command"] = src.line(*at, "command").line
    ports = _list(raw.get("ports"), src, at + ("ports",), "ports")
    if ports:
        written = [_text(p if not isinstance(p, dict) else p.get("target", ""), src, at + ("ports",), remarks)
                   for p in ports]
        container = [_container_port(p) for p in written]
        for text, port in zip(written, container, strict=True):
            if port is None:
                remarks.append((f"ports: '{text}' names no container port (compose refuses it); not imported",
                                src.line(*at, "ports")))
        known = [p for p in container if p]
        if known:
            run["port"] = known[0]
            unit.run_lines["port"] = src.line(*at, "ports").line
        if len(ports) > 1:
            remarks.append(("ports: the matrix has one `port` per service; the first was taken",
                            src.line(*at, "ports")))
    hc = raw.get("healthcheck")
    if isinstance(hc, dict):
        check = _healthcheck(hc, src, at + ("healthcheck",), remarks)
        if check:
            run["healthcheck"] = check
            unit.run_lines["healthcheck"] = src.line(*at, "healthcheck").line
    env = {}
    for key, value in _mapping(raw.get("environment"), src, at + ("environment",)).items():
        line = src.line(*at, "environment", key)
        if value is None:
            remarks.append((f"environment {key} has no value (compose passes the caller's); "
                            "it stays in compose", line))
        elif not re.match(ARG_PATTERN, key):
            remarks.append((f"environment '{key}={value}': "
                            + ("it has no name" if not key else "not a name the matrix takes (letters, digits "
                               "and '_')") + "; it stays in compose", line))
        elif looks_secret(key):
            remarks.append((f"environment {key}: looks like a secret, which must not be stored in an image; "
                            "it stays in compose", line))
        else:
            needed: list[interpolate.Required] = []
            text = _text(value, src, at + ("environment", key), remarks, needed)
            if needed:
                remarks.append((f"environment {key}: compose requires {needed[0].name} from the environment "
                                "for it; it stays in compose", line))
            else:
                env[key] = text
    if env:
        run["env"] = env
        unit.run_lines["env"] = src.line(*at, "environment").line
    if "extends" in raw:
        remarks.append(("extends: not followed; copy the build settings it brings into this service",
                        src.line(*at, "extends")))
    others = [k for k in raw if k not in ("build", "image", "profiles", "extends", "platform", *RUN_TIME_KEYS)]
    if others:
        remarks.append((f"{', '.join(others)}: run-time settings; they stay in {src.path.name}",
                        src.line(*at, others[0])))
    if raw.get("profiles"):
        unit.profiles = tuple(str(p) for p in _list(raw["profiles"], src, at + ("profiles",), "profile names"))


def _container_port(text: str) -> int | None:
    # "8000", "8000:8000", "127.0.0.1:8000:8000/tcp": the container port is last.
    last = text.rsplit(":", 1)[-1].split("/", 1)[0]
    return int(last) if last.isdigit() and 0 < int(last) < 65536 else None


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)")
_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def _duration(text: str) -> str | None:
    """Compose durations ("1m30s") as one unit ("90s"), as the matrix writes them."""
    parts = _DURATION.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        return None
    if len(parts) == 1 and parts[0][1] in ("ms", "s", "m", "h") and parts[0][0].isdigit():
        return text
    seconds = sum(float(n) * _SECONDS[u] for n, u in parts)
    return f"{int(seconds)}s" if seconds == int(seconds) else f"{int(seconds * 1000)}ms"


def _healthcheck(hc: dict[str, Any], src: _Source, at: tuple[str, ...],
                 remarks: list[tuple[str, Span]]) -> dict[str, Any] | None:
    if hc.get("disable"):
        return None
    test = hc.get("test")
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    if not isinstance(test, list) or not test or test[0] == "NONE":
        return None
    words = [_text(w, src, at + ("test",), remarks) for w in test]
    command = words[1:] if words[0] == "CMD" else ["/bin/sh", "-c", " ".join(words[1:])]
    out: dict[str, Any] = {"command": command}
    if command and command[0] == "curl":
        remarks.append(("healthcheck calls curl: slim images have none; make sure the image has it, "
                        "or probe with the image's own runtime", src.line(*at)))
    for key in ("interval", "timeout", "start_period", "retries"):
        if key in hc:
            value = _text(hc[key], src, at + (key,), remarks)
            if key == "retries":
                out[key] = int(value)
            else:
                converted = _duration(value)
                if converted is None:
                    remarks.append((f"healthcheck.{key} '{value}' is not a duration the matrix reads", src.line(*at, key)))
                else:
                    out[key] = converted
    for key in hc:
        if key not in ("test", "interval", "timeout", "start_period", "retries", "disable"):
            remarks.append((f"healthcheck.{key}: not imported", src.line(*at, key)))
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif key == "build" and isinstance(value, dict) and isinstance(out.get(key), str):
            out[key] = {"context": out[key], **value}
        else:
            out[key] = value
    return out


def _apply_variant(src: _Source, base_services: dict[str, Any], units: list[Unit], project_dir: Path,
                   draft: Draft, axis: StageAxis) -> None:
    """A variant file: a Dockerfile target it builds becomes another stage of that service."""
    by_name = {u.compose_name: u for u in units}
    for key in src.data:
        if key != "services":
            draft.note(f"top-level `{key}`: a compose run-time setting; it stays in {src.path.name}",
                       src.display, src.line(key))
    for name, raw in (src.data.get("services") or {}).items():
        raw = raw if isinstance(raw, dict) else {}
        at = ("services", name)
        unit = by_name.get(project_name(name))
        if unit is None:
            draft.note(f"service '{name}' is not built by the first compose file; not imported",
                       src.display, src.line(*at))
            continue
        merged = _merge(base_services.get(name) or {}, raw)
        build = merged.get("build")
        build = {"context": build} if isinstance(build, str) else (build or {})
        remarks: list[tuple[str, Span]] = []
        target = build.get("target")
        target = _text(target, src, at + ("build", "target"), remarks).lower() if target else None
        before = base_services.get(name, {}).get("build")
        before = {"context": before} if isinstance(before, str) else (before or {})
        changed = [k for k, v in build.items() if k != "target" and before.get(k, "." if k == "context" else None) != v]
        if changed:
            remarks.append((f"build.{', build.'.join(changed)} differ in this variant; "
                            "the matrix builds every stage from the first file's settings", src.line(*at, "build")))
        stage = axis.add_target(unit, target, f"{src.display}:{src.line(*at, 'build').line}", draft)
        inherited = next((refs for refs in unit.images.values() if refs), [])
        if raw.get("image"):
            unit.images[stage] = [_text(raw["image"], src, at + ("image",), remarks)]
        elif stage not in unit.images and axis.push.get(stage):
            unit.images[stage] = list(inherited)
        elif stage not in unit.images:
            # Compose would tag this build with the base file's name too; that name is what
            # the pushed stage publishes, so this stage is named by the tag scheme.
            unit.images[stage] = []
            if inherited:
                remarks.append((f"stage {stage} has no image name of its own here ({', '.join(inherited)} is the "
                                "pushed stage's): the tag scheme names it", src.line(*at, "build")))
        run_time = [k for k in raw if k not in ("build", "image")]
        if run_time:
            remarks.append((f"{', '.join(run_time)}: run-time settings of this variant; "
                            f"they stay in {src.path.name}", src.line(*at, run_time[0])))
        for message, line in remarks:
            draft.note(message, src.display, line, unit.name)
