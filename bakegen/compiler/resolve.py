"""Check what the schema alone cannot, and resolve every default once.

Input: a validated Matrix and the project folder. Output: one
ResolvedService per service, in declaration order, with references
followed (deploy target, base images, image_of), defaults applied
(platforms, stages) and per-platform values spelled out. Every problem
becomes a Diagnostic with the path of the offending key, all collected.
"""

from __future__ import annotations

import os
from pathlib import Path as FsPath

from . import per_stage
from .. import runtimes
from ..model import schema
from ..errors import BakegenError, Diagnostic, Path, did_you_mean
from ..model.resolved import Resolved, ResolvedService, bake_name, local_platforms

__all__ = ["RESERVED_GROUPS", "Resolved", "ResolvedService", "bake_name", "resolve"]

RESERVED_GROUPS = ("default", "push")


def resolve(matrix: schema.Matrix, project_dir: FsPath) -> Resolved:
    """Resolve `matrix`; raise BakegenError listing every problem found."""
    r = _Resolver(matrix, project_dir)
    r.check_images()
    services = tuple(r.service(name, spec) for name, spec in matrix.services.items())
    r.check_names(services)
    output = r.path(("project", "output"), matrix.project.output, must_be="output")
    templates = None
    if matrix.project.templates is not None:
        templates = r.path(("project", "templates"), matrix.project.templates, must_be="dir")
    if r.errors:
        raise BakegenError(r.errors)
    return Resolved(matrix, services, "" if output == "." else output, templates)


