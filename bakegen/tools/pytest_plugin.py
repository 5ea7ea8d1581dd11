"""A pytest fixture for projects that use bakegen: snapshot your generated files.

Installed with bakegen (entry point `pytest11`), so a user's test suite can
write, with syrupy:

    def test_generated_files(bakegen_render, snapshot):
        assert bakegen_render("matrix.yaml") == snapshot

and every change a matrix or template edit makes to the output shows up
as a snapshot diff in review.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

Render = Callable[..., dict[str, str]]


@pytest.fixture
def bakegen_render() -> Render:
    """Render a matrix in memory; returns {path relative to its folder: text}.

    Call it as bakegen_render("path/to/matrix.yaml", templates=None). Nothing
    is written; invalid matrices raise bakegen.BakegenError. The manifest is
    left out: it holds only hashes of the other files, so a snapshot of it
    would repeat every change as a line of hex.
    """

    def render(matrix_file: str | os.PathLike[str] = "matrix.yaml", templates: str | None = None) -> dict[str, str]:
        from ..pipeline import render_project  # imported only by tests that use the fixture
        from ..render.write import MANIFEST

        files = render_project(matrix_file, templates).files
        return {path: text for path, text in files.items() if path != MANIFEST}

    return render
