"""runtime: go — cross-compiled on the build platform, static binary, minimal runtime image."""

from __future__ import annotations

import posixpath

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..errors import Diagnostic
from ..model.schema import BaseImages, GoOptions
from . import common
from .base import Runtime

if TYPE_CHECKING:
    from ..files.project import ProjectFiles
    from ..model import schema
    from ..model.resolved import Resolved, ResolvedService

STAGES = ("builder", "development", "test", "production")

# Never sent to the builder: VCS data, build output, secrets.
IGNORE = common.IGNORE + ("bin", "dist", "*.test", "*.out", "vendor/**/testdata")


@dataclass(frozen=True)
class GoFacts:
    """A Go service's options and what its module's files say, read once while resolving."""

    package: str
    binary: str
    lambda_runtime: bool
    tags: tuple[str, ...]
    ldflags: tuple[str, ...]
    go_sum: bool  # the module has outside dependencies to download
    dev_command: tuple[str, ...] | None  # per_stage's command for the development stage
    data_files: tuple[str, ...] = ()  # go.files: context paths production ships under /app


@dataclass(frozen=True)
class GoValues(common.CommonValues):
    """What go.Dockerfile.j2 renders."""

    package: str
    binary: str  # the file name the binary is built as
    lambda_runtime: bool
    tags: tuple[str, ...]
    ldflags: tuple[str, ...]  # all of them, the defaults first
    dev_command: tuple[str, ...]
    go_sum: bool
    module_files: tuple[str, ...]  # what `go mod download` reads
    build_flags: tuple[str, ...]  # `go build` flags after -trimpath: tags and ldflags
    binary_path: str  # where production images have the binary
    # (source in the context, destination) of each go.files entry; production's
    # working directory is /app when there are any.
    data_files: tuple[tuple[str, str], ...]


class Go(Runtime):
    name = "go"
    template = "go.Dockerfile.j2"
    STAGES = STAGES
    IGNORE = IGNORE

    def default_base(self) -> BaseImages:
        return BaseImages(build="go", run="static")

    def http_probe(self, url: str) -> list[str] | None:
        # A static Go image has no shell, curl or interpreter to probe with.
        return None

    def facts(self, service: ResolvedService, spec: schema.Service, matrix: schema.Matrix,
              files: ProjectFiles) -> tuple[GoFacts, list[Diagnostic]]:
        errors = common.context_name_errors(service) + self.stage_errors(service)
        module = files.root / service.context
        if not files.is_file(module / "go.mod"):
            errors.append(Diagnostic(f"{service.context}/go.mod does not exist; a go service's context is its module",
                                     path=("services", service.name, "context")))
        opts = spec.go or GoOptions()
        errors += _data_file_errors(service, opts.files, files)
        dev_command = next((spec.per_stage[stage].command for stage, target in service.targets.items()
                            if target == "development" and stage in spec.per_stage
                            and spec.per_stage[stage].command), None)
        return GoFacts(
            package=opts.package,
            binary=opts.binary,
            lambda_runtime=opts.lambda_runtime,
            tags=tuple(opts.tags),
            ldflags=tuple(opts.ldflags),
            # No go.sum is normal for a module without outside dependencies, and
            # Go itself refuses to build one that needs it: nothing to warn about.
            go_sum=files.is_file(module / "go.sum"),
            dev_command=tuple(dev_command) if dev_command else None,
            data_files=tuple(posixpath.normpath(f) for f in opts.files),
        ), errors

    def values(self, service: ResolvedService, resolved: Resolved) -> GoValues:
        facts = service.facts
        assert isinstance(facts, GoFacts)
        binary = "/var/task/bootstrap" if facts.lambda_runtime else f"/usr/local/bin/{facts.binary}"
        tag_flags = (f"-tags={','.join(facts.tags)}",) if facts.tags else ()
        # Strip the symbol table and debug information: smaller images, same behaviour.
        ldflags = ("-s", "-w") + facts.ldflags
        # Development runs the source with `go run`, unless per_stage names a command.
        dev_command = facts.dev_command or ("go", "run", *tag_flags, facts.package)
        # The binary is the entrypoint of production; `command` gives its arguments.
        entrypoint = service.entrypoint or (binary,)
        shared = common.shared_values(service, self.http_probe, STAGES)
        shared["entrypoint"] = entrypoint
        shared["stage_values"] = {
            stage: replace(run, entrypoint=entrypoint) for stage, run in shared["stage_values"].items()}
        shared["stage_values"]["development"] = replace(shared["stage_values"]["development"],
                                                        entrypoint=(), command=dev_command)
        return GoValues(
            **shared,
            package=facts.package,
            binary="bootstrap" if facts.lambda_runtime else facts.binary,
            lambda_runtime=facts.lambda_runtime,
            tags=facts.tags,
            ldflags=ldflags,
            dev_command=dev_command,
            go_sum=facts.go_sum,
            module_files=("go.mod", "go.sum") if facts.go_sum else ("go.mod",),
            build_flags=tag_flags + (f'-ldflags="{" ".join(ldflags)}"',),
            binary_path=binary,
            data_files=tuple((path, posixpath.join(common.APP_DIR, path)) for path in facts.data_files),
        )


def _data_file_errors(service: ResolvedService, paths: list[str], files: ProjectFiles) -> list[Diagnostic]:
    """go.files entries must be in the context and sent to the build (COPY fails otherwise)."""
    errors = []
    context = (files.root / service.context).resolve()
    sent = set(service.context_files)
    for i, path in enumerate(paths):
        at = ("services", service.name, "go", "files", i)
        full = (context / path).resolve()
        rel = posixpath.normpath(path)
        if not (full == context or context in full.parents) or rel in (".", ""):
            errors.append(Diagnostic(f"'{path}' is not inside the service's context {service.context}", path=at,
                                     hint="name a file or folder of the context, e.g. config"))
        elif not full.exists():
            errors.append(Diagnostic(f"{posixpath.join(service.context, rel)} does not exist", path=at))
        elif not any(f == rel or f.startswith(rel + "/") for f in sent):
            errors.append(Diagnostic(
                f"{posixpath.join(service.context, rel)} is left out of the build by the ignore patterns, so "
                "production images cannot copy it", path=at, hint="take it back with `!PATH` in `dockerignore`"))
    return errors


runtime = Go()
