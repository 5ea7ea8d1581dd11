"""Names that must stay unique once they are bake names and lowercase image names."""

from __future__ import annotations

from ..errors import Path
from ..model.resolved import ResolvedService, bake_name
from .scope import Scope

# The empty group `none`: what `bakegen affected` names when nothing changed.
NOTHING = "none"
RESERVED_GROUPS = ("default", "push", NOTHING)


class Names(Scope):
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
