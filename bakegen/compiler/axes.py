"""Each service's platforms and stages, defaults applied, and its per-platform values spelled out."""

from __future__ import annotations

from ..errors import Path, did_you_mean
from ..model import schema
from .scope import Scope


class Axes(Scope):
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
