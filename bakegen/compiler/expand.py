"""Expand resolved services into the build plan: targets, groups, Dockerfiles.

Pure: no I/O, and no pydantic model: everything it reads was resolved
(compiler/resolve.py), the runtimes' facts included. Everything is produced
in declaration order, so the plan and everything rendered from it is
deterministic.
"""

from __future__ import annotations

import posixpath
import re

from .. import runtimes
from ..errors import BakegenError, Diagnostic
from ..files import dockerignore
from ..model.plan import (CACHE_EXPORT, LOCAL_PLATFORM, SBOM, SBOM_ATTESTATION, SOURCE_DATE_EPOCH, GeneratedDockerfile,
                          Group, Inputs, Interpolated, Plan, Target, Var, Variable, display)
from ..model.resolved import Cache, Resolved, ResolvedService, bake_name
from ..runtimes.common import bake_arg_name, split_per_platform
from ..runtimes.image_of import base_context
from .names import NOTHING

# Lambda and other single-manifest targets reject image indexes, and
# attestations turn a single-platform push into an index.
NO_ATTESTATIONS = ("type=provenance,disabled=true", "type=sbom,disabled=true")
# What pushed images carry (project.attestations): how they were built and what
# is in them. Not for LOCAL_PLATFORM builds: Docker's classic image store
# cannot hold attestations, and a developer's --load needs none.
ATTESTATIONS = ("type=provenance,mode=max", SBOM_ATTESTATION)

DOCKERFILE_NAME = "Dockerfile"
# The target docker/metadata-action's bake file defines.
METADATA_ACTION = "docker-metadata-action"
# The commit's time goes to the image exporter, which sets the image's times
# and rewrites its files' (rewrite-timestamp), and not to the build as a build
# arg: BuildKit stamps WORKDIR folders with that arg, so no cached step would
# survive a new commit. `store=false` because Docker's own builder cannot
# rewrite an image it also unpacks into its store ("rewrite-timestamp
# conflicts with unpack", moby/buildkit#4230): these images are pushed, not loaded.
EPOCH_OUTPUT = (("type=image,rewrite-timestamp=true,store=false,source-date-epoch=", Var(SOURCE_DATE_EPOCH)),)


def expand(resolved: Resolved, source: str, version: str = "") -> Plan:
    """Build the Plan for `resolved`; `source` is the matrix file's name for banners,
    `version` bakegen's (an input of every target)."""
    p = resolved.project
    targets: list[Target] = []
    dockerfiles: list[GeneratedDockerfile] = []
    warnings: list[str] = []
    for service in resolved.services:
        derived = service.root != service.name
        runtime = runtimes.get("image_of" if derived else service.runtime)
        if not derived:
            warnings.extend(runtime.warnings(service))
        if service.run_as_root:
            warnings.append(f"service '{service.name}': production images run as root (run_as_root: true)")
        generated = None
        if runtime.template is not None:
            if service.ignore is not None:
                warnings.extend(_secret_warnings(service))
            generated = GeneratedDockerfile(
                path=posixpath.join(p.output, service.name, DOCKERFILE_NAME),
                template=runtime.template,
                service=service.name,
                values=runtime.values(service, resolved),
                dockerignore=service.ignore,
            )
            dockerfiles.append(generated)
        targets.extend(_targets(resolved, service, generated))
    _check_unique_tags(resolved, targets)
    variables = (
        Variable("REGISTRY", p.registry, "Registry and namespace that image tags start with."),
        Variable("TAG", p.tag, "Version part of image tags."),
        Variable("REVISION", "", "Source revision for the org.opencontainers.image.revision label, e.g. a git SHA."),
        Variable("CREATED", "", "Build time for the org.opencontainers.image.created label (RFC 3339)."),
        Variable(SOURCE_DATE_EPOCH, "",
                 "Unix time of the commit (git log -1 --pretty=%ct): pushed images take it as their creation "
                 "and file times, so two builds of one commit push the same digests. Empty: build time."),
        Variable(LOCAL_PLATFORM, False,
                 "true: build only for this machine's platform (BAKE_LOCAL_PLATFORM), e.g. to --load."),
    )
    if any(t.cache_to for t in targets):
        variables += (Variable(CACHE_EXPORT, False,
                               "true: also export the build cache (push and CI builds; needs push access)."),)
    if any(SBOM_ATTESTATION in t.push_attest for t in targets):
        variables += (Variable(SBOM, False,
                               "true: pushed targets also carry an SBOM attestation (push and CI builds). BuildKit "
                               "makes it with docker/buildkit-syft-scanner, pulled from Docker Hub."),)
    return Plan(
        source=source,
        variables=variables,
        targets=tuple(targets),
        groups=_groups(resolved, targets),
        dockerfiles=tuple(dockerfiles),
        warnings=tuple(warnings),
        allow_reads=p.allow_outside,
        templates=p.templates,
        base_targets=(METADATA_ACTION,) if p.metadata_action else (),
        ci_github=p.ci_github,
        ci_gitlab=p.ci_gitlab,
        syntax=p.syntax,
        version=version,
    )


