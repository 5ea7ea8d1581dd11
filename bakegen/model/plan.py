"""The build plan: plain, frozen data that templates render and tests inspect.

Nothing here knows about YAML, pydantic or Jinja. Mappings are ordinary
dicts in a stable order (declaration order, or sorted where the matrix
has no order), so rendering is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .resolved import GithubCi, GitlabCi


@dataclass(frozen=True)
class Var:
    """A reference to a bake variable inside an interpolated string."""

    name: str


# A string that mixes literal text with bake variables, e.g.
# (Var("REGISTRY"), "/api:", Var("TAG")). Literal parts are escaped when
# written to HCL; variables become ${NAME}.
Interpolated = tuple[str | Var, ...]


def display(value: Interpolated) -> str:
    """How an interpolated string reads in the bake file, e.g. ${REGISTRY}/api:${TAG}."""
    return "".join(f"${{{p.name}}}" if isinstance(p, Var) else p for p in value)


def repository(ref: str) -> str:
    """An image reference without its tag: registry:5000/ns/app:1.0 -> registry:5000/ns/app."""
    name, sep, tag = ref.rpartition(":")
    return name if sep and "/" not in tag else ref


# Bake variable that narrows every target to the local machine's platform
# (buildx's own BAKE_LOCAL_PLATFORM).
LOCAL_PLATFORM = "LOCAL_PLATFORM"
BAKE_LOCAL_PLATFORM = "BAKE_LOCAL_PLATFORM"
# Bake variable that turns on cache export: local and pull-request builds
# cannot write to the cache registry, so only push and CI builds do.
CACHE_EXPORT = "CACHE_EXPORT"
# Bake variable that adds the SBOM attestation to pushed targets. BuildKit makes
# it with a scanner image from Docker Hub, so it is off unless a push asks for
# it: a local build then needs nothing but its base images.
SBOM = "SBOM"
SBOM_ATTESTATION = "type=sbom"
# Bake variable with the commit's time, for reproducible pushed images.
SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"


@dataclass(frozen=True)
class Empty:
    """The test that a string bake variable is empty (HCL: NAME == "")."""

    var: Var


# An item of a bake list: a string, an interpolated one, or a bake variable's value.
Item = str | Interpolated | Var


@dataclass(frozen=True)
class Choice:
    """A bake list chosen when bake reads the file (HCL: test ? then : otherwise);
    `test` is a bool bake variable, or Empty(variable)."""

    test: Var | Empty
    then: tuple[Item, ...]
    otherwise: tuple[Item, ...] | Choice  # a Choice: test ? then : (test2 ? ... : ...)


@dataclass(frozen=True)
class Variable:
    name: str
    default: str | bool  # bake infers the variable's type from its default
    description: str


@dataclass(frozen=True)
class Inputs:
    """Everything one target is built from, besides its own bake attributes.

    What `bakegen affected` compares between two commits and what a target's
    input digest is made of: a change to anything listed here may change
    the image; a change to anything else cannot.
    """

    # Project-relative, '/'-separated, sorted: the files of its build context
    # that its build is sent (after the .dockerignore), those of its named
    # contexts, and the user's Dockerfile with its .dockerignore.
    files: tuple[str, ...] = ()
    # The shipped template its Dockerfile is rendered from (the ones it
    # imports and a `project.templates` override of any are inputs too).
    template: str | None = None
    images: tuple[str, ...] = ()  # image references it builds from
    # The matrix entries its values come from, as paths (("services", "api"), ("stages", "test")).
    matrix: tuple[tuple[str, ...], ...] = ()
    # Targets whose images it is built on (image_of): their inputs are its inputs.
    upstream: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """One bake target: one service built at one stage, for its platforms."""

    name: str
    service: str
    stage: str
    description: str
    context: str  # relative to the project root, '/'-separated
    dockerfile: str  # relative to `context`, as bake resolves it
    target: str  # Dockerfile stage
    platforms: tuple[str, ...]
    tags: tuple[Interpolated, ...]
    args: dict[str, str] = field(default_factory=dict)
    contexts: dict[str, str] = field(default_factory=dict)
    labels: dict[str, Interpolated] = field(default_factory=dict)
    attest: tuple[str, ...] = ()
    output: tuple[str, ...] = ()
    secret: tuple[str, ...] = ()  # bake `secret` entries: id=ID,env=VAR or id=ID,src=PATH
    inherits: tuple[str, ...] = ()
    cache_from: tuple[Interpolated, ...] = ()
    cache_to: tuple[Interpolated, ...] = ()
    push: bool = False
    deploy: str | None = None
    # One image manifest, never an index (AWS Lambda): no attestations.
    single_manifest: bool = False
    # `attest` of builds for every platform; LOCAL_PLATFORM=true builds add none.
    push_attest: tuple[str, ...] = ()
    # `output` when SOURCE_DATE_EPOCH is set (pushed targets without a stage
    # `output`): the image exporter rewrites file times to it.
    epoch_output: tuple[Interpolated, ...] = ()
    inputs: Inputs = Inputs()

    # The attributes whose value bake chooses when it reads the file, from the
    # fields above: () where the target has none.
    @property
    def bake_platforms(self) -> Choice:
        return Choice(Var(LOCAL_PLATFORM), (Var(BAKE_LOCAL_PLATFORM),), self.platforms)

    @property
    def bake_attest(self) -> tuple[str, ...] | Choice:
        if self.attest or not self.push_attest:
            return self.attest
        chosen: tuple[str, ...] | Choice = self.push_attest
        if SBOM_ATTESTATION in self.push_attest:
            chosen = Choice(Var(SBOM), self.push_attest, tuple(a for a in self.push_attest if a != SBOM_ATTESTATION))
        return Choice(Var(LOCAL_PLATFORM), (), chosen)

    @property
    def bake_cache_to(self) -> Choice | tuple[()]:
        return Choice(Var(CACHE_EXPORT), self.cache_to, ()) if self.cache_to else ()

    @property
    def bake_output(self) -> tuple[str, ...] | Choice:
        if self.output or not self.epoch_output:
            return self.output
        return Choice(Empty(Var(SOURCE_DATE_EPOCH)), (), self.epoch_output)


@dataclass(frozen=True)
class Group:
    name: str
    description: str
    targets: tuple[str, ...]


# The bake file, at the project's root.
BAKE_FILE = "docker-bake.hcl"
# The list of generated files and their hashes, at the project's root (render/write.py).
MANIFEST = ".bakegen-manifest"


@dataclass(frozen=True)
class TemplateValues:
    """What a Dockerfile template sees: each runtime's values dataclass extends this
    (runtimes/common.py CommonValues, then PythonValues, GoValues, ImageOfValues)."""


@dataclass(frozen=True)
class GeneratedDockerfile:
    """A Dockerfile bakegen writes: which template, and the values it sees."""

    path: str  # relative to the project root
    template: str
    service: str
    values: TemplateValues
    # Patterns of the Dockerfile.dockerignore written next to it, which
    # BuildKit prefers to the context's own .dockerignore; None: none written.
    dockerignore: tuple[str, ...] | None = None

    @property
    def dockerignore_path(self) -> str:
        """Where the patterns go: BuildKit reads Dockerfile.dockerignore beside the Dockerfile."""
        return self.path + ".dockerignore"


@dataclass(frozen=True)
class Plan:
    source: str  # the matrix file, relative to the project root
    variables: tuple[Variable, ...]
    targets: tuple[Target, ...]
    groups: tuple[Group, ...]
    dockerfiles: tuple[GeneratedDockerfile, ...]
    warnings: tuple[str, ...] = ()
    # Folders outside the project that bake must be allowed to read.
    allow_reads: tuple[str, ...] = ()
    # Folder of template overrides, relative to the project folder.
    templates: str | None = None
    # Empty targets that others inherit from, filled in by other bake files
    # (docker/metadata-action in CI).
    base_targets: tuple[str, ...] = ()
    # Settings of the generated GitHub Actions workflow, if the matrix asks for one.
    ci_github: GithubCi | None = None
    # Settings of the generated GitLab CI pipeline, if the matrix asks for one.
    ci_gitlab: GitlabCi | None = None
    # The `# syntax=` image of generated Dockerfiles; None: no such line.
    syntax: str | None = None
    # bakegen's version: the same matrix may render differently in another.
    version: str = ""

    def target(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise KeyError(name)
