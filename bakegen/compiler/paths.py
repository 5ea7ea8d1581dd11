"""Paths in the matrix, normalised and checked to stay inside the project."""

from __future__ import annotations

import os

from .scope import Scope
from ..errors import Path


_special = "not a regular file (a pipe, socket or device)"


class Paths(Scope):
    def path(self, at: Path, value: str, must_be: str) -> str:
        """Normalise a project-relative path and check it exists inside the project.

        `must_be`: "dir" or "file" (it must exist), or "output": bakegen
        writes there, so it must stay inside the project whatever
        `allow_outside` says, and may not exist yet. Each path is looked up
        on disk once a resolve (services often share a context); its
        problems are reported at every `at` that names it.
        """
        key = (value, must_be)
        if key not in self.checked_paths:
            self.checked_paths[key] = self._check(value, must_be)
        normalised, problems = self.checked_paths[key]
        for message, hint in problems:
            self.error(at, message, hint)
        return normalised

    def _check(self, value: str, must_be: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        """`value` normalised (as given, when it cannot be used), and its problems: (message, hint) pairs."""
        full = self.dir / value
        try:
            real = full.resolve()
        except (OSError, RuntimeError):  # Python 3.11 raises RuntimeError for a loop
            return value, ((f"'{value}' leads through a symbolic link that leads to itself (a loop)",
                            "remove the link, or point it elsewhere"),)
        inside = real == self.real_dir or self.real_dir in real.parents
        allowed = must_be != "output" and any(real == a or a in real.parents for _, a in self.allowed)
        if not inside and not allowed:
            rel = os.path.relpath(os.path.normpath(full), os.path.normpath(self.dir))
            problem = (f"'{value}' leads outside the project folder through a symbolic link (to {real})"
                       if rel != os.pardir and not rel.startswith(os.pardir + os.sep) else
                       f"'{value}' is outside the project folder")
            return value, ((problem,
                            "generated files stay inside the project folder; choose a folder in it, e.g. generated"
                            if must_be == "output" else
                            "docker buildx bake reads outside its working directory only with --allow "
                            "fs.read=PATH; move it into the project, or list its folder in project.allow_outside"),)
        problems: tuple[tuple[str, str], ...] = ()
        if must_be == "dir" and not real.is_dir():
            what = "a file, not a folder" if real.is_file() else _special if real.exists() else "not found"
            problems = ((f"folder '{value}' is {what}", ""),)
        elif must_be == "file" and not real.is_file():
            what = "a folder, not a file" if real.is_dir() else _special if real.exists() else "not found"
            problems = ((f"file '{value}' is {what}", ""),)
        rel = os.path.relpath(os.path.normpath(full), os.path.normpath(self.dir))
        return rel.replace(os.sep, "/"), problems
