"""Find a docker buildx to run `bake --print` with (it needs no daemon).

BAKEGEN_BUILDX names a docker-buildx plugin binary; with BAKEGEN_E2E=1 (CI) the
end-to-end setup's buildx is used; otherwise `docker buildx` on PATH. A plugin binary runs on
its own: `docker-buildx bake --print` is what `docker buildx bake --print` runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any


def buildx_command() -> list[str] | None:
    """The command that runs buildx, or None when there is none."""
    plugin = os.environ.get("BAKEGEN_BUILDX")
    if plugin and os.access(plugin, os.X_OK):
        return [plugin]
    if os.environ.get("BAKEGEN_E2E", "").lower() in ("1", "true", "yes"):
        # The end-to-end setup installs buildx (CI sets BAKEGEN_E2E): use it.
        from e2e.engine import Engine

        engine = Engine()
        if not engine.installed():
            engine.install()
        return [str(engine.config / "cli-plugins" / "docker-buildx")]
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "buildx", "version"], capture_output=True).returncode == 0:
        return [docker, "buildx"]
    return None


def bake_print(command: list[str], folder: Path, files: list[str], targets: list[str],
               env: dict[str, str] | None = None) -> dict[str, Any]:
    """`bake --print` of `targets` from `files`, run in `folder` with only `env` set (no user variables)."""
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "DOCKER_CONFIG", "TMPDIR")}
    args = [*command, "bake", *(a for f in files for a in ("-f", f)), "--print", *targets]
    result = subprocess.run(args, cwd=folder, capture_output=True, text=True, env={**clean, **(env or {})})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["target"]
