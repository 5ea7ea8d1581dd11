"""Values every generated Dockerfile shares: user, command, port, health check, env."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import Diagnostic
from ..model.plan import TemplateValues
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


@dataclass(frozen=True)
class PlatformValues:
    """One platform a generated Dockerfile may be built for."""

    target_platform: str  # as BuildKit's TARGETPLATFORM spells it
    slug: str  # for stage names: linux-arm64
    mode: str | None = None  # Python: "cross" (installs on the build platform) or "native"
    cross_steps: tuple[str, ...] = ()  # shell statements that point a cross install at the platform
    # Shell statements that give per-platform build args their plain names (NAME="${NAME_linux_arm64}").
    arg_steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class StageRun:
    """How one Dockerfile stage runs: its ENV around the service's `env`, ENTRYPOINT and CMD."""

    env_before: dict[str, str]  # the matrix stage's values, for keys the service does not set
    env_after: dict[str, str]  # the service's values for this stage (per_stage)
    entrypoint: tuple[str, ...]
    command: tuple[str, ...]


# The start of a shell case over $TARGETPLATFORM: (platform, its statements) per arm.
Case = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class HealthCheckValues:
    command: tuple[str, ...] | None
    interval: str
    timeout: str
    start_period: str
    retries: int


@dataclass(frozen=True)
class CommonValues(TemplateValues):
    """What every generated Dockerfile renders; each runtime's values extend it."""

    service: str
    uid: int
    gid: int
    user_name: str | None
    home: str
    writable: tuple[str, ...]
    entrypoint: tuple[str, ...]
    # Every Dockerfile stage of the template -> its environment, entrypoint and command.
    stage_values: dict[str, StageRun]
    command: tuple[str, ...]
    port: int | None
    env: dict[str, str]
    env_per_platform: dict[str, dict[str, str]]
    args: tuple[str, ...]
    # Per-platform build args reach bake as NAME_<slug> (see bake_arg_name)
    # and the Dockerfile maps them back to NAME in a per-platform stage.
    args_per_platform: dict[str, dict[str, str]]
    # ARG lines of a stage whose steps read the build args: "platform" for steps
    # that map per-platform args to their names (arg_case), "shared" for the others.
    arg_lines: dict[str, tuple[str, ...]]
    # The case that gives per-platform build args their plain names; () when none differ.
    arg_case: Case
    workdir: str
    context_paths: dict[str, str]  # named context -> where builder stages see it
    # Every platform the Dockerfile may be built for: the service's own,
    # then the ones only a local build (LOCAL_PLATFORM=true) asks for.
    platforms: tuple[PlatformValues, ...]
    # Secret mounts for the steps that resolve, download and compile.
    secret_mounts: str
    run_as_root: bool
    healthcheck: HealthCheckValues | None
    base_build: str | None
    base_run: str | None

    def common_stage(self, stage: str) -> str:
        """The stage that `stage`'s per-platform stages start from (itself when no value differs)."""
        return f"{stage}-common" if self.env_per_platform else stage


def healthcheck(service: ResolvedService, port: int | None,
                http_probe: Callable[[str], list[str] | None]) -> HealthCheckValues | None:
    """Health check values; `http_probe` makes the runtime's command for an http check."""
    hc = service.healthcheck
    if hc is None:
        return None
    command = hc.command if hc.command else http_probe(f"http://127.0.0.1:{port}{hc.http}")
    return HealthCheckValues(tuple(command) if command is not None else None,
                             hc.interval, hc.timeout, hc.start_period, hc.retries)


def stage_runs(service: ResolvedService, stages: tuple[str, ...]) -> dict[str, StageRun]:
    """A StageRun for every Dockerfile stage in `stages` and every stage the service builds:
    a stage it does not build (the template has it anyway) runs the service's command."""
    out = {}
    for stage in dict.fromkeys(stages + tuple(service.stage_values)):
        given = service.stage_values.get(stage)
        if given is None:
            out[stage] = StageRun({}, {}, service.entrypoint, service.command)
        else:
            out[stage] = StageRun(given.env_before, given.env_after, service.entrypoint, given.command or ())
    return out


