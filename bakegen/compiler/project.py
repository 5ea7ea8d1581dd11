"""The matrix's project-level settings and a service's own settings, as plain resolved values.

The one place where the pydantic shape of these settings turns into the
frozen types of model/resolved.py, so no later stage reads the shape.
"""

from __future__ import annotations

from typing import Any

from ..model import resolved, schema


def resolve(matrix: schema.Matrix, output: str, templates: str | None) -> resolved.Project:
    """The project's settings; `output` and `templates` as the resolver checked them."""
    p = matrix.project
    gh = matrix.ci.github if matrix.ci else None
    gl = matrix.ci.gitlab if matrix.ci else None
    return resolved.Project(
        name=p.name,
        registry=p.registry,
        tag=p.tag,
        tags=tuple(p.tags),
        platforms=tuple(p.platforms),
        output=output,
        source=p.source,
        attestations=p.attestations,
        metadata_action=p.metadata_action,
        syntax=None if p.dockerfile_syntax == "builtin" else p.dockerfile_syntax,
        templates=templates,
        cache=resolved.Cache(p.cache.backend, p.cache.ref, p.cache.mode) if p.cache else None,
        allow_outside=tuple(p.allow_outside),
        labels=dict(p.labels),
        images=dict(matrix.images),
        stages={name: resolved.Stage(name, s.target or name, s.push, tuple(s.tags) if s.tags is not None else None,
                                     tuple(s.output) if s.output is not None else None)
                for name, s in matrix.stages.items()},
        deploy_targets={name: resolved.DeployTarget(name, tuple(d.platforms), d.single_manifest)
                        for name, d in matrix.deploy_targets.items()},
        ci_github=None if gh is None else github_ci(gh),
        ci_gitlab=None if gl is None else gitlab_ci(gl),
    )


def settings(spec: schema.Service) -> dict[str, Any]:
    """The ResolvedService fields that are the service's own settings, normalised."""
    hc = spec.healthcheck
    return {
        "user": resolved.User(spec.user.uid, spec.user.gid, spec.user.name),
        "command": tuple(spec.command or ()),
        "entrypoint": tuple(spec.entrypoint or ()),
        "port": spec.port,
        "healthcheck": None if hc is None else resolved.HealthCheck(
            tuple(hc.command) if hc.command else None, hc.http, hc.interval, hc.timeout, hc.start_period,
            hc.retries),
        "labels": dict(spec.labels),
        "secrets": tuple(resolved.Secret(sid, s.env, s.file, s.target) for sid, s in spec.secrets.items()),
        "tags": tuple(spec.tags) if spec.tags else None,
        "dockerignore": tuple(spec.dockerignore),
        "production_exclude": tuple(spec.production_exclude),
        "writable": tuple(spec.writable),
        "run_as_root": spec.run_as_root,
        "size_budget": dict(spec.size_budget),
    }


def github_ci(gh: schema.GithubCi | None = None) -> resolved.GithubCi:
    """The generated workflow's settings: `ci.github`'s, or the defaults (for `bakegen ci github`)."""
    gh = gh or schema.GithubCi()
    return resolved.GithubCi(workflow=gh.workflow, name=gh.name, branches=tuple(gh.branches),
                             runners=dict(gh.runners), cache=gh.cache, username_secret=gh.username_secret,
                             password_secret=gh.password_secret)


def gitlab_ci(gl: schema.GitlabCi | None = None) -> resolved.GitlabCi:
    """The generated pipeline's settings: `ci.gitlab`'s, or the defaults."""
    gl = gl or schema.GitlabCi()
    return resolved.GitlabCi(file=gl.file, branches=tuple(gl.branches),
                             runners={p: tuple(tags) for p, tags in gl.runners.items()}, docker=gl.docker,
                             docker_image=gl.docker_image, dind_image=gl.dind_image, python_image=gl.python_image,
                             stage=gl.stage, registry=gl.registry, username_variable=gl.username_variable,
                             password_variable=gl.password_variable)
