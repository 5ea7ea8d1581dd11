"""gitlab-ci-local: a GitLab runner emulator from npm, running a pipeline with its shell executor.

It is installed once per machine under the suite's home
(~/.cache/bakegen-e2e/gitlab-ci-local), from npm at a pinned version: 4.56.2
runs on Node 18 and 20, which Debian ships (4.75 and later need Node 22).
It needs git and rsync (`--shell-isolation` copies each job's checkout with
rsync); nodejs, npm and rsync come from Debian when they are missing.

What it does as GitLab does: it validates the file against GitLab's CI
schema, evaluates `rules` (with `variables`), `extends`, `needs` and
`dependencies`, runs each job's before_script and script in bash in a copy
of the commit's files (`--shell-isolation`), hands artifacts on, and runs a
`trigger: include: artifact` child pipeline. What it does not, and what
stands in (see docs/scaling.md): GitLab's predefined registry variables
(CI_REGISTRY_IMAGE, CI_REGISTRY, CI_REGISTRY_USER, CI_REGISTRY_PASSWORD) and
merge-request variables, given as variables here; runner tags (every job
runs on this machine); and the docker-in-docker service (jobs run with the
runner's own Docker: `ci.gitlab.docker: shell`).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from engine import EngineError, run

VERSION = "4.56.2"
# Debian packages, by the command each provides.
PACKAGES = {"node": "nodejs", "npm": "npm", "rsync": "rsync"}
# The summary line of each job: " PASS  name", a child pipeline's " PASS  [trigger] -> name".
_RESULT = re.compile(r"^ (PASS|FAIL|WARN) +(?:\[(?P<parent>[^\]]+)\] -> )?(?P<job>\S+) *$", re.MULTILINE)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def install(root: Path) -> Path:
    """The gitlab-ci-local executable under `root`, installed if it is not (minutes, once)."""
    missing = [package for command, package in PACKAGES.items() if shutil.which(command) is None]
    if missing:
        run("apt-get", "install", "-y", "--no-install-recommends", *missing,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, timeout=900)
    prefix = root / "gitlab-ci-local"
    binary = prefix / "node_modules" / ".bin" / "gitlab-ci-local"
    installed = prefix / "node_modules" / "gitlab-ci-local" / "package.json"
    if not installed.is_file() or json.loads(installed.read_text()).get("version") != VERSION:
        prefix.mkdir(parents=True, exist_ok=True)
        run("npm", "install", "--no-audit", "--no-fund", "--prefix", prefix, f"gitlab-ci-local@{VERSION}",
            timeout=1800)
    if not binary.exists():
        raise EngineError(f"npm installed gitlab-ci-local@{VERSION}, but {binary} is not there")
    return binary


@dataclass
class PipelineRun:
    returncode: int
    log: str  # what gitlab-ci-local printed, colours removed
    state: Path  # its state folder: artifacts/, output/ (one log per job)

    @property
    def results(self) -> dict[str, str]:
        """Job -> PASS, FAIL or WARN; a child pipeline's jobs as 'TRIGGER -> JOB'."""
        return {(f"{m['parent']} -> " if m["parent"] else "") + m["job"]: m.group(1)
                for m in _RESULT.finditer(self.log)}

    def artifact(self, job: str, path: str) -> Path:
        """A file of `job`'s artifacts (gitlab-ci-local names the folder after the job, made safe)."""
        found = self.state / "artifacts" / _safe(job) / path
        if not found.is_file():
            raise AssertionError(f"no artifact {path} of {job} in {self.state / 'artifacts'}")
        return found


def _safe(job: str) -> str:
    """gitlab-ci-local's folder name for a job (Utils.safeDockerString): each run of
    characters outside [A-Za-z0-9_-] base64url-encoded, unpadded (":" -> "Og")."""
    return re.sub(r"[^\w-]+", lambda m: base64.urlsafe_b64encode(m.group(0).encode()).decode().rstrip("="), job)


def jobs_to_run(binary: Path, checkout: Path, state: str, home: Path, variables: dict[str, str] = {}
                ) -> dict[str, str]:
    """Job -> its `when` after the rules (`never`: not in the pipeline), for the checkout's commit."""
    args = [str(binary), "--list-json", "--state-dir", state, "--home", str(home)]
    for name, value in variables.items():
        args += ["--variable", f"{name}={value}"]
    result = subprocess.run(args, cwd=checkout, text=True, capture_output=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(result.stdout + result.stderr)
    return {job["name"]: job["when"] for job in json.loads(result.stdout)}


def run_pipeline(binary: Path, checkout: Path, state: str, env: dict[str, str], home: Path,
                 variables: dict[str, str] = {}, timeout: float = 1800) -> PipelineRun:
    """Run the pipeline of `checkout`'s .gitlab-ci.yml (a git repository) as its commit's push,
    with `variables` as pipeline variables (a child pipeline does not get them)."""
    args = [str(binary), "--shell-isolation", "--no-artifacts-to-source", "--state-dir", state,
            "--home", str(home)]
    for name, value in variables.items():
        args += ["--variable", f"{name}={value}"]
    result = subprocess.run(args, cwd=checkout, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=timeout)
    return PipelineRun(result.returncode, _ANSI.sub("", result.stdout), checkout / state)