def _targets(resolved: Resolved, service: ResolvedService, generated: GeneratedDockerfile | None) -> list[Target]:
    p = resolved.project
    derived = service.root != service.name
    if derived:
        assert generated is not None
        context = posixpath.dirname(generated.path)
    else:
        context = service.context
    dockerfile_path = generated.path if generated else service.dockerfile
    assert dockerfile_path is not None
    dockerfile = posixpath.relpath(dockerfile_path, context or ".")

    # The commit's time reaches pushed images through their exporter (see
    # SOURCE_DATE_EPOCH); an empty build arg keeps buildx from passing it to the
    # build from the environment too.
    args: dict[str, str] = {SOURCE_DATE_EPOCH: ""} if generated else {}
    if not derived:
        common, per_platform = split_per_platform(service.args)
        args.update(common)
        for slug, values in per_platform.items():
            args.update({bake_arg_name(name, slug): value for name, value in values.items()})
    labels: dict[str, Interpolated] = {
        "org.opencontainers.image.title": (service.name,),
        "org.opencontainers.image.version": (Var("TAG"),),
        "org.opencontainers.image.revision": (Var("REVISION"),),
        "org.opencontainers.image.created": (Var("CREATED"),),
    }
    if p.source:
        labels["org.opencontainers.image.source"] = (p.source,)
    labels.update({k: (v,) for k, v in p.labels.items()})
    labels.update({k: (v,) for k, v in service.labels.items()})
    secrets = tuple(f"id={s.id},env={s.env}" if s.env else f"id={s.id},src={s.file}" for s in service.secrets)

    runtime = runtimes.get(service.runtime)
    extra_contexts = runtime.extra_contexts(service) if not derived else {}
    images = runtime.images(service) if not derived else ()
    out = []
    for stage in service.stages:
        stage_spec = p.stages[stage]
        if derived:
            root_target = bake_name(service.root, stage)
            contexts = {base_context(service.targets[stage]): f"target:{root_target}"}
        else:
            contexts = {k: _local(v) for k, v in {**service.contexts, **extra_contexts}.items()}
        schemes = service.tags or stage_spec.tags or p.tags
        cache_from, cache_to = _cache(p.cache, service.name, stage)
        out.append(Target(
            name=bake_name(service.name, stage),
            service=service.name,
            stage=stage,
            description=f"{service.name} at stage {stage}",
            context=context or ".",
            dockerfile=dockerfile,
            target=service.targets[stage],
            platforms=service.platforms,
            tags=tuple(_tag(s, service.name, stage) for s in schemes),
            args=dict(args),
            contexts=contexts,
            labels=labels,
            attest=NO_ATTESTATIONS if service.single_manifest else (),
            single_manifest=service.single_manifest,
            push_attest=ATTESTATIONS if stage_spec.push and p.attestations and not service.single_manifest
            else (),
            output=tuple(stage_spec.output or ()),
            secret=secrets,
            inherits=(METADATA_ACTION,) if p.metadata_action and stage_spec.push else (),
            cache_from=cache_from,
            cache_to=cache_to,
            push=stage_spec.push,
            deploy=service.deploy,
            epoch_output=EPOCH_OUTPUT if stage_spec.push and not stage_spec.output else (),
            inputs=Inputs(
                files=service.input_files,
                template=generated.template if generated else None,
                images=images,
                matrix=_matrix_entries(resolved, service, stage),
                upstream=(bake_name(service.root, stage),) if derived else (),
            ),
        ))
    return out


def _matrix_entries(resolved: Resolved, service: ResolvedService, stage: str) -> tuple[tuple[str, ...], ...]:
    """Where in the matrix a target's values come from."""
    p = resolved.project
    out = [("project",), ("services", service.name), ("stages", stage)]
    if service.deploy:
        out.append(("deploy_targets", service.deploy))
    if p.ci_github is not None and p.stages[stage].push:
        out.append(("ci", "github"))
    return tuple(out)


