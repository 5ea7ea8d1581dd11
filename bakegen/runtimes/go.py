"""runtime: go — cross-compiled on the build platform, static binary, minimal runtime image."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Diagnostic
from ..model.schema import BaseImages, GoOptions, Matrix
from . import common

if TYPE_CHECKING:
    from ..model.resolved import Resolved, ResolvedService

name = "go"
template = "go.Dockerfile.j2"
STAGES = ("builder", "development", "test", "production")

# Never sent to the builder: VCS data, build output, secrets.
IGNORE = common.IGNORE + ("bin", "dist", "*.test", "*.out", "vendor/**/testdata")


def default_base() -> BaseImages:
    return BaseImages(build="go", run="static")


def options(service: ResolvedService) -> GoOptions:
    return service.spec.go or GoOptions()


def http_probe(url: str) -> list[str] | None:
    # A static Go image has no shell, curl or interpreter to probe with.
    return None


def check(service: ResolvedService, matrix: Matrix, project_dir: Path) -> list[Diagnostic]:
    errors = common.context_name_errors(service)
    for stage, target in service.targets.items():
        if target not in STAGES:
            errors.append(Diagnostic(
                f"stage '{stage}' maps to Dockerfile stage '{target}', which the go template does not have",
                path=("stages", stage, "target"), hint=f"go stages: {', '.join(STAGES)}"))
    if not (project_dir / service.context / "go.mod").is_file():
        errors.append(Diagnostic(f"{service.context}/go.mod does not exist; a go service's context is its module",
                                 path=("services", service.name, "context")))
    return errors


def extra_contexts(service: ResolvedService, project_dir: Path) -> dict[str, str]:
    return {}


def warnings(service: ResolvedService, project_dir: Path) -> list[str]:
    # No go.sum is normal for a module without outside dependencies, and Go
    # itself refuses to build one that needs it: nothing to warn about.
    return []


def values(service: ResolvedService, resolved: Resolved, project_dir: Path) -> dict[str, Any]:
    opts = options(service)
    binary = "/var/task/bootstrap" if opts.lambda_runtime else f"/usr/local/bin/{opts.binary}"
    build_flags = [f"-tags={','.join(opts.tags)}"] if opts.tags else []
    # Development runs the source with `go run`, unless per_stage names a command.
    dev_command = next((service.spec.per_stage[stage].command for stage, target in service.targets.items()
                        if target == "development" and stage in service.spec.per_stage
                        and service.spec.per_stage[stage].command), None)
    return {
        **common.shared_values(service),
        "base_build": service.base_build,
        "base_run": service.base_run,
        "package": opts.package,
        "binary": "bootstrap" if opts.lambda_runtime else opts.binary,
        "lambda_runtime": opts.lambda_runtime,
        "tags": list(opts.tags),
        "ldflags": list(opts.ldflags),
        "dev_command": list(dev_command or ["go", "run", *build_flags, opts.package]),
        # The binary is the entrypoint; `command` gives its arguments.
        "entrypoint": list(service.spec.entrypoint or [binary]),
        "go_sum": (project_dir / service.context / "go.sum").is_file(),
        "healthcheck": common.healthcheck(service, service.spec.port, http_probe),
    }
