"""Values every generated Dockerfile shares: user, command, port, health check, env."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import Diagnostic
from ..model.platforms import platform_slug
from . import wheels

if TYPE_CHECKING:
    from ..model.resolved import ResolvedService

# Default non-root identity of every generated image (`user:` changes it), so
# volume permissions and Kubernetes `runAsUser` policies can rely on it.
APP_UID = 10001
APP_GID = 10001
# Where generated images keep the app and run it: relative writable paths start here.
APP_DIR = "/app"

# Never sent to the builder, whatever the runtime: VCS data, editor folders,
# environment files (they hold secrets: `dockerignore: ["!.env.defaults"]`
# takes one back), and bakegen's own files. The matrix file and the output
# folder are added per service, where they lie inside its context.
IGNORE = (".git", ".gitignore", ".gitattributes", ".github", ".hg", ".svn", ".idea", ".vscode",
          "**/.env", "**/.env.*", "**/*.env", "**/.envrc", "Dockerfile*", ".dockerignore",
          "**/docker-bake.hcl", "**/.bakegen-manifest")


def workdir(context: str, mirrored: bool) -> str:
    """Where builder stages keep the service's files.

    With named contexts (or local packages), the project's layout under /src,
    so relative paths between the service and them (go.mod `replace`, path
    dependencies) resolve as they do on disk. Otherwise /src for every
    service: services with the same files and dependencies then make the same
    build steps, which BuildKit runs once per bake.
    """
    return f"/src/{context}" if mirrored and context not in ("", ".") else "/src"


def bake_arg_name(name: str, slug: str) -> str:
    """Build-arg name carrying `name`'s value for one platform, e.g. WORKERS_linux_arm64."""
    return f"{name}_{slug.replace('-', '_')}"


def split_per_platform(values: dict[str, dict[str, str]]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Split name -> platform -> value into values common to all platforms,
    and per platform slug the values that differ."""
    common: dict[str, str] = {}
    per: dict[str, dict[str, str]] = {}
    for name, by_platform in values.items():
        distinct = set(by_platform.values())
        if len(distinct) == 1:
            common[name] = distinct.pop()
            continue
        for platform, value in by_platform.items():
            per.setdefault(platform_slug(platform), {})[name] = value
    return common, dict(sorted(per.items()))


def healthcheck(service: ResolvedService, port: int | None,
                http_probe: Callable[[str], list[str] | None]) -> dict[str, Any] | None:
    """Health check values; `http_probe` makes the runtime's command for an http check."""
    hc = service.spec.healthcheck
    if hc is None:
        return None
    command = list(hc.command) if hc.command else http_probe(f"http://127.0.0.1:{port}{hc.http}")
    return {
        "command": command,
        "interval": hc.interval,
        "timeout": hc.timeout,
        "start_period": hc.start_period,
        "retries": hc.retries,
    }


def shared_values(service: ResolvedService) -> dict[str, Any]:
    env, env_per_platform = split_per_platform(service.env)
    args, args_per_platform = split_per_platform(service.args)
    user = service.spec.user
    return {
        "service": service.name,
        "uid": user.uid,
        "gid": user.gid,
        "user_name": user.name,
        "home": APP_DIR,
        "writable": [w if w.startswith("/") else f"{APP_DIR}/{w}" for w in service.spec.writable],
        "entrypoint": list(service.spec.entrypoint or []),
        "stage_values": {
            target: {"env_before": values.env_before, "env_after": values.env_after,
                     "command": list(values.command) if values.command else None}
            for target, values in service.stage_values.items()
        },
        "command": list(service.spec.command or []),
        "port": service.spec.port,
        "env": env,
        "env_per_platform": env_per_platform,
        "args": sorted(args),
        # Per-platform build args reach bake as NAME_<slug> (see bake_arg_name)
        # and the Dockerfile maps them back to NAME in a per-platform stage.
        "args_per_platform": {
            slug: {name: bake_arg_name(name, slug) for name in sorted(names)}
            for slug, names in args_per_platform.items()
        },
        "workdir": workdir(service.context, mirrored=bool(service.contexts)),
        "context_paths": {k: f"/src/{v}" for k, v in sorted(service.contexts.items())},
        # Every platform the Dockerfile may be built for: the service's own,
        # then the ones only a local build (LOCAL_PLATFORM=true) asks for.
        "platforms": [
            {"target_platform": wheels.normalise(p), "slug": platform_slug(p), "mode": None, "cross_steps": []}
            for p in service.all_platforms
        ],
        # Secret mounts for the steps that resolve, download and compile.
        "secret_mounts": "".join(
            f" --mount=type=secret,id={sid},env={secret.env}" if secret.env
            else f" --mount=type=secret,id={sid},target={secret.target or '/run/secrets/' + sid}"
            for sid, secret in service.spec.secrets.items()
        ),
        "run_as_root": service.spec.run_as_root,
    }


# Stage names the generated Dockerfiles use. A named context with one of
# these names would replace that stage (BuildKit swaps stages for named
# contexts of the same name), so such names are refused.
TEMPLATE_STAGES = frozenset({"uv", "uv-target", "poetry", "base", "builder", "development", "test", "production"})
TEMPLATE_STAGE_PREFIXES = ("builder-", "development-", "production-")


def context_name_errors(service: ResolvedService) -> list[Diagnostic]:
    return [
        Diagnostic(f"named context '{name}' has the name of a stage of the generated Dockerfile",
                   path=("services", service.name, "contexts", name), hint="choose another name, e.g. 'shared-src'")
        for name in service.contexts
        if name in TEMPLATE_STAGES or name.startswith(TEMPLATE_STAGE_PREFIXES)
    ]
