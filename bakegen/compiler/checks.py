"""Checks of one service's settings that the schema alone cannot make: which keys apply to
its runtime, secrets, health checks, and images pinned by digest."""

from __future__ import annotations

from functools import cache

from .. import runtimes
from ..errors import Path
from ..model import schema
from ..model.fields import AppliesTo
from .scope import Scope


class Checks(Scope):
    def check_images(self) -> None:
        if not self.m.project.require_digests:
            return
        for name, ref in self.m.images.items():
            if "@sha256:" not in ref:
                self.error(("images", name), f"image '{ref}' is not pinned by digest (project.require_digests)",
                           f"write it as {ref.split('@')[0]}@sha256:<digest>; "
                           "`docker buildx imagetools inspect` shows the digest")

    def check_own(self, name: str, spec: schema.Service) -> None:
        at: Path = ("services", name)
        if spec.runtime is None:
            self.error(at, f"service '{name}' needs `runtime` (python, go or dockerfile) or `image_of`")
            return
        if spec.context is None:
            self.error(at, f"service '{name}' needs `context`: the folder its image is built from")
        if spec.runtime == "dockerfile" and spec.dockerfile is None:
            self.error(at, f"service '{name}' has runtime dockerfile but no `dockerfile`",
                       "set `dockerfile` to your Dockerfile's path, relative to matrix.yaml")
        for key, rule in _rules():
            if spec.runtime not in rule.runtimes and _is_set(spec, key):
                self.error(at + (key,), rule.elsewhere.format(key=key), rule.hint)

    def check_derived(self, name: str, spec: schema.Service) -> None:
        at: Path = ("services", name)
        if spec.runtime is not None:
            self.error(at + ("runtime",), "a service with `image_of` uses that service's image; remove `runtime`")
        for key, rule in _rules():
            if not rule.image_of and _is_set(spec, key):
                self.error(at + (key,), f"`{key}` has no effect with `image_of`; "
                           + rule.derived.format(root=spec.image_of))

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


@cache
def _rules() -> tuple[tuple[str, AppliesTo], ...]:
    """The Service fields that say where they apply (fields.AppliesTo), in the schema's order."""
    return tuple((key, rule) for key, info in schema.Service.model_fields.items()
                 for rule in info.metadata if isinstance(rule, AppliesTo))


def _is_set(spec: schema.Service, key: str) -> bool:
    """Whether `key` holds something other than its default (an empty list or mapping is nothing)."""
    value = getattr(spec, key)
    if isinstance(value, (list, dict, str)):
        return bool(value)
    return value != schema.Service.model_fields[key].get_default(call_default_factory=True)
