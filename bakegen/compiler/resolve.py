"""Check what the schema alone cannot, and resolve every default once.

Input: a validated Matrix and the project folder. Output: one
ResolvedService per service, in declaration order, with references
followed (deploy target, base images, image_of), defaults applied
(platforms, stages) and per-platform values spelled out. Every problem
becomes a Diagnostic with the path of the offending key, all collected.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path as FsPath

from .. import runtimes
from ..errors import BakegenError, Path, did_you_mean
from ..model import schema
from ..files.project import ProjectFiles
from ..model.resolved import Resolved, ResolvedService, bake_name, local_platforms
from . import inputs, per_stage, project
from .axes import Axes
from .checks import Checks
from .names import RESERVED_GROUPS, Names
from .paths import Paths
from .references import References

__all__ = ["RESERVED_GROUPS", "Resolved", "ResolvedService", "bake_name", "resolve"]


def resolve(matrix: schema.Matrix, project_dir: FsPath, source: str = "matrix.yaml") -> Resolved:
    """Resolve `matrix`; raise BakegenError listing every problem found.

    `source`: the matrix file's name, relative to `project_dir` (a build
    context that holds it leaves it out). Reads the project's files, each
    once; nothing after this stage reads a file or the matrix's shape.
    """
    r = _Resolver(matrix, project_dir)
    r.check_images()
    output = r.path(("project", "output"), matrix.project.output, must_be="output")
    output = "" if output == "." else output
    templates = None
    if matrix.project.templates is not None:
        templates = r.path(("project", "templates"), matrix.project.templates, must_be="dir")
    files = ProjectFiles(project_dir)
    services = tuple(r.service(name, spec, files, source) for name, spec in matrix.services.items())
    r.check_names(services)
    if r.errors:
        raise BakegenError(r.errors)
    return Resolved(project.resolve(matrix, output, templates), services)


class _Resolver(Checks, References, Axes, Paths, Names):
    """Resolves one service at a time; each concern's checks live in the module of its base class."""

    def service(self, name: str, spec: schema.Service, files: ProjectFiles, source: str) -> ResolvedService:
        at: Path = ("services", name)
        errors_before = len(self.errors)
        root_name, root = self.root_of(name, spec)
        runtime = root.runtime or "dockerfile"
        derived = root_name != name or root.image_of is not None
        if derived:
            self.check_derived(name, spec)
        else:
            self.check_own(name, spec)

        # A service running another's image deploys where that one does,
        # unless it says otherwise.
        deploy_name = spec.deploy if spec.deploy is not None or not derived else root.deploy
        deploy = self.deploy(name, deploy_name)
        platforms = self.platforms(name, spec, deploy_name, deploy, root_name)
        stages = self.stages(name, spec, root_name)
        context = self.path(at + ("context",), spec.context, must_be="dir") if spec.context else ""
        contexts = {
            key: self.path(at + ("contexts", key), value, must_be="dir")
            for key, value in spec.contexts.items()
        }
        dockerfile = self.path(at + ("dockerfile",), spec.dockerfile, must_be="file") if spec.dockerfile else None
        base_build = base_run = None
        if not derived and runtime != "dockerfile":
            base_build, base_run = self.base_images(name, spec, runtime)
        if spec.healthcheck:
            self.check_healthcheck(name, spec, runtime)
        for secret_id, secret in spec.secrets.items():
            self.check_secret(name, secret_id, secret, [context, *contexts.values()] if spec.context else [])
        for key in spec.size_budget:
            if key != "default" and key not in platforms:
                self.error(at + ("size_budget", key),
                           f"'{key}' is not one of this service's platforms ({', '.join(platforms)})")

        local = local_platforms(platforms)
        targets = {stage: self.m.stages[stage].target or stage for stage in stages}
        # "" (a null in the matrix) is the Dockerfile's last stage: bake's target when none is named.
        targets.update({k: v or "" for k, v in spec.targets.items() if k in targets})
        for key in spec.targets:
            if key not in self.m.stages:
                self.error(at + ("targets", key), f"unknown stage '{key}'", did_you_mean(key, self.m.stages))

        stage_values, problems = per_stage.resolve(self.m, name, spec, stages, targets, runtime)
        self.errors.extend(problems)
        resolved = ResolvedService(
            name=name,
            runtime=runtime,
            root=root_name,
            context=context,
            platforms=platforms,
            stages=stages,
            deploy=deploy_name if deploy else None,
            single_manifest=bool(deploy and deploy.single_manifest),
            base_build=base_build,
            base_run=base_run,
            dockerfile=dockerfile,
            targets=targets,
            args=self.per_platform(at + ("args",), spec.args, platforms, local),
            env=self.per_platform(at + ("env",), spec.env, platforms, local),
            contexts=contexts,
            local_platforms=local,
            stage_values=stage_values,
            **project.settings(spec),
        )
        if derived or len(self.errors) != errors_before:
            return resolved
        # What the build is sent, then what the runtime reads from files the
        # checks above vouched for, once, and checks.
        ignore = inputs.ignore_patterns(resolved, runtimes.get(runtime), self.m.project.output, source)
        resolved = replace(resolved, ignore=ignore, context_files=inputs.context_files(resolved, ignore, files))
        facts, problems = runtimes.get(runtime).facts(resolved, spec, self.m, files)
        self.errors.extend(problems)
        if problems:
            return resolved
        resolved = replace(resolved, facts=facts)
        named = {**resolved.contexts, **runtimes.get(runtime).extra_contexts(resolved)}
        return replace(resolved, input_files=inputs.input_files(resolved, named, files))
