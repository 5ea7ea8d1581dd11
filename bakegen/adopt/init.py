"""`bakegen init`: a commented matrix for the projects a folder holds.

One service per project found: Python (uv, Poetry or pip, from the lock
file present), Go programs (with shared modules that go.mod replaces as
named contexts) and plain Dockerfiles. The deploy target is the user's
decision: the matrix shows how to state one, in a comment.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

from ..runtimes.common import TEMPLATE_STAGES
from ..model.fields import STAGE_PATTERN
from . import dockerfiles, scan, versions
from .draft import Draft
from .layout import UNNAMED_FINAL, platform_limit, unnamed_final, project_name, role, shipped_target

UV_IMAGE = "ghcr.io/astral-sh/uv:0.13.9"
STATIC_IMAGE = "gcr.io/distroless/static-debian12:nonroot"
LAMBDA_IMAGE = "public.ecr.aws/lambda/provided:al2023"
ORDER = ("development", "test", "production")


def draft_for(root: Path, matrix_dir: Path) -> Draft:
    """A Draft for the projects under `root`, with paths relative to `matrix_dir`."""
    found = scan.scan(root)
    base = root.resolve()

    def rel(path: str) -> str:
        full = os.path.normpath(os.path.join(base, path))
        return os.path.relpath(full, matrix_dir.resolve()).replace(os.sep, "/")

    d = Draft()
    name = project_name(base.name)
    images: dict[str, str] = {}
    services: dict[str, Any] = {}
    used_stages: set[str] = set()

    names = iter(_service_names([(p.folder, "") for p in found.python] + [(g.folder, "") for g in found.go]
                                + [(f.folder, _dockerfile_suffix(f)) for f in found.dockerfiles], name))
    python_versions = Counter(p.version for p in found.python)
    main_version = python_versions.most_common(1)[0][0] if python_versions else None
    for p in found.python:
        key = _unique(next(names), services)
        image = "python" if p.version == main_version else f"python{p.version.replace('.', '')}"
        images[image] = f"python:{p.version}-slim-bookworm"
        if p.version_eol:
            d.comment(("images", image), f"CPython {p.version} is end of life, but the newest release "
                      f"{p.folder}/ allows ({p.version_spec}); widen it to build with a supported one.")
        service: dict[str, Any] = {"runtime": "python", "context": rel(p.folder)}
        if image != "python":
            service["base"] = image
        stages = ["development", "test", "production"] if p.has_tests else ["development", "production"]
        if not p.has_tests:
            service["stages"] = stages
        used_stages.update(stages)
        command, where, port = _command(p, base, found.compose)
        if command:
            service["command"] = command
            server = scan.SERVERS.get(command[0])
            if server and server not in p.dependencies:
                d.comment(("services", key, "command"), f"From {where}. CHANGE: {server} is not among its "
                          "dependencies; add it, or serve the app otherwise.")
            elif where:
                d.comment(("services", key, "command"), f"From {where}; CHANGE it if the container runs another.")
            else:
                d.comment(("services", key, "command"), "Guessed from the project; CHANGE it to what the container runs.")
        else:
            d.trail(("services", key), "command: CHANGE what the container runs, e.g. [uvicorn, app.main:app]")
        if port:
            service["port"] = port
        if p.manager != "uv":
            service["python"] = {"package_manager": p.manager}
        if p.manager == "uv":
            images["uv"] = UV_IMAGE
        lock = f", locked by {p.lock}" if p.lock and p.lock != "requirements.txt" else ""
        d.comment(("services", key), f"Python ({p.manager}{lock}) in {_folder(p.folder)}.")
        if p.manager != "pip" and p.lock is None:
            d.comment(("services", key), f"No lock file: builds resolve versions each time ({p.manager} lock fixes it).")
        if p.dockerfiles:
            d.comment(("services", key), f"bakegen generates its Dockerfile; {', '.join(p.dockerfiles)} is not used",
                      "(to keep yours: runtime: dockerfile, dockerfile: PATH).")
        d.trail(("services", key), *([] if port else ["port: 8000"]), "healthcheck: {http: /health}",
                "deploy: CHOOSE one of deploy_targets")
        services[key] = service

    go_versions = [versions.go_version(g.version, g.toolchain) for g in found.go]
    if go_versions:
        go, moved = max(go_versions, key=lambda v: tuple(int(p) for p in v[0].split(".")))
        images["go"] = f"golang:{go}-bookworm"
        said = sorted({f"go {g.version}" for g in found.go if g.version})
        if moved or any(m for _, m in go_versions):
            d.comment(("images", "go"), f"go.mod says {', '.join(said)} (the oldest Go it builds with), which is end of "
                      f"life; Go {go} builds it too.")
    for g in found.go:
        key = _unique(next(names), services)
        service = {"runtime": "go", "context": rel(g.folder)}
        stages = ["test", "production"] if g.has_tests else ["production"]
        service["stages"] = stages
        used_stages.update(stages)
        options: dict[str, Any] = {}
        if g.package != ".":
            options["package"] = g.package
        options["binary"] = project_name(Path(g.package).name if g.package != "." else key)
        if g.lambda_function:
            images["lambda"] = LAMBDA_IMAGE
            service["base"] = {"build": "go", "run": "lambda"}
            options["lambda_runtime"] = True
            d.comment(("services", key), "A Go Lambda function: AWS Lambda takes a single-platform image, so give it a",
                      "deploy target with one platform and `single_manifest: true` (see deploy_targets above).")
        else:
            images["static"] = STATIC_IMAGE
        contexts = _contexts(g, base, d, key)
        if contexts:
            service["contexts"] = {k: rel(v) for k, v in contexts.items()}
            d.comment(("services", key, "contexts"), "Modules go.mod replaces with local folders, passed as named",
                      "contexts at the same relative paths: go.mod works unchanged.")
        service["go"] = options
        if not g.lambda_function:
            d.comment(("services", key), f"Go program {g.module} in {_folder(g.folder)}.")
        if g.dockerfiles:
            d.comment(("services", key), f"bakegen generates its Dockerfile; {', '.join(g.dockerfiles)} is not used",
                      "(to keep yours: runtime: dockerfile, dockerfile: PATH).")
        d.trail(("services", key), "deploy: CHOOSE one of deploy_targets")
        services[key] = service

    for f in found.dockerfiles:
        key = _unique(next(names), services)
        service, stages = _dockerfile_service(f, rel, d, key, base)
        used_stages.update(stages)
        services[key] = service

    if not services:
        d.edit(f"no Python project, Go program or Dockerfile found under {root}; "
               "add a service to matrix.yaml by hand (README: \"Your own project\")")
        services["app"] = {"runtime": "dockerfile", "context": ".", "dockerfile": "Dockerfile"}
        used_stages.add("production")

    stages = {s: None for s in ORDER if s in used_stages}
    if "test" in stages:
        stages["test"] = {"output": ["type=cacheonly"]}
        d.comment(("stages", "test"), "Building the test stage runs the tests; there is no image to keep.")
    if "production" in stages:
        stages["production"] = {"push": True}
    for s in sorted(used_stages - set(ORDER)):
        stages[s] = None
    d.data = {
        "version": 1,
        "project": {"name": name, "registry": f"localhost:5000/{name}", "platforms": ["linux/amd64", "linux/arm64"]},
        "images": dict(sorted(images.items())),
        "stages": stages,
        "services": services,
    }
    if not images:
        del d.data["images"]
    d.header = [
        "# yaml-language-server: $schema=https://json.schemastore.org/any.json",
        f"Written by `bakegen init` for {name}. Review the CHANGE and CHOOSE comments, then",
        "`bakegen render` writes the Dockerfiles and docker-bake.hcl; `docker buildx bake` builds.",
        "Every key is described in docs/reference.md.",
    ][1:]
    for compose in found.compose:
        d.header.append(f"Found {compose}: `bakegen import {compose}` takes its builds, image names and commands.")
    for bake in found.bake:
        d.header.append(f"Found {bake}: `bakegen import {bake}` takes its targets, platforms and tags.")
        if (base / bake).resolve() == (matrix_dir / "docker-bake.hcl").resolve():
            d.edit(f"move {bake} away (e.g. `git mv {bake} docker-bake.old.hcl`): bakegen writes its own "
                   "docker-bake.hcl next to matrix.yaml and never overwrites one it did not write")
    for skipped in found.skipped:
        d.note(skipped)
    d.comment(("project", "registry"), "CHANGE: where `docker buildx bake push --push` pushes (localhost:5000 is a",
              "local `registry:2` container); the bake variable REGISTRY overrides it.")
    d.comment(("project", "platforms"), "Every service builds these unless its deploy target says otherwise.")
    d.comment(("images",), "Base images, named once: pin or upgrade them here.")
    d.comment(("stages",), "The stage axis: `docker buildx bake production` builds every service's production image.")
    d.comment(("services",),
              "Where an image runs decides its platforms. CHOOSE a deploy target per service, e.g.:",
              "  deploy_targets:",
              "    lambda: {platforms: [linux/arm64], single_manifest: true}",
              "    cluster: {platforms: [linux/arm64]}",
              "    webapp: {platforms: [linux/amd64]}",
              "and `deploy: cluster` on a service; a platform the target does not run is then an error.")
    return d


def _unique(key: str, taken: dict[str, Any]) -> str:
    if key in (*TEMPLATE_STAGES, "default", "push") or key in taken:
        n = 2
        while f"{key}-{n}" in taken:
            n += 1
        return f"{key}-{n}"
    return key


def _dockerfile_suffix(f: scan.DockerfileProject) -> str:
    """What a Dockerfile's name adds to its folder's: `worker` for Dockerfile.worker or worker.Dockerfile."""
    name = Path(f.dockerfile).name
    if name.startswith("Dockerfile."):
        return name[len("Dockerfile."):]
    return name[: -len(".Dockerfile")] if name.endswith(".Dockerfile") else ""


def _service_names(found: list[tuple[str, str]], project: str) -> list[str]:
    """A service name per (folder, suffix): the folder's name, with as many of its parent
    folders in front as it takes to tell it from another folder of the same name
    (flask/backend and django/backend are flask-backend and django-backend)."""
    parts = [folder.split("/") if folder not in (".", "") else [project] for folder, _ in found]
    depth = [1] * len(found)

    def name(i: int) -> str:
        suffix = found[i][1]
        return project_name("-".join(parts[i][-depth[i]:]) + (f"-{suffix}" if suffix else ""))

    while True:
        names = [name(i) for i in range(len(found))]
        clashing = [i for i, n in enumerate(names) if names.count(n) > 1 and depth[i] < len(parts[i])]
        if not clashing:
            return names
        for i in clashing:
            depth[i] += 1


def _contexts(g: scan.GoProgram, base: Path, d: Draft, key: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for module, folder in g.replaces.items():
        name = re.sub(r"[^a-z0-9_.-]", "-", Path(folder).name.lower()) or "shared"
        if not re.match(STAGE_PATTERN, name) or name in TEMPLATE_STAGES or name in out:
            name = f"mod-{len(out) + 1}"
        if folder.startswith("../"):
            d.note(f"go.mod replaces {module} with {folder}, outside this folder: list it in "
                   "project.allow_outside and `contexts` by hand", f"{g.folder}/go.mod", 0, key)
            continue
        out[name] = folder
    return out


def _dockerfile_service(f: scan.DockerfileProject, rel: Any, d: Draft, key: str,
                        base: Path) -> tuple[dict[str, Any], list[str]]:
    info = dockerfiles.read(base / f.dockerfile)
    service: dict[str, Any] = {"runtime": "dockerfile", "context": rel(f.folder), "dockerfile": rel(f.dockerfile)}
    d.comment(("services", key), f"Your {f.dockerfile}, unchanged: bakegen writes only its bake targets.")
    targets = _stage_targets(info)
    stages = [s for s in ORDER if s in targets]
    if any(s != t for s, t in targets.items()):
        service["targets"] = {s: None if unnamed_final(info, t) else t for s, t in targets.items() if s != t}
        if None in service["targets"].values():
            d.comment(("services", key, "targets"), f"null: the last stage of {f.dockerfile}, which has no name; "
                      "bake builds it when a target names none.")
    if info and info.last and targets.get("production") != info.last:
        d.comment(("services", key), f"Its final stage '{info.last}' is a {role(info.last)} environment; "
                  f"production is '{targets['production']}'." if "production" in targets else
                  f"Its final stage '{info.last}' is a {role(info.last)} environment: nothing to push.")
    if stages != list(ORDER):
        service["stages"] = stages
    pinned = platform_limit(info, list(targets.values()), key, f.dockerfile, "for the machine it ran on", d) if info else None
    if pinned is not None:
        service["platforms"] = [pinned]
    from ..runtimes.dockerfile import is_root

    target = targets.get("production", "production")
    unnamed = unnamed_final(info, target)
    if info and "production" in stages and (target in info.stages or unnamed) \
            and is_root(info.user_of(None if unnamed else target)):
        service["run_as_root"] = True
        what = "its last stage" if unnamed else f"stage '{target}'"
        d.comment(("services", key, "run_as_root"), f"{f.dockerfile}: {what} ends as root, which bakegen refuses",
                  "to push unless accepted here. Better: end it with `USER 10001:10001` and remove this line.")
    d.trail(("services", key), "deploy: CHOOSE one of deploy_targets")
    return service, stages


def _command(p: scan.PythonProject, base: Path, composes: list[str]) -> tuple[list[str] | None, str, int | None]:
    """(command, where it came from, port) for a Python project: what the team runs it with (a
    compose service built from its folder, else its own Dockerfile's CMD and ENTRYPOINT), else
    what the project says (scripts, its ASGI or WSGI app), else a guess ("" for where)."""
    for compose in sorted(composes, key=scan.compose_order):
        found = _compose_command(base, compose, p.folder)
        if found:
            return found[0], found[1], _port_of(found[0]) or p.port
    for dockerfile in sorted(p.dockerfiles, key=lambda f: (Path(f).name != "Dockerfile", f)):
        found = _dockerfile_command(base, dockerfile)
        if found:
            return found[0], found[1], _port_of(found[0]) or p.port
    return p.command, p.command_from, p.port


def _compose_command(base: Path, compose: str, folder: str) -> tuple[list[str], str] | None:
    """The `command:` of the first service of `compose` that builds from `folder`."""
    from ..errors import BakegenError
    from ..model.source import load
    from .interpolate import interpolate

    try:
        doc = load(base / compose, compose)
    except BakegenError:
        return None
    services = doc.data.get("services") if isinstance(doc.data, dict) else None
    for name, raw in (services or {}).items() if isinstance(services, dict) else ():
        build = raw.get("build") if isinstance(raw, dict) else None
        context = build if isinstance(build, str) else build.get("context", ".") if isinstance(build, dict) else None
        command = raw.get("command") if isinstance(raw, dict) else None
        if not isinstance(context, str) or not command:
            continue
        here = os.path.normpath(os.path.join(os.path.dirname(compose), interpolate(context)[0])).replace(os.sep, "/")
        if here != os.path.normpath(folder):
            continue
        words = [str(w) for w in command] if isinstance(command, list) else _words(str(command))
        expanded = [interpolate(w) for w in words]
        if words and not any(e[2] for e in expanded):
            span = doc.positions.keys.get(("services", name, "command"))
            return [e[0] for e in expanded], f"{compose}:{span.line}" if span else compose
    return None


def _dockerfile_command(base: Path, dockerfile: str) -> tuple[list[str], str] | None:
    """ENTRYPOINT and CMD of the stage `dockerfile` ships, when they run a program the
    generated image has too (not a file of the Dockerfile's own layout, such as /entrypoint.sh)."""
    info = dockerfiles.read(base / dockerfile)
    shipped = shipped_target(info) if info else None
    section = info.section(shipped or None) if info and shipped is not None else None
    entrypoint = command = None
    cleared = False  # an ENTRYPOINT resets the CMD a stage inherits
    while section is not None:
        if command is None and not cleared:
            command = section.command
        cleared = cleared or (section.entrypoint is not None and section.command is None)
        entrypoint = entrypoint or section.entrypoint
        parents = [s for s in info.sections if s.name and s.name == section.base.lower() and s.index < section.index]
        section = parents[0] if parents and not (entrypoint and command) else None
    words: list[str] = []
    line = 0
    for part in (entrypoint, command):
        if part:
            values, exec_form, line = part
            words += values if exec_form else _words(" ".join(values))
    if not words:
        return None
    # A venv's or system's bin folder is on the generated image's PATH too: the program's name is enough.
    words[0] = words[0].rsplit("/", 1)[-1] if words[0].startswith("/") and "/bin/" in words[0] else words[0]
    if words[0].startswith(("/", "./")):
        return None
    return words, f"{dockerfile}:{line}"


def _words(text: str) -> list[str]:
    """A shell-form command as exec-form words; with shell syntax in it, run by /bin/sh."""
    import shlex

    if re.search(r"[$&|;<>`()*?]", text):
        return ["/bin/sh", "-c", text]
    try:
        return shlex.split(text)
    except ValueError:
        return ["/bin/sh", "-c", text]


def _port_of(command: list[str]) -> int | None:
    """The port a server command listens on: --port N, -p N, --bind HOST:N, -b HOST:N, --listen=HOST:N."""
    for i, word in enumerate(command):
        key, _, value = word.partition("=")
        if key in ("--port", "-p", "--bind", "-b", "--listen") and not value and i + 1 < len(command):
            value = command[i + 1]
        elif key not in ("--port", "-p", "--bind", "-b", "--listen"):
            continue
        digits = value.rsplit(":", 1)[-1]
        if digits.isdigit() and 0 < int(digits) < 65536:
            return int(digits)
    return None


def _stage_targets(info: dockerfiles.DockerfileInfo | None) -> dict[str, str]:
    """The Dockerfile stage each matrix stage builds: stages named for development and
    tests, and production as layout.shipped_target decides it."""
    if info is None:
        return {"production": UNNAMED_FINAL}  # validate says why it cannot be read
    out: dict[str, str] = {}
    for kind in ("development", "test"):
        named = [s for s in info.stages if role(s) == kind]
        if named:
            out[kind] = kind if kind in named else named[0]
    shipped = shipped_target(info)
    if shipped is not None:
        out["production"] = shipped or UNNAMED_FINAL
    return out


def _folder(folder: str) -> str:
    """A folder as a comment names it: "." would end the sentence twice."""
    return "this folder" if folder in (".", "") else folder