class _Resolver:
    def __init__(self, matrix: schema.Matrix, project_dir: FsPath) -> None:
        self.m = matrix
        self.dir = project_dir
        self.real_dir = project_dir.resolve()
        self.allowed = [(entry, (project_dir / entry).resolve()) for entry in matrix.project.allow_outside]
        self.errors: list[Diagnostic] = []

    def error(self, path: Path, message: str, hint: str = "") -> None:
        self.errors.append(Diagnostic(message, path=path, hint=hint))

    def check_images(self) -> None:
        if not self.m.project.require_digests:
            return
        for name, ref in self.m.images.items():
            if "@sha256:" not in ref:
                self.error(("images", name), f"image '{ref}' is not pinned by digest (project.require_digests)",
                           f"write it as {ref.split('@')[0]}@sha256:<digest>; "
                           "`docker buildx imagetools inspect` shows the digest")

    # -- one service -------------------------------------------------------

    def service(self, name: str, spec: schema.Service) -> ResolvedService:
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
        targets.update({k: v for k, v in spec.targets.items() if k in targets})
        for key in spec.targets:
            if key not in self.m.stages:
                self.error(at + ("targets", key), f"unknown stage '{key}'", did_you_mean(key, self.m.stages))

        stage_values, problems = per_stage.resolve(self.m, name, spec, stages, targets, runtime)
        self.errors.extend(problems)
        resolved = ResolvedService(
            name=name,
            spec=spec,
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
        )
        # The runtime's own checks read files the checks above vouched for.
        if not derived and len(self.errors) == errors_before:
            self.errors.extend(runtimes.get(runtime).check(resolved, self.m, self.dir))
        return resolved

    def root_of(self, name: str, spec: schema.Service) -> tuple[str, schema.Service]:
        """Follow image_of to the service whose image is built."""
        seen = [name]
        current, current_spec = name, spec
        while current_spec.image_of is not None:
            target = current_spec.image_of
            if target not in self.m.services:
                if current == name:
                    self.error(("services", name, "image_of"), f"unknown service '{target}'",
                               did_you_mean(target, self.m.services))
                return current, current_spec
            if target in seen:
                if target == name:
                    cycle = " -> ".join([*seen, target])
                    self.error(("services", name, "image_of"), f"image_of forms a cycle: {cycle}",
                               "one service in the cycle must set `runtime` and build the image")
                return current, current_spec
            seen.append(target)
            current, current_spec = target, self.m.services[target]
        return current, current_spec

    def check_own(self, name: str, spec: schema.Service) -> None:
        at: Path = ("services", name)
        if spec.runtime is None:
            self.error(at, f"service '{name}' needs `runtime` (python, go or dockerfile) or `image_of`")
            return
        if spec.context is None:
            self.error(at, f"service '{name}' needs `context`: the folder its image is built from")
        if spec.runtime == "dockerfile":
            if spec.dockerfile is None:
                self.error(at, f"service '{name}' has runtime dockerfile but no `dockerfile`",
                           "set `dockerfile` to your Dockerfile's path, relative to matrix.yaml")
            if spec.base is not None:
                self.error(at + ("base",), "`base` has no effect with runtime dockerfile; your Dockerfile names its images")
            # These shape a generated Dockerfile; a user's Dockerfile says them itself.
            for key in ("entrypoint", "writable", "per_stage", "production_exclude", "command", "env"):
                if getattr(spec, key):
                    self.error(at + (key,), f"`{key}` has no effect with runtime dockerfile; your Dockerfile sets it")
            if spec.user != schema.User():
                self.error(at + ("user",), "`user` has no effect with runtime dockerfile; end your Dockerfile's "
                                           "stages with USER")
        else:
            for key in ("dockerfile", "targets"):
                if getattr(spec, key):
                    self.error(at + (key,), f"`{key}` is only for runtime dockerfile")
        for key in ("python", "go"):
            if getattr(spec, key) is not None and spec.runtime != key:
                self.error(at + (key,), f"`{key}` options need `runtime: {key}`")
        if spec.system_packages is not None and spec.runtime != "python":
            self.error(at + ("system_packages",), "`system_packages` needs `runtime: python`",
                       "go images are static binaries; a runtime: dockerfile service installs its own")

    def check_derived(self, name: str, spec: schema.Service) -> None:
        at: Path = ("services", name)
        if spec.runtime is not None:
            self.error(at + ("runtime",), "a service with `image_of` uses that service's image; remove `runtime`")
        for key in ("context", "dockerfile", "base", "python", "go"):
            if getattr(spec, key):
                self.error(at + (key,), f"`{key}` has no effect with `image_of`; set it on '{spec.image_of}'")
        for key in ("args", "contexts", "targets", "secrets", "system_packages", "production_exclude"):
            if getattr(spec, key):
                self.error(at + (key,), f"`{key}` has no effect with `image_of`; the image is built by '{spec.image_of}'")

    def check_secret(self, name: str, secret_id: str, secret: schema.Secret, contexts: list[str]) -> None:
        at: Path = ("services", name, "secrets", secret_id)
        if (secret.env is None) == (secret.file is None):
            self.error(at, f"secret '{secret_id}' needs exactly one of `env` or `file`")
        elif secret.target is not None and secret.file is None:
            self.error(at + ("target",), "`target` is where a secret file is mounted; it needs `file`")
        elif secret.file is not None:
            # A build context is sent to the builder whole, and `COPY . .` puts
            # it in the image: a secret file inside one would ship with it.
            real = (self.dir / secret.file).resolve()
            for context in contexts:
                folder = (self.dir / context).resolve()
                if real == folder or folder in real.parents:
                    self.error(at + ("file",), f"'{secret.file}' is inside the build context '{context}', "
                               "so the image would contain it (COPY . . copies the whole context)",
                               "keep secret files outside every build context, e.g. in secrets/ at the project root")
                    break

    def check_healthcheck(self, name: str, spec: schema.Service, runtime: str) -> None:
        at: Path = ("services", name, "healthcheck")
        hc = spec.healthcheck
        assert hc is not None
        if (hc.http is None) == (hc.command is None):
            self.error(at, "a health check needs exactly one of `http` or `command`")
        elif hc.http is not None and spec.port is None and not self.inherited_port(spec):
            self.error(at + ("http",), "an http health check needs the service's `port`")
        elif hc.http is not None and runtimes.get(runtime).http_probe("http://127.0.0.1/") is None:
            self.error(at + ("http",), f"{runtime} images have no tool to probe http with",
                       "give `healthcheck.command` instead, e.g. your binary's own health-check mode")

    def inherited_port(self, spec: schema.Service) -> bool:
        seen: set[str] = set()
        while spec.image_of and spec.image_of in self.m.services and spec.image_of not in seen:
            seen.add(spec.image_of)
            spec = self.m.services[spec.image_of]
            if spec.port is not None:
                return True
        return False

    # -- references and defaults ---------------------------------------------

    def deploy(self, name: str, deploy_name: str | None) -> schema.DeployTarget | None:
        if deploy_name is None:
            return None
        deploy = self.m.deploy_targets.get(deploy_name)
        if deploy is None and self.m.services[name].deploy is not None:
            self.error(("services", name, "deploy"), f"unknown deploy target '{deploy_name}'",
                       did_you_mean(deploy_name, self.m.deploy_targets))
        return deploy

    def platforms(self, name: str, spec: schema.Service, deploy_name: str | None,
                  deploy: schema.DeployTarget | None, root: str) -> tuple[str, ...]:
        at: Path = ("services", name)
        if spec.platforms is not None:
            platforms = tuple(spec.platforms)
            for i, platform in enumerate(platforms):
                if platform in platforms[:i]:
                    self.error(at + ("platforms", i), f"platform '{platform}' is listed twice")
            if deploy is not None:
                for i, platform in enumerate(platforms):
                    if platform not in deploy.platforms:
                        self.error(
                            at + ("platforms", i),
                            f"deploy target '{deploy_name}' runs {', '.join(deploy.platforms)}; "
                            f"'{platform}' would fail there with 'exec format error'",
                            f"remove '{platform}' or choose another deploy target",
                        )
        elif deploy is not None:
            platforms = tuple(deploy.platforms)
        elif root != name:
            platforms = self.platforms_of(root)
        else:
            platforms = tuple(self.m.project.platforms)
        if root != name:
            built = self.platforms_of(root)
            for i, platform in enumerate(platforms):
                if platform not in built:
                    self.error(at + (("platforms", i) if spec.platforms is not None else ("deploy",)),
                               f"'{root}' is not built for {platform}, so '{name}' cannot reuse its image there",
                               f"add {platform} to '{root}' or leave it out here")
        if deploy is not None and deploy.single_manifest and len(platforms) != 1:
            self.error(at + (("platforms",) if spec.platforms is not None else ("deploy",)),
                       f"deploy target '{deploy_name}' takes a single-platform image; "
                       f"choose one of {', '.join(platforms)}")
        return platforms

    def platforms_of(self, name: str) -> tuple[str, ...]:
        """The platforms a service that builds its own image builds, errors aside."""
        spec = self.m.services[name]
        if spec.platforms is not None:
            return tuple(spec.platforms)
        deploy = self.m.deploy_targets.get(spec.deploy or "")
        return tuple(deploy.platforms) if deploy else tuple(self.m.project.platforms)

    def stages(self, name: str, spec: schema.Service, root: str) -> tuple[str, ...]:
        at: Path = ("services", name, "stages")
        if spec.stages is None:
            if root != name and self.m.services[root].stages is not None:
                return tuple(s for s in self.m.services[root].stages or () if s in self.m.stages)
            return tuple(self.m.stages)
        out: list[str] = []
        for i, stage in enumerate(spec.stages):
            if stage not in self.m.stages:
                self.error(at + (i,), f"unknown stage '{stage}'", did_you_mean(stage, self.m.stages))
            elif stage in out:
                self.error(at + (i,), f"stage '{stage}' is listed twice")
            else:
                out.append(stage)
        if root != name:
            root_stages = self.m.services[root].stages
            for i, stage in enumerate(spec.stages):
                if root_stages is not None and stage in self.m.stages and stage not in root_stages:
                    self.error(at + (i,), f"'{root}' does not build stage '{stage}', so its image has none to reuse")
        # Keep the stage axis' order, whatever order the service lists them in.
        return tuple(s for s in self.m.stages if s in out)

    def base_images(self, name: str, spec: schema.Service, runtime: str) -> tuple[str | None, str | None]:
        at: Path = ("services", name)
        base = spec.base or runtimes.get(runtime).default_base()
        refs: list[str | None] = []
        for role, key in (("build", base.build), ("run", base.run)):
            image = self.m.images.get(key)
            if image is None and not (role == "run" and key == base.build):  # one message per name
                # `base: python` short form has no build/run keys; locating
                # falls back to the `base` value itself.
                path = at + ("base", role) if spec.base else at + ("runtime",)
                self.error(path, f"unknown image '{key}'",
                           did_you_mean(key, self.m.images) or f"add it under `images`, e.g. {key}: <image reference>")
            refs.append(image)
        return refs[0], refs[1]

    def per_platform(self, at: Path, values: dict[str, str | dict[str, str]],
                     platforms: tuple[str, ...], local: tuple[str, ...]) -> dict[str, dict[str, str]]:
        """name -> platform -> value, for `platforms` and the `local` build platforms.

        A local build for a platform the service is not built for takes the
        `default` value, else the value of the service's first platform.
        """
        out: dict[str, dict[str, str]] = {}
        for key, value in values.items():
            if isinstance(value, str):
                out[key] = {p: value for p in platforms + local}
                continue
            for platform in value:
                if platform != "default" and platform not in platforms:
                    self.error(at + (key, platform), f"'{platform}' is not one of this service's platforms ({', '.join(platforms)})")
            missing = [p for p in platforms if p not in value and "default" not in value]
            if missing:
                self.error(at + (key,), f"no value of '{key}' for {', '.join(missing)}",
                           "add those platforms, or a `default` value")
            out[key] = {p: value.get(p, value.get("default", "")) for p in platforms}
            fallback = value.get("default", out[key][platforms[0]] if platforms else "")
            out[key].update({p: fallback for p in local})
        return out

    def path(self, at: Path, value: str, must_be: str) -> str:
        """Normalise a project-relative path and check it exists inside the project.

        `must_be`: "dir" or "file" (it must exist), or "output": bakegen
        writes there, so it must stay inside the project whatever
        `allow_outside` says, and may not exist yet.
        """
        full = self.dir / value
        real = full.resolve()
        inside = real == self.real_dir or self.real_dir in real.parents
        allowed = must_be != "output" and any(real == a or a in real.parents for _, a in self.allowed)
        if not inside and not allowed:
            rel = os.path.relpath(os.path.normpath(full), os.path.normpath(self.dir))
            problem = (f"'{value}' leads outside the project folder through a symbolic link (to {real})"
                       if rel != os.pardir and not rel.startswith(os.pardir + os.sep) else
                       f"'{value}' is outside the project folder")
            self.error(at, problem,
                       "generated files stay inside the project folder; choose a folder in it, e.g. generated"
                       if must_be == "output" else
                       "docker buildx bake reads outside its working directory only with --allow "
                       "fs.read=PATH; move it into the project, or list its folder in project.allow_outside")
            return value
        if must_be == "dir" and not real.is_dir():
            what = "a file, not a folder" if real.exists() else "not found"
            self.error(at, f"folder '{value}' is {what}")
        elif must_be == "file" and not real.is_file():
            what = "a folder, not a file" if real.exists() else "not found"
            self.error(at, f"file '{value}' is {what}")
        rel = os.path.relpath(os.path.normpath(full), os.path.normpath(self.dir))
        return rel.replace(os.sep, "/")

    # -- names -----------------------------------------------------------------

    def check_names(self, services: tuple[ResolvedService, ...]) -> None:
        """Every bake target and group name must be unique after sanitising, whatever its case.

        Names that differ only in case clash too: image names are lowercase
        ({service} and {stage} in tags), and so are generated folder names
        on file systems that ignore case (macOS, Windows).
        """
        owners: dict[str, tuple[str, str]] = {}  # lowercased bake name -> (bake name, what)

        def claim(name: str, at: Path, what: str) -> None:
            first = owners.get(name.lower())
            if first is None:
                owners[name.lower()] = (name, what)
            elif first[0] == name:
                self.error(at, f"{what} becomes bake name '{name}', which {first[1]} already uses",
                           "rename one of them ('.' becomes '_' in bake names)")
            else:
                self.error(at, f"{what} differs from {first[1]} only in case",
                           f"image names are lowercase and some file systems ignore case, so both would be "
                           f"'{name.lower()}'; rename one of them")

        for group in RESERVED_GROUPS:
            owners[group] = (group, f"bakegen's group '{group}'")
        for stage in self.m.stages:
            claim(bake_name(stage), ("stages", stage), f"stage '{stage}'")
        for deploy in self.m.deploy_targets:
            claim(bake_name(deploy), ("deploy_targets", deploy), f"deploy target '{deploy}'")
        clashing = set()
        for service in services:
            before = len(self.errors)
            claim(bake_name(service.name), ("services", service.name), f"service '{service.name}'")
            if len(self.errors) > before:
                clashing.add(service.name)
        for service in services:
            if service.name in clashing:
                continue  # its targets clash too; one message says it
            for stage in service.stages:
                claim(bake_name(service.name, stage), ("services", service.name),
                      f"target of service '{service.name}' at stage '{stage}'")