def _cache(cache: Cache | None, service: str, stage: str) -> tuple[tuple[Interpolated, ...], ...]:
    """bake cache-from and cache-to entries for one target."""
    if cache is None:
        return (), ()
    if cache.backend == "gha":
        scope = f"type=gha,scope={bake_name(service, stage)}"
        return ((scope,),), ((f"{scope},mode={cache.mode}",),)
    ref = ("type=registry,ref=", *_tag(cache.ref, service, stage))
    return (_merge(ref),), (_merge((*ref, f",mode={cache.mode}")),)


def _check_unique_tags(resolved: Resolved, targets: list[Target]) -> None:
    """Two targets writing the same image name would overwrite each other."""
    p = resolved.project
    first: dict[str, str] = {}
    errors = []
    for t in targets:
        for tag in t.tags:
            shown = display(tag)
            if shown in first and first[shown] != t.name:
                path = (("services", t.service, "tags") if resolved.service(t.service).tags
                        else ("stages", t.stage, "tags") if p.stages[t.stage].tags
                        else ("project", "tags"))
                errors.append(Diagnostic(
                    f"targets '{first[shown]}' and '{t.name}' both tag {shown}",
                    path=path, hint="include {service} and {stage} in the tag scheme so every image has its own name"))
            first.setdefault(shown, t.name)
    if errors:
        raise BakegenError(errors)


def _secret_warnings(service: ResolvedService) -> list[str]:
    assert service.ignore is not None
    found = dockerignore.secret_names(service.context_files, service.ignore)
    return [f"service '{service.name}': {posixpath.join(service.context, f)} looks like a secret and is sent to "
            f"the build, where copying the source puts it into the image; add it to `dockerignore` "
            f"(or `!{f}` there to keep it and silence this)" for f in found]


def _local(path: str) -> str:
    # bake tells a local folder from an image name by its look: make it a path.
    return path if path.startswith(("./", "../")) else f"./{path}"


_PLACEHOLDER = re.compile(r"\{(registry|tag|service|stage)\}")


def _tag(scheme: str, service: str, stage: str) -> Interpolated:
    """Turn a tag scheme like '{registry}/{service}:{tag}' into an interpolated string."""
    parts: list[str | Var] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(scheme):
        if match.start() > pos:
            parts.append(scheme[pos:match.start()])
        key = match.group(1)
        if key in ("registry", "tag"):
            parts.append(Var(key.upper()))
        else:
            parts.append((service if key == "service" else stage).lower())
        pos = match.end()
    if pos < len(scheme):
        parts.append(scheme[pos:])
    return _merge(tuple(parts))


def _merge(parts: Interpolated) -> Interpolated:
    """Join adjacent literal parts, so equal strings compare equal."""
    merged: list[str | Var] = []
    for part in parts:
        if merged and isinstance(part, str) and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return tuple(merged)


def _groups(resolved: Resolved, targets: list[Target]) -> tuple[Group, ...]:
    p = resolved.project
    # One pass over the targets, not one per group: groups x targets is
    # quadratic in the number of services.
    by_stage: dict[str, list[str]] = {}
    by_deploy: dict[str | None, list[str]] = {}
    by_service: dict[str, list[str]] = {}
    for t in targets:
        by_stage.setdefault(t.stage, []).append(t.name)
        by_deploy.setdefault(t.deploy, []).append(t.name)
        by_service.setdefault(t.service, []).append(t.name)
    groups = [
        Group("default", "Every target.", tuple(t.name for t in targets)),
        Group("push", "Targets of the stages that are pushed.", tuple(t.name for t in targets if t.push)),
    ]
    for stage in p.stages:
        groups.append(Group(bake_name(stage), f"Every service at stage {stage}.", tuple(by_stage.get(stage, ()))))
    for deploy in p.deploy_targets:
        groups.append(Group(bake_name(deploy), f"Every target deployed to {deploy}.",
                            tuple(by_deploy.get(deploy, ()))))
    for service in resolved.services:
        groups.append(Group(bake_name(service.name), f"Every stage of {service.name}.",
                            tuple(by_service.get(service.name, ()))))
    # What `bakegen affected` prints when nothing is affected: bake given no
    # target would build the default group, `docker buildx bake none` builds nothing.
    groups.append(Group(NOTHING, "No target: what `bakegen affected` names when nothing changed.", ()))
    return tuple(groups)