def arg_lines(args: tuple[str, ...], arg_names: dict[str, dict[str, str]], platform_known: bool) -> tuple[str, ...]:
    """ARG lines for a stage: TARGETPLATFORM when its steps pick a platform's values, the
    common args, then each platform's per-platform args (bake_arg_name) on one line."""
    return ((("TARGETPLATFORM",) if platform_known else ()) + args
            + tuple(" ".join(names.values()) for names in arg_names.values()))


def shared_values(service: ResolvedService, http_probe: Callable[[str], list[str] | None],
                  stages: tuple[str, ...] = ()) -> dict[str, Any]:
    """The CommonValues fields of `service`, as keywords a runtime's values class takes and may
    override; `stages` are the template's Dockerfile stages."""
    env, env_per_platform = split_per_platform(service.env)
    args, args_per_platform = split_per_platform(service.args)
    arg_names = {slug: {name: bake_arg_name(name, slug) for name in sorted(names)}
                 for slug, names in args_per_platform.items()}
    platforms = tuple(
        PlatformValues(wheels.normalise(p), platform_slug(p),
                       arg_steps=tuple(step for name, arg in arg_names.get(platform_slug(p), {}).items()
                                       for step in (f'{name}="${{{arg}}}"', f"export {name}")))
        for p in service.all_platforms)
    user = service.user
    return {
        "service": service.name,
        "uid": user.uid,
        "gid": user.gid,
        "user_name": user.name,
        "home": APP_DIR,
        "writable": tuple(w if w.startswith("/") else f"{APP_DIR}/{w}" for w in service.writable),
        "entrypoint": service.entrypoint,
        "stage_values": stage_runs(service, stages),
        "command": service.command,
        "port": service.port,
        "env": env,
        "env_per_platform": env_per_platform,
        "args": tuple(sorted(args)),
        "args_per_platform": arg_names,
        "arg_lines": {"platform": arg_lines(tuple(sorted(args)), arg_names, bool(arg_names)),
                      "shared": arg_lines(tuple(sorted(args)), {}, False)},
        "arg_case": tuple((p.target_platform, "; ".join(p.arg_steps)) for p in platforms) if arg_names else (),
        "workdir": workdir(service.context, mirrored=bool(service.contexts)),
        "context_paths": {k: f"/src/{v}" for k, v in sorted(service.contexts.items())},
        "platforms": platforms,
        "secret_mounts": "".join(
            f" --mount=type=secret,id={s.id},env={s.env}" if s.env
            else f" --mount=type=secret,id={s.id},target={s.target or '/run/secrets/' + s.id}"
            for s in service.secrets
        ),
        "run_as_root": service.run_as_root,
        "healthcheck": healthcheck(service, service.port, http_probe),
        "base_build": service.base_build,
        "base_run": service.base_run,
    }


# Stage names the generated Dockerfiles use. A named context with one of
# these names would replace that stage (BuildKit swaps stages for named
# contexts of the same name), so such names are refused.
TEMPLATE_STAGES = frozenset({"uv", "uv-target", "poetry", "base", "build-python", "requirements", "dev-requirements",
                             "builder", "development", "test", "production"})
TEMPLATE_STAGE_PREFIXES = ("builder-", "development-", "production-")


def context_name_errors(service: ResolvedService) -> list[Diagnostic]:
    return [
        Diagnostic(f"named context '{name}' has the name of a stage of the generated Dockerfile",
                   path=("services", service.name, "contexts", name), hint="choose another name, e.g. 'shared-src'")
        for name in service.contexts
        if name in TEMPLATE_STAGES or name.startswith(TEMPLATE_STAGE_PREFIXES)
    ]
