"""The shape of matrix.yaml, as pydantic models.

These models describe the file and nothing else: unknown keys are errors,
short forms are normalised here once (a before-validator), and every field
carries the description that feeds `bakegen schema` and the reference in
docs/reference.md. Checks that need the whole document (does this service's deploy
target exist?) live in `crossref.py`, because they need paths to report.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from .fields import (
    ARG_PATTERN,
    BRANCH_PATTERN,
    GITLAB_FILE_PATTERN,
    BUILD,
    GENERATED,
    AppliesTo,
    DEFAULT_SYNTAX,
    STAGE_PATTERN,
    ArgName,
    DebianPackage,
    EnvText,
    BakeOutput,
    Command,
    EnvValue,
    FormatVersion,
    GoPackage,
    ImageRef,
    ImageTag,
    LabelKey,
    Line,
    Name,
    PerPlatform,
    Platform,
    RelPath,
    SecretFile,
    SecretTarget,
    Size,
    TagTemplate,
    Text,
    WholeNumber,
    WritablePath,
    none_is_empty,
)

FORMAT_VERSION = 1


class Model(BaseModel):
    # coerce_numbers_to_str: an unquoted number in a text field is its text as
    # written (source.YamlInt and YamlFloat), e.g. `tag: 3.10` stays "3.10".
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False, coerce_numbers_to_str=True)


class Project(Model):
    """Settings shared by every service."""

    name: Name = Field(description="Project name; used in OCI labels.", examples=["shop"])
    registry: str = Field(
        min_length=1,
        pattern=r"^[a-z0-9][a-z0-9._:/-]*$",
        description=(
            "Registry and namespace images are pushed to. Becomes the default of the bake "
            "variable REGISTRY, so CI can push elsewhere without re-rendering."
        ),
        examples=["registry.example.com/shop"],
    )
    tag: ImageTag = Field(
        "latest",
        description="Default of the bake variable TAG (override with TAG=1.2.3 docker buildx bake).",
        examples=["latest"],
    )
    tags: list[TagTemplate] = Field(
        default_factory=lambda: ["{registry}/{service}:{tag}-{stage}"],
        min_length=1,
        description=(
            "Tag scheme for every image. Placeholders: {registry}, {tag} (bake variables), "
            "{service}, {stage}. A stage or service may set its own `tags`."
        ),
        examples=[["{registry}/{service}:{tag}-{stage}"]],
    )
    platforms: list[Platform] = Field(
        default_factory=lambda: ["linux/amd64", "linux/arm64"],
        min_length=1,
        description="Platforms of a service that has no deploy target and sets no platforms.",
        examples=[["linux/amd64", "linux/arm64"]],
    )
    output: RelPath = Field(
        "generated",
        description="Folder (relative to matrix.yaml) where generated Dockerfiles go.",
        examples=["generated"],
    )
    source: str | None = Field(
        None,
        pattern=r"^[^\s\x00]+$",
        description="URL of the source repository: the OCI label org.opencontainers.image.source.",
        examples=["https://github.com/example/shop"],
    )
    emulation: Literal["allow", "warn", "forbid"] = Field(
        "warn",
        description=(
            "What to do about steps that only run under emulation (QEMU) when one machine builds "
            "every platform of a service: RUN steps of a `runtime: dockerfile` service that execute "
            "on the target platform, and Python dependencies installed on the target platform "
            "(`python.builder: native`, or `auto` without wheels). `warn`: say so at render, per "
            "service and platform, with the step's line; `forbid`: refuse the matrix; `allow`: "
            "say nothing (each platform has a native builder, as the generated CI gives it)."
        ),
        examples=["forbid"],
    )
    attestations: bool = Field(
        True,
        description=(
            "Provenance (`mode=max`: how and from what the image was built) and SBOM (the "
            "packages in it) attestations on every pushed target that is not `single_manifest`, "
            "except in `LOCAL_PLATFORM=true` builds. The SBOM comes from BuildKit's scanner image "
            "(docker/buildkit-syft-scanner, pulled from Docker Hub). `false`: buildx's default, "
            "a minimal provenance."
        ),
        examples=[False],
    )
    require_digests: bool = Field(
        False,
        description=(
            "Policy: every entry of `images` must be pinned by digest (`name@sha256:...`), so a "
            "base image cannot change under the same tag."
        ),
        examples=[True],
    )
    metadata_action: bool = Field(
        False,
        description=(
            "Pushed targets inherit the `docker-metadata-action` target that docker/metadata-action "
            "writes in GitHub Actions (labels and annotations from the action; tags stay per "
            "service). An empty target of that name keeps the file working outside CI."
        ),
        examples=[True],
    )
    dockerfile_syntax: Annotated[str, Field(pattern=r"^(builtin|[a-z0-9][a-z0-9._/:@-]*)$")] = Field(
        DEFAULT_SYNTAX,
        description=(
            "The `# syntax=` line of generated Dockerfiles: the Dockerfile frontend image BuildKit "
            "pulls for every build (pin it by digest with `@sha256:...`), or `builtin` to leave the "
            "line out and use the engine's own frontend (air-gapped builders cannot pull the image; "
            "generated Dockerfiles need nothing newer than Docker Engine 23's)."
        ),
        examples=["docker/dockerfile:1.17", "builtin"],
    )
    templates: RelPath | None = Field(
        None,
        description=(
            "Folder of template overrides, relative to matrix.yaml: a template there replaces the "
            "shipped one of the same name (e.g. python.Dockerfile.j2, docker-bake.hcl.j2), and can "
            "extend it as bakegen/NAME to change a single block. `--templates` overrides this."
        ),
        examples=["docker/templates"],
    )
    cache: Cache | None = Field(None, description="Build cache for every target (none by default).",
                                examples=[{"backend": "registry"}])
    allow_outside: list[RelPath] = Field(
        default_factory=list,
        description=(
            "Folders outside the project folder that build contexts may read. `docker buildx "
            "bake` refuses such paths unless run with `--allow fs.read=PATH`; bakegen prints the "
            "flag and writes it into docker-bake.hcl's header."
        ),
        examples=[["../shared-libs"]],
    )
    labels: dict[LabelKey, Text] = Field(
        default_factory=dict,
        description="OCI labels added to every image.",
        examples=[{"org.opencontainers.image.vendor": "Example Inc."}],
    )


class Cache(Model):
    """Build cache shared between machines and CI runs (bake cache-from / cache-to)."""

    backend: Literal["registry", "gha"] = Field(
        description=(
            "`registry`: cache images next to the images (any registry); `gha`: the GitHub "
            "Actions cache service (only inside GitHub Actions)."
        ),
        examples=["registry"],
    )
    ref: TagTemplate = Field(
        "{registry}/{service}:cache-{stage}",
        description="`registry` only: where the cache image of each target goes.",
        examples=["{registry}/cache:{service}-{stage}"],
    )
    mode: Literal["min", "max"] = Field(
        "max", description="`max` also caches intermediate stages (builders): bigger, more hits.",
        examples=["max"],
    )


class Stage(Model):
    """One value of the stage axis, e.g. development, test or production."""

    target: Annotated[str, Field(pattern=STAGE_PATTERN)] | None = Field(
        None,
        description="Dockerfile stage this stage builds (default: the stage's own name).",
        examples=["production"],
    )
    push: bool = Field(
        False,
        description="Whether images of this stage are pushed: they join the bake group `push`.",
        examples=[True],
    )
    tags: list[TagTemplate] | None = Field(
        None,
        description="Tag scheme for this stage, instead of the project's `tags`.",
        examples=[["{registry}/{service}:{tag}", "{registry}/{service}:latest"]],
    )
    output: list[BakeOutput] | None = Field(
        None,
        description=(
            "Bake `output` entries for this stage, e.g. [\"type=cacheonly\"] for a stage that "
            "only has to build (tests). Default: bake's default."
        ),
        examples=[["type=cacheonly"]],
    )
    env: dict[ArgName, EnvText] = Field(
        default_factory=dict,
        description=(
            "Environment of every service's image at this stage (a service's `env` and "
            "`per_stage` override it), e.g. ENVIRONMENT=testing in test."
        ),
        examples=[{"ENVIRONMENT": "testing"}],
    )


class DeployTarget(Model):
    """Where images run, and the platforms that place accepts."""

    platforms: list[Platform] = Field(
        min_length=1,
        description=(
            "Platforms this deploy target runs. A service on it builds these by default, and "
            "asking for any other platform is an error."
        ),
        examples=[["linux/arm64"]],
    )
    single_manifest: bool = Field(
        False,
        description=(
            "Push a plain single-platform image manifest, not an index: one platform and no "
            "provenance or SBOM attestations (AWS Lambda rejects image indexes)."
        ),
        examples=[True],
    )
    description: str = Field("", description="What this deploy target is, for people.",
                             examples=["AWS Lambda on Graviton"])


class HealthCheck(Model):
    """Container health check. Runs with a tool the image has (never curl in a slim image)."""

    http: str | None = Field(
        None,
        pattern=r"^/",
        description=(
            "Path probed on the service's `port` with the image's own runtime "
            "(Python's urllib for python services)."
        ),
        examples=["/health"],
    )
    command: Command | None = Field(
        None,
        description="Exec-form command instead of `http`; exit 0 means healthy.",
        examples=[["/app/healthcheck"]],
    )
    interval: str = Field("30s", pattern=r"^\d+(ms|s|m|h)$", description="Time between checks.",
                          examples=["30s"])
    timeout: str = Field("5s", pattern=r"^\d+(ms|s|m|h)$", description="Time one check may take.",
                         examples=["5s"])
    start_period: str = Field("10s", pattern=r"^\d+(ms|s|m|h)$", description="Grace time after start.",
                              examples=["10s"])
    retries: WholeNumber = Field(3, ge=1, le=100, description="Failures before the container is unhealthy.",
                         examples=[3])


class Secret(Model):
    """A build secret: reaches build steps as a secret mount, never as ARG or ENV."""

    env: Annotated[str, Field(pattern=ARG_PATTERN)] | None = Field(
        None,
        description=(
            "Read from this environment variable of the build machine; the dependency and "
            "compile steps see it under the same name."
        ),
        examples=["UV_INDEX_PRIVATE_PASSWORD"],
    )
    file: SecretFile | None = Field(
        None,
        description="Read from this file of the build machine (absolute, or relative to matrix.yaml).",
        examples=["secrets/netrc"],
    )
    target: SecretTarget | None = Field(
        None,
        description="With `file`: where the build steps find it (default /run/secrets/ID).",
        examples=["/root/.netrc"],
    )


class BaseImages(Model):
    """Which entries of `images` a service builds from and runs on."""

    build: Name = Field(description="Image (key of `images`) for building.", examples=["python"])
    run: Name = Field(description="Image (key of `images`) the final image is based on.", examples=["python"])


def _base_short_form(value: Any) -> Any:
    # `base: python` means the same image for building and running.
    if isinstance(value, str):
        return {"build": value, "run": value}
    return value


class PythonOptions(Model):
    """Settings for `runtime: python`."""

    package_manager: Literal["uv", "pip", "poetry"] | None = Field(
        None,
        description=(
            "How dependencies are installed. Default: what the context's files name: uv.lock → uv, "
            "poetry.lock or a [tool.poetry] table → poetry, requirements.txt → pip, a pyproject.toml "
            "with neither → uv."
        ),
        examples=["uv"],
    )
    builder: Literal["auto", "cross", "native"] = Field(
        "auto",
        description=(
            "Where dependencies are installed. `cross`: on the build machine's platform, "
            "downloading wheels built for the target platform (fast, no emulation; every "
            "dependency needs a wheel for it). `native`: on the target platform, where "
            "packages without wheels can compile (needs emulation when the build machine's "
            "platform differs). `auto`: `cross` for each platform the lock file has wheels "
            "for, `native` for the others; `cross` when there is no lock file to read."
        ),
        examples=["auto"],
    )
    glibc: Annotated[str, Field(pattern=r"^2\.\d{1,2}$")] | None = Field(
        None,
        description=(
            "glibc version of the base images, which decides the manylinux wheels a cross "
            "install takes. Default: read from the image tag (bookworm 2.36, bullseye 2.31, "
            "trixie 2.41, noble 2.39, al2023 2.34; alpine means musl), else 2.28."
        ),
        examples=["2.36"],
    )
    poetry_version: str = Field(
        "2.5.1", pattern=r"^\d+(\.\d+){1,2}$", description="Poetry version installed in the builder (poetry only).",
        examples=["2.5.1"]
    )
    test_command: Command = Field(
        default_factory=lambda: ["python", "-m", "pytest"],
        description="Run as a build step of the test stage: building `test` fails when tests fail.",
        examples=[["python", "-m", "pytest", "-q"]],
    )
    dev_command: Command | None = Field(
        None,
        description="Command of the development stage (e.g. with auto-reload); default: `command`.",
        examples=[["uvicorn", "app.main:app", "--reload", "--host", "0.0.0.0"]],
    )


class GoOptions(Model):
    """Settings for `runtime: go`."""

    package: GoPackage = Field(
        ".", description="Package to build, relative to the context.", examples=["./cmd/api"])
    binary: str = Field("app", pattern=r"^[A-Za-z0-9._-]+$", description="Name of the built binary.",
                        examples=["api"])
    lambda_runtime: bool = Field(
        False,
        description=(
            "Build for an AWS Lambda custom runtime: the binary is installed as `bootstrap` "
            "and is the entrypoint."
        ),
        examples=[True],
    )
    tags: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]] = Field(
        default_factory=list, description="Go build tags (`go build -tags`).", examples=[["lambda.norpc"]])
    ldflags: list[Annotated[str, Field(pattern=r"^-[A-Za-z][^\s'\"\\$`]*$|^[^\s'\"\\$`-][^\s'\"\\$`]*$")]] = Field(
        default_factory=list,
        description="Extra linker flags after `-s -w`, one per item, e.g. `-X`, `main.version=1.4.0`.",
        examples=[["-X", "main.version=1.4.0"]],
    )
    files: list[RelPath] = Field(
        default_factory=list,
        description=(
            "Files and folders of the service's context that production images ship beside the binary, "
            "under /app (then the working directory), e.g. config or migrations that the binary reads "
            "by relative path, as a hand-written Dockerfile would COPY them."
        ),
        examples=[["config", "migrations"]],
    )


class StageSettings(Model):
    """What differs for one service at one stage."""

    env: dict[ArgName, EnvText] = Field(
        default_factory=dict,
        description="Environment at this stage, over the service's `env`.",
        examples=[{"LOG_LEVEL": "DEBUG"}],
    )
    command: Command | None = Field(
        None,
        description="Command at this stage instead of `command`, e.g. a reloading server in development.",
        examples=[["flask", "--app", "web:app", "run", "--debug"]],
    )


class User(Model):
    """The user production (and development) images run as."""

    name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")] | None = Field(
        None,
        description=(
            "User name, added to the image's /etc/passwd and /etc/group (without running "
            "anything on the target platform). Default: no name, a numeric user."
        ),
        examples=["app"],
    )
    uid: int = Field(10001, ge=1, le=2**31 - 2, description="User id; not 0 (root needs `run_as_root`).",
                     examples=[10001])
    gid: int = Field(10001, ge=1, le=2**31 - 2, description="Group id.", examples=[10001])


class SystemPackages(Model):
    """Debian packages (apt) a Python service needs."""

    build: list[DebianPackage] = Field(
        default_factory=list,
        description=(
            "Installed in the stages that install dependencies and run tests, e.g. compilers and "
            "headers for packages that ship only sources (`gcc`, `libpq-dev`)."
        ),
        examples=[["gcc", "libpq-dev"]],
    )
    run: list[DebianPackage] = Field(
        default_factory=list,
        description=(
            "Added to the production and development images, e.g. shared libraries (`libpq5`). "
            "They are downloaded for the target platform and unpacked on the build machine's "
            "platform, so no emulation is needed; their install scripts do not run (libraries load "
            "by name, executables run; `ctypes.util.find_library` does not see them)."
        ),
        examples=[["libpq5"]],
    )


# Where Service fields have an effect (fields.AppliesTo), beyond GENERATED and BUILD.
_OWN_IMAGE = AppliesTo(image_of=False)
_DOCKERFILE_ONLY = AppliesTo(("dockerfile",), image_of=False, elsewhere="`{key}` is only for runtime dockerfile")
_TARGETS = AppliesTo(("dockerfile",), image_of=False, elsewhere=_DOCKERFILE_ONLY.elsewhere, derived=BUILD.derived)
_BASE = AppliesTo(("python", "go"), image_of=False,
                  elsewhere="`base` has no effect with runtime dockerfile; your Dockerfile names its images")
_PRODUCTION_EXCLUDE = AppliesTo(GENERATED.runtimes, image_of=False, elsewhere=GENERATED.elsewhere,
                                derived=BUILD.derived)
_USER = AppliesTo(("python", "go"),
                  elsewhere="`user` has no effect with runtime dockerfile; end your Dockerfile's stages with USER")
_SYSTEM_PACKAGES = AppliesTo(("python",), image_of=False, elsewhere="`system_packages` needs `runtime: python`",
                             hint="go images are static binaries; a runtime: dockerfile service installs its own",
                             derived=BUILD.derived)
_PYTHON = AppliesTo(("python",), image_of=False, elsewhere="`python` options need `runtime: python`")
_GO = AppliesTo(("go",), image_of=False, elsewhere="`go` options need `runtime: go`")


class Service(Model):
    """One service: what it is built from and how it runs."""

    runtime: Literal["python", "go", "dockerfile"] | None = Field(
        None,
        description=(
            "`python` or `go` use bakegen's templates; `dockerfile` builds your own Dockerfile "
            "(bakegen writes only the bake targets). Not set for `image_of` services."
        ),
        examples=["python"],
    )
    image_of: Name | None = Field(
        None,
        description=(
            "Run the image of another service with a different command. The other service's "
            "image is built once; this one adds a thin layer (command, port, health check)."
        ),
        examples=["api"],
    )
    context: Annotated[RelPath | None, _OWN_IMAGE] = Field(
        None,
        description="Build context folder, relative to matrix.yaml. Required unless `image_of`.",
        examples=["services/api"],
    )
    dockerfile: Annotated[RelPath | None, _DOCKERFILE_ONLY] = Field(
        None,
        description="`runtime: dockerfile` only: your Dockerfile, relative to matrix.yaml.",
        examples=["services/legacy/Dockerfile"],
    )
    targets: Annotated[dict[str, Annotated[str, Field(pattern=STAGE_PATTERN)] | None], _TARGETS] = Field(
        default_factory=dict,
        description=(
            "`runtime: dockerfile` only: Dockerfile stage per stage name, where they differ. `null`: the "
            "Dockerfile's last stage, as bake builds it when a target names none (a final `FROM` "
            "without `AS name`)."
        ),
        examples=[{"production": "runtime"}, {"production": None}],
    )
    base: Annotated[Annotated[BaseImages, BeforeValidator(_base_short_form, json_schema_input_type=BaseImages | str)] | None, _BASE] = Field(
        None,
        description=(
            "Base images, by key of `images`: one name for both, or {build, run}. "
            "Default: the image named like the runtime (`python`, or `go` + `static`)."
        ),
        examples=["python", {"build": "go", "run": "lambda"}],
    )
    deploy: Name | None = Field(
        None, description="Deploy target (key of `deploy_targets`); decides the platforms.", examples=["eks"]
    )
    stages: list[Name] | None = Field(
        None, description="Stages this service builds (default: all stages).", examples=[["development", "production"]]
    )
    platforms: list[Platform] | None = Field(
        None,
        description="Platforms to build (default: the deploy target's, else the project's).",
        examples=[["linux/arm64"]],
    )
    command: Annotated[Command | None, GENERATED] = Field(
        None,
        description="Command the container runs, as a list or one shell-like string (always exec form).",
        examples=[["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]],
    )
    port: WholeNumber | None = Field(None, ge=1, le=65535, description="Port the service listens on.", examples=[8000])
    healthcheck: HealthCheck | None = Field(None, description="Container health check.",
                                            examples=[{"http": "/health"}])
    args: Annotated[dict[ArgName, PerPlatform], BUILD] = Field(
        default_factory=dict,
        description=(
            "Build args. A value may differ per platform: give a mapping of platform to value "
            "(plus `default`)."
        ),
        examples=[{"APP_VERSION": "1.4.2", "WORKERS": {"linux/amd64": "4", "linux/arm64": "2"}}],
    )
    env: Annotated[dict[ArgName, EnvValue], GENERATED] = Field(
        default_factory=dict,
        description="Environment of the running container; a value may differ per platform like `args`.",
        examples=[{"LOG_LEVEL": "info"}],
    )
    contexts: Annotated[dict[Annotated[str, Field(pattern=STAGE_PATTERN)], RelPath], BUILD] = Field(
        default_factory=dict,
        description=(
            "Extra named build contexts (folders relative to matrix.yaml), e.g. shared modules "
            "outside the service folder; a Dockerfile reads them with COPY --from=NAME."
        ),
        examples=[{"shared": "libs/shared"}],
    )
    labels: dict[LabelKey, Text] = Field(default_factory=dict, description="OCI labels for this service's images.",
                                    examples=[{"com.example.team": "payments"}])
    secrets: Annotated[dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")], Secret], BUILD] = Field(
        default_factory=dict,
        description=(
            "Build secrets by id, e.g. credentials of a private package index. They reach the "
            "build only as `RUN --mount=type=secret` and bake `secret` entries, never as ARG or "
            "ENV, so they are not stored in the image."
        ),
        examples=[{"pypi-token": {"env": "UV_INDEX_PRIVATE_PASSWORD"}}],
    )
    size_budget: dict[str, Size] = Field(
        default_factory=dict,
        description=(
            "Largest acceptable pushed (compressed) image size per platform, plus `default`; "
            "`bakegen sizes` checks the pushed images against it."
        ),
        examples=[{"linux/amd64": "400MB", "linux/arm64": "380MB"}],
    )
    run_as_root: bool = Field(
        False,
        description=(
            "Let production images run as root. Off: generated images run as 10001:10001, and a "
            "`runtime: dockerfile` service whose pushed stages end as root is an error."
        ),
        examples=[False],
    )
    dockerignore: list[Annotated[str, Field(min_length=1, pattern=r"^[^\n\r]+$")]] = Field(
        default_factory=list,
        description=(
            "Extra patterns for the generated Dockerfile.dockerignore (BuildKit uses it instead of "
            "the context's .dockerignore), after the runtime's defaults."
        ),
        examples=[["data/", "*.csv"]],
    )
    production_exclude: Annotated[list[Annotated[str, Field(min_length=1, pattern=r"^[^\n\r\x00]+$")]], _PRODUCTION_EXCLUDE] = Field(
        default_factory=list,
        description=(
            "Files and folders of the context (glob patterns) that production images leave out, "
            "after the defaults (tests, test configuration, dev requirements); the test stage "
            "still has them. `dockerignore` instead removes files from every stage."
        ),
        examples=[["docs/", "scripts/*.sh"]],
    )
    entrypoint: Annotated[Command | None, GENERATED] = Field(
        None, description="ENTRYPOINT of the images (exec form); `command` becomes its arguments.",
        examples=[["tini", "--"]],
    )
    user: Annotated[User, _USER] = Field(default_factory=User, description="The non-root user images run as.",
                       examples=[{"name": "app", "uid": 10001, "gid": 10001}])
    writable: Annotated[list[WritablePath], GENERATED] = Field(
        default_factory=list,
        description=(
            "Folders the app writes (relative to the working directory /app, or absolute): "
            "created empty and owned by the runtime user; everything else stays read-only to it."
        ),
        examples=[["cache", "uploads"]],
    )
    per_stage: Annotated[dict[Name, StageSettings], GENERATED] = Field(
        default_factory=dict,
        description="Environment and command for single stages, e.g. debug logging in development.",
        examples=[{"development": {"env": {"LOG_LEVEL": "DEBUG"}}}],
    )
    system_packages: Annotated[SystemPackages | None, _SYSTEM_PACKAGES] = Field(
        None, description="`runtime: python` only: Debian packages for building and for running.",
        examples=[{"build": ["gcc", "libpq-dev"], "run": ["libpq5"]}],
    )
    tags: list[TagTemplate] | None = Field(
        None, description="Tag scheme for this service, instead of the stage's or project's.",
        examples=[["{registry}/{service}:{tag}"]],
    )
    python: Annotated[PythonOptions | None, _PYTHON] = Field(None, description="Options for `runtime: python`.",
                                         examples=[{"package_manager": "poetry"}])
    go: Annotated[GoOptions | None, _GO] = Field(None, description="Options for `runtime: go`.",
                                 examples=[{"lambda_runtime": True}])


class GithubCi(Model):
    """A generated GitHub Actions workflow: every pushed target built per platform on a native runner."""

    workflow: Annotated[str, Field(pattern=r"^\.github/workflows/[A-Za-z0-9._-]+\.ya?ml$")] = Field(
        ".github/workflows/bakegen.yml",
        description="Path of the generated workflow, relative to matrix.yaml.",
        examples=[".github/workflows/images.yml"],
    )
    name: Line = Field("images", description="The workflow's name.", examples=["images"])
    branches: list[Line] = Field(
        default_factory=lambda: ["main"], min_length=1,
        description="Branches whose pushes build and push (pull requests build without pushing).",
        examples=[["main"]],
    )
    runners: dict[Platform, Line] = Field(
        default_factory=lambda: {"linux/amd64": "ubuntu-24.04", "linux/arm64": "ubuntu-24.04-arm"},
        description=(
            "Runner label per platform: each platform builds natively there. A platform without a "
            "runner builds on the linux/amd64 runner under QEMU emulation."
        ),
        examples=[{"linux/amd64": "ubuntu-24.04", "linux/arm64": "ubuntu-24.04-arm"}],
    )
    cache: Literal["gha", "registry"] = Field(
        "gha",
        description=(
            "Build cache of the CI jobs, one scope per target and platform so platforms do not "
            "overwrite each other's cache: `gha` (GitHub's cache service) or `registry` (cache "
            "images next to the images)."
        ),
        examples=["gha"],
    )
    username_secret: Annotated[str, Field(pattern=ARG_PATTERN)] = Field(
        "REGISTRY_USERNAME", description="Repository secret with the registry user name.",
        examples=["REGISTRY_USERNAME"])
    password_secret: Annotated[str, Field(pattern=ARG_PATTERN)] = Field(
        "REGISTRY_PASSWORD", description="Repository secret with the registry password or token.",
        examples=["REGISTRY_PASSWORD"])


def _one_or_more(value: Any) -> Any:
    # `linux/arm64: my-runner` is a list of one tag.
    return [value] if isinstance(value, str) else value


RunnerTags = Annotated[list[Line], BeforeValidator(_one_or_more, json_schema_input_type=list[str] | str),
                       Field(min_length=1)]


class GitlabCi(Model):
    """A generated GitLab CI pipeline: every pushed target built per platform on a runner of that architecture."""

    file: Annotated[str, Field(pattern=GITLAB_FILE_PATTERN)] = Field(
        ".gitlab/bakegen.gitlab-ci.yml",
        description=(
            "Path of the generated pipeline, relative to matrix.yaml: a file under .gitlab/ that the "
            "project's .gitlab-ci.yml includes (`include: [{local: .gitlab/bakegen.gitlab-ci.yml}]`), or "
            "`.gitlab-ci.yml` itself when the images are all the pipeline does."
        ),
        examples=[".gitlab/bakegen.gitlab-ci.yml"],
    )
    branches: list[Annotated[str, Field(pattern=BRANCH_PATTERN)]] = Field(
        default_factory=lambda: ["main"], min_length=1,
        description=(
            "Branches whose pipelines build and push, by exact name; tags v* push too, and merge "
            "requests build what they change without pushing."
        ),
        examples=[["main"]],
    )
    runners: dict[Platform, RunnerTags] = Field(
        default_factory=lambda: {"linux/amd64": ["saas-linux-small-amd64"], "linux/arm64": ["saas-linux-small-arm64"]},
        description=(
            "Runner tags per platform (one tag, or a list a runner must have all of): each platform "
            "builds natively there. The defaults are GitLab.com's hosted runners. A platform without "
            "tags builds on the linux/amd64 runner under QEMU emulation."
        ),
        examples=[{"linux/amd64": "saas-linux-small-amd64", "linux/arm64": ["arm64", "docker"]}],
    )
    docker: Literal["dind", "shell"] = Field(
        "dind",
        description=(
            "The Docker the jobs build with: `dind`, a docker-in-docker service beside the job's "
            "image (runners of the docker executor in privileged mode, as GitLab.com's are), or "
            "`shell`, the runner's own (shell executor, with docker, buildx, git and jq installed)."
        ),
        examples=["dind"],
    )
    docker_image: ImageRef = Field(
        "docker:28", description="`docker: dind` only: the build jobs' image, with the docker CLI and buildx.",
        examples=["docker:28"])
    dind_image: ImageRef = Field(
        "docker:28-dind", description="`docker: dind` only: the Docker daemon's service image.",
        examples=["docker:28-dind"])
    python_image: ImageRef = Field(
        "python:3.12",
        description="`docker: dind` only: the image of the merge-request job that runs `bakegen affected` (with git).",
        examples=["python:3.12"])
    stage: Line = Field(
        "build",
        description=(
            "The stage of the build and merge jobs; the plan job runs in .pre and the digest map in "
            ".post. An included file's jobs need it among the project's `stages:`."
        ),
        examples=["build"],
    )
    registry: Line = Field(
        "$CI_REGISTRY_IMAGE",
        description=(
            "REGISTRY of the pipeline's builds, expanded by GitLab: the project's container registry "
            "by default. A CI/CD variable REGISTRY overrides it."
        ),
        examples=["$CI_REGISTRY_IMAGE"],
    )
    username_variable: Annotated[str, Field(pattern=ARG_PATTERN)] = Field(
        "CI_REGISTRY_USER", description="CI/CD variable with the registry user name (GitLab's, by default).",
        examples=["CI_REGISTRY_USER"])
    password_variable: Annotated[str, Field(pattern=ARG_PATTERN)] = Field(
        "CI_REGISTRY_PASSWORD",
        description="CI/CD variable with the registry password: by default GitLab's, the job token.",
        examples=["CI_REGISTRY_PASSWORD"])


class Ci(Model):
    """Generated CI configuration."""

    github: Annotated[GithubCi, BeforeValidator(none_is_empty, json_schema_input_type=GithubCi | None)] | None = Field(
        None, description="A GitHub Actions workflow (`github:` alone takes every default).", examples=[{}])
    gitlab: Annotated[GitlabCi, BeforeValidator(none_is_empty, json_schema_input_type=GitlabCi | None)] | None = Field(
        None, description="A GitLab CI pipeline (`gitlab:` alone takes every default).", examples=[{}])


class Matrix(Model):
    """A bakegen matrix: everything needed to generate Dockerfiles and docker-bake.hcl."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, title="bakegen matrix", coerce_numbers_to_str=True,
    )

    version: FormatVersion = Field(description="Format version of this file. Currently 1.", examples=[1])
    project: Project = Field(
        description="Settings shared by every service.",
        examples=[{"name": "shop", "registry": "registry.example.com/shop"}],
    )
    images: dict[Name, ImageRef] = Field(
        default_factory=dict,
        description=(
            "Base images, named once: pin or override an image in one place. "
            "Services refer to them by name."
        ),
        examples=[{"python": "python:3.12-slim-bookworm", "go": "golang:1.24-bookworm"}],
    )
    stages: dict[Name, Annotated[Stage, BeforeValidator(none_is_empty, json_schema_input_type=Stage | None)]] = Field(
        min_length=1,
        description="The stage axis, in build order. Each becomes a bake group.",
        examples=[{"development": {}, "production": {"push": True}}],
    )
    deploy_targets: dict[Name, DeployTarget] = Field(
        default_factory=dict,
        description="Deploy targets and the platforms they accept.",
        examples=[{"lambda": {"platforms": ["linux/arm64"], "single_manifest": True}}],
    )
    ci: Ci | None = Field(
        None,
        description="Generated CI workflows, rendered and checked with the other generated files.",
        examples=[{"github": {"cache": "gha"}}],
    )
    services: dict[Name, Service] = Field(
        min_length=1,
        description="The services to build.",
        examples=[{"api": {"runtime": "python", "context": "services/api", "command": "python -m api"}}],
    )
