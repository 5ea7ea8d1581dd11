"""References between the matrix's entries, followed: image_of, deploy targets, base images."""

from __future__ import annotations

from .. import runtimes
from ..errors import Path, did_you_mean
from ..model import schema
from .scope import Scope


class References(Scope):
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

    def deploy(self, name: str, deploy_name: str | None) -> schema.DeployTarget | None:
        if deploy_name is None:
            return None
        deploy = self.m.deploy_targets.get(deploy_name)
        if deploy is None and self.m.services[name].deploy is not None:
            self.error(("services", name, "deploy"), f"unknown deploy target '{deploy_name}'",
                       did_you_mean(deploy_name, self.m.deploy_targets))
        return deploy

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
