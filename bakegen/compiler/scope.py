"""The state every part of resolving shares: the matrix, the project folder, the errors so far."""

from __future__ import annotations

from pathlib import Path as FsPath

from ..errors import Diagnostic, Path
from ..model import schema


class Scope:
    """One resolve's matrix and project folder; problems are collected, never raised one by one."""

    def __init__(self, matrix: schema.Matrix, project_dir: FsPath) -> None:
        self.m = matrix
        self.dir = project_dir
        self.real_dir = project_dir.resolve()
        self.allowed = [(entry, (project_dir / entry).resolve()) for entry in matrix.project.allow_outside]
        self.errors: list[Diagnostic] = []
        # What Paths.path found for each (path, kind), looked up once.
        self.checked_paths: dict[tuple[str, str], tuple[str, tuple[tuple[str, str], ...]]] = {}

    def error(self, path: Path, message: str, hint: str = "") -> None:
        self.errors.append(Diagnostic(message, path=path, hint=hint))
