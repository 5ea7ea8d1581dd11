"""A stand-in for GitHub Actions: the generated workflow's jobs, run here step by step.

Every command comes from the workflow file: `run:` scripts run in bash with
the step's `env:` and a $GITHUB_OUTPUT file; `docker/bake-action` steps
become the `docker buildx bake` command the action builds from its inputs
(docker/bake-action v7, src/context.ts: `--allow fs=*`, `--file`, `--set`,
`--metadata-file`, a default provenance attestation for targets that set
none, then the targets), and its `metadata` output is the metadata file.

What cannot happen here is replaced, and only that:
- each matrix entry of a job runs as one job on this machine, in its own
  /tmp (a private mount namespace), as on a fresh runner;
- actions/checkout: the project folder is the checkout, made a git
  repository with one commit if it is not one (steps read the commit's time);
- actions/setup-python: this machine's Python, first on PATH, with the
  bakegen under test (which the plan job's install step then keeps);
- jobs' `outputs:`, the `needs` context and job-level status functions
  (success() of the jobs needed; a skipped job skips those that need it
  unless their `if` says otherwise), and matrices from `fromJSON(...)`;
  a matrix with no entry fails the job, as on GitHub;
- $GITHUB_ENV: `name=value` lines a step writes there are in the env of
  the job's later steps;
- docker/setup-buildx-action: a standalone builder on the engine's BuildKit
  (buildkit.py), given in `env`: like a runner's docker-container builder,
  it pushes by digest, which the `docker` driver refuses;
- docker/setup-qemu-action: refused (no emulation may be registered here);
- docker/login-action: the loopback registry needs no login; the registry
  it would log in to is recorded, to be checked;
- upload-artifact / download-artifact: a folder per artifact;
- bake runs get the harness's second bake file (host networking for RUN
  steps, `--allow network.host`), as every build in this suite does.
"""

from __future__ import annotations

import fnmatch
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expressions import as_string, condition, evaluate, interpolate, job_functions
from harness import Build
from ruamel.yaml import YAML

# The generated workflow's default path (ci.github.workflow).
WORKFLOW = ".github/workflows/bakegen.yml"
# How GitHub runs `run:` steps with `shell: bash` (the default on Linux).
SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]


class WorkflowError(AssertionError):
    """A job of the workflow failed; the message says which step and why."""


def push_to_main(sha: str, before: str = "0" * 40) -> dict[str, Any]:
    """The `github` context of a push of commit `sha` to the main branch, whose tip was
    `before` (all zeros: a new branch)."""
    return {"event_name": "push", "ref": "refs/heads/main", "ref_type": "branch", "ref_name": "main", "sha": sha,
            "repository": "example/shop", "run_id": "1", "server_url": "https://github.com", "workflow": "images",
            "event": {"before": before}}


def csv_list(text: str) -> list[str]:
    """A multi-line action input as docker/actions-toolkit's Util.getInputList reads
    `set` ({ignoreComma: true, quote: false}): one item per non-empty line, trimmed."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def plain_list(text: str) -> list[str]:
    """Util.getInputList with defaults: lines, each split at commas, trimmed."""
    return [item.strip() for line in text.splitlines() for item in line.split(",") if item.strip()]


@dataclass
class JobRun:
    job: str
    matrix: dict[str, Any]
    bakes: list[Build] = field(default_factory=list)  # one per docker/bake-action step
    logins: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)  # the job's `outputs:`


@dataclass
class Runner:
    """Runs the jobs of `workflow` for one event, with the project folder as the checkout."""

    workflow: Path
    checkout: Path
    env: dict[str, str]  # the machine's environment: docker on PATH, DOCKER_HOST, the builder
    work: Path  # runners' temp folders and artifacts go here
    github: dict[str, Any]
    vars: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    extra_bake_files: tuple[str, ...] = ()
    extra_allow: tuple[str, ...] = ()
    runs: list[JobRun] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.data = YAML(typ="safe", pure=True).load(self.workflow.read_text())
        self.artifacts = self.work / "artifacts"
        self.artifacts.mkdir(parents=True, exist_ok=True)
        # job -> {"result": success or skipped, "outputs": {...}}: the `needs` context.
        self.results: dict[str, dict[str, Any]] = {}

    # -- jobs ----------------------------------------------------------------

    def order(self) -> list[str]:
        """Job names, each after the jobs it `needs`."""
        jobs = self.data["jobs"]
        done: list[str] = []

        def visit(name: str) -> None:
            if name in done:
                return
            needs = jobs[name].get("needs", [])
            for need in [needs] if isinstance(needs, str) else needs:
                visit(need)
            done.append(name)

        for name in jobs:
            visit(name)
        return done

    def run(self, jobs: Callable[[str], bool] = lambda name: True) -> list[JobRun]:
        """Every job (of those `jobs` accepts by name) whose `if` holds, in `needs` order;
        returns those run; raises WorkflowError on a failed step. A later call goes on
        from here: the artifacts and results of earlier jobs are kept, and no job runs twice."""
        done = len(self.runs)
        for name in self.order():
            if not jobs(name) or name in self.results:  # each job runs once
                continue
            job = self.data["jobs"][name]
            needs = job.get("needs", [])
            needs = [needs] if isinstance(needs, str) else needs
            missing = [n for n in needs if n not in self.results]
            if missing:
                raise WorkflowError(f"job {name} needs {', '.join(missing)}, which did not run before it")
            needed = {n: self.results[n] for n in needs}
            workflow_env = self._env(self.data.get("env", {}), self.contexts({}, needs=needed))
            contexts = self.contexts({}, env=workflow_env, needs=needed)
            if not condition(job.get("if"), contexts, job_functions([r["result"] for r in needed.values()])):
                self.results[name] = {"result": "skipped", "outputs": {}}
                continue
            entries = self.matrix_entries(name, job, contexts)
            outputs: dict[str, str] = {}
            for index, entry in enumerate(entries):
                record = self.run_job(name, job, entry, index, needed)
                self.runs.append(record)
                # A matrix job's outputs: what its runs set (GitHub keeps one of them).
                outputs.update({k: v for k, v in record.outputs.items() if v})
            self.results[name] = {"result": "success", "outputs": outputs}
        return self.runs[done:]

    def matrix_entries(self, name: str, job: dict[str, Any], contexts: dict[str, Any]) -> list[dict[str, Any]]:
        """The runs of a job: its matrix `include` entries (a `fromJSON(...)` of an earlier
        job's output, or a list), or one run without a matrix. GitHub fails a job whose
        matrix has no entry: so does this."""
        matrix = job.get("strategy", {}).get("matrix")
        if matrix is None:
            return [{}]
        if isinstance(matrix, str):
            matrix = self._value(matrix, contexts)
        include = matrix.get("include", [])
        if isinstance(include, str):
            include = self._value(include, contexts)
        if not isinstance(include, list) or not include:
            raise WorkflowError(f"job {name}: its matrix has no entry ({include!r}); GitHub fails such a job")
        return include

    @staticmethod
    def _value(text: str, contexts: dict[str, Any]) -> Any:
        """The value of a whole `${{ expression }}` (not its text)."""
        stripped = text.strip()
        if not (stripped.startswith("${{") and stripped.endswith("}}")):
            raise WorkflowError(f"{text!r} is not one expression")
        return evaluate(stripped[3:-2], contexts)

    def contexts(self, matrix: dict[str, Any], env: dict[str, str] | None = None,
                 steps: dict[str, Any] | None = None, needs: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"github": self.github, "vars": self.vars, "secrets": self.secrets, "matrix": matrix,
                "env": env or {}, "steps": steps or {}, "needs": needs or {},
                "runner": {"os": "Linux", "temp": "/tmp"}}

    @staticmethod
    def _env(values: dict[str, Any], contexts: dict[str, Any]) -> dict[str, str]:
        return {k: interpolate(as_string(v), contexts) for k, v in values.items()}

    def run_job(self, name: str, job: dict[str, Any], matrix: dict[str, Any], index: int,
                needs: dict[str, Any] | None = None) -> JobRun:
        record = JobRun(name, matrix)
        temp = self.work / f"{name}-{index}" / "tmp"  # the runner's /tmp
        temp.mkdir(parents=True)
        env = self._env(self.data.get("env", {}), self.contexts(matrix, needs=needs))
        env.update(self._env(job.get("env", {}), self.contexts(matrix, env, needs=needs)))
        steps: dict[str, Any] = {}
        for number, step in enumerate(job["steps"], 1):
            contexts = self.contexts(matrix, env, steps, needs)
            if not condition(step.get("if"), contexts):
                continue
            label = interpolate(step.get("name") or step.get("uses") or step.get("run", "")[:40], contexts)
            try:
                outputs = self.step(step, contexts, env, temp, record)
            except WorkflowError as exc:
                raise WorkflowError(f"job {name} {json.dumps(matrix)}: step {number} ({label}) failed:\n{exc}") \
                    from None
            if step.get("id"):
                steps[step["id"]] = {"outputs": outputs, "outcome": "success", "conclusion": "success"}
        record.outputs = {k: interpolate(as_string(v), self.contexts(matrix, env, steps, needs))
                          for k, v in job.get("outputs", {}).items()}
        return record

    # -- steps ---------------------------------------------------------------

    def step(self, step: dict[str, Any], contexts: dict[str, Any], env: dict[str, str], temp: Path,
             record: JobRun) -> dict[str, str]:
        inputs = {k: interpolate(as_string(v), contexts) for k, v in step.get("with", {}).items()}
        step_env = {**env, **self._env(step.get("env", {}), contexts)}
        if "run" in step:
            workdir = interpolate(step.get("working-directory", ""), contexts)
            if workdir and not workdir.startswith("/"):
                raise WorkflowError(f"working-directory {workdir!r}: only absolute paths are run here")
            outputs, exported = self.shell(interpolate(step["run"], contexts), step_env, temp, workdir)
            env.update(exported)  # $GITHUB_ENV: the job's later steps see these
            return outputs
        action = step["uses"].split("@")[0]
        if action == "actions/checkout":
            self.commit_checkout()
            return {}
        if action == "actions/setup-python":
            # This machine's Python (the one running the suite, with the bakegen under test),
            # first on PATH for the job's later steps, as setup-python puts its Python.
            env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH') or self.env.get('PATH', '')}"
            return {}
        if action == "docker/setup-buildx-action":
            return {}
        if action == "docker/setup-qemu-action":
            raise WorkflowError("the workflow asks for QEMU: no emulation can be registered here")
        if action == "docker/login-action":
            record.logins.append(inputs.get("registry", ""))
            return {}
        if action == "docker/bake-action":
            return self.bake(inputs, step_env, record)
        if action == "actions/upload-artifact":
            return self.upload(inputs, temp)
        if action == "actions/download-artifact":
            return self.download(inputs, temp)
        raise WorkflowError(f"no stand-in for {step['uses']}")

    def shell(self, script: str, env: dict[str, str], temp: Path, workdir: str) -> tuple[dict[str, str], dict[str, str]]:
        """Run a `run:` script; return what it wrote to $GITHUB_OUTPUT and to $GITHUB_ENV."""
        (temp / ".github_output").write_text("")
        (temp / ".github_env").write_text("")
        (temp / ".step.sh").write_text(script)
        # A private mount namespace puts this job's folder at /tmp, as on a fresh
        # runner. What the job needs from the host's /tmp is first bound into
        # the job's folder at the same place, so that it keeps its path (and its
        # files) inside the job: the checkout, and the Python running the suite
        # with the bakegen under test (a CI clone, venv and all, may lie under
        # /tmp). (Binding afterwards from "." does not work: mount resolves "."
        # to a path, which /tmp then hides.)
        keep = [str(self.checkout), str(Path(__file__).resolve().parents[2]), sys.prefix]
        inner = ('for keep in $KEEP; do case "$keep" in /tmp/*) mkdir -p "$JOB_TMP/${keep#/tmp/}"'
                 ' && mount --bind "$keep" "$JOB_TMP/${keep#/tmp/}" || exit 1 ;; esac; done'
                 ' && mount --rbind "$JOB_TMP" /tmp'
                 ' && cd "$CHECKOUT" && { [ -z "$STEP_DIR" ] || cd "$STEP_DIR"; } && exec "$@"')
        full_env = {**self.env, **env, "GITHUB_OUTPUT": "/tmp/.github_output", "GITHUB_ENV": "/tmp/.github_env",
                    "RUNNER_TEMP": "/tmp", "CHECKOUT": str(self.checkout), "JOB_TMP": str(temp),
                    "STEP_DIR": workdir, "KEEP": " ".join(dict.fromkeys(k for k in keep if " " not in k))}
        result = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", inner, "sh",
                                 *SHELL, "/tmp/.step.sh"], env=full_env, text=True, capture_output=True,
                                timeout=600)
        if result.returncode != 0:
            raise WorkflowError(f"exit {result.returncode}\n{script}\n{result.stdout}{result.stderr}")
        return parse_outputs((temp / ".github_output").read_text()), parse_outputs((temp / ".github_env").read_text())

    def commit_checkout(self) -> None:
        """Make the checkout a git repository with one commit, as actions/checkout leaves it."""
        if (self.checkout / ".git").exists():
            return
        when = "2026-01-01T00:00:00+00:00"
        git_env = {**os.environ, "GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@example.com",
                   "GIT_COMMITTER_NAME": "ci", "GIT_COMMITTER_EMAIL": "ci@example.com",
                   "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "checkout"]):
            subprocess.run(["git", *args], cwd=self.checkout, env=git_env, check=True, capture_output=True)

    @staticmethod
    def _outside(path: str, temp: Path) -> Path:
        """A path under the runner's /tmp as this process sees it."""
        return temp / path.removeprefix("/tmp/") if path.startswith("/tmp/") or path == "/tmp" else Path(path)

    def upload(self, inputs: dict[str, str], temp: Path) -> dict[str, str]:
        files = [f for pattern in plain_list(inputs["path"])
                 for f in sorted(glob.glob(str(self._outside(pattern, temp)))) if os.path.isfile(f)]
        if not files and inputs.get("if-no-files-found", "warn") == "error":
            raise WorkflowError(f"upload-artifact: no files match {inputs['path']}")
        folder = self.artifacts / inputs.get("name", "artifact")
        if folder.exists():
            raise WorkflowError(f"upload-artifact: an artifact named {folder.name} exists already")
        folder.mkdir()
        for f in files:
            shutil.copy2(f, folder / Path(f).name)
        return {}

    def download(self, inputs: dict[str, str], temp: Path) -> dict[str, str]:
        dest = self._outside(inputs.get("path", "."), temp)
        pattern = inputs.get("pattern") or inputs.get("name") or "*"
        found = [a for a in sorted(self.artifacts.iterdir()) if fnmatch.fnmatchcase(a.name, pattern)]
        merge = inputs.get("merge-multiple", "false") == "true"
        for artifact in found:
            target = dest if merge else dest / artifact.name
            target.mkdir(parents=True, exist_ok=True)
            for f in artifact.iterdir():
                shutil.copy2(f, target / f.name)
        return {}

    def bake(self, inputs: dict[str, str], env: dict[str, str], record: JobRun) -> dict[str, str]:
        """docker/bake-action's main.ts and context.ts getArgs, for a local `source`."""
        source = inputs.get("source", "")
        if not source or re.match(r"^(https?://|git@|[\w.-]+://)", source):
            raise WorkflowError(f"bake-action source {source!r}: only a local folder can be built here")
        workdir = self.checkout / source
        files = plain_list(inputs.get("files", "")) + list(self.extra_bake_files)
        sets = csv_list(inputs.get("set", ""))
        targets = plain_list(inputs.get("targets", ""))
        full_env = {**self.env, **env, "BUILDX_METADATA_WARNINGS": "true"}

        args = ["bake", "--allow", "fs=*"] + [a for allow in (*plain_list(inputs.get("allow", "")),
                                                              *self.extra_allow) for a in ("--allow", allow)]
        for f in files:
            args += ["--file", f]
        for s in sets:
            args += ["--set", s]
        metadata = self.work / "bake-metadata.json"
        metadata.unlink(missing_ok=True)
        args += ["--metadata-file", str(metadata)]
        if inputs.get("provenance"):
            args += ["--provenance", inputs["provenance"]]
        else:
            # No provenance input: every target whose definition sets no provenance
            # attestation gets the default one (public repository: mode=max).
            definition = self.definition(workdir, files, sets, targets, full_env)
            builder_id = f"{self.github['server_url']}/{self.github['repository']}/actions/runs/{self.github['run_id']}"
            for name, target in definition.get("target", {}).items():
                attest = target.get("attest") or []
                if not any(_attest_type(a) == "provenance" for a in attest):
                    args += ["--set", f"{name}.attest=type=provenance,mode=max,builder-id={builder_id}"]
        for flag in ("no-cache", "pull", "load", "push"):
            if inputs.get(flag, "false") == "true":
                args.append(f"--{flag}")
        args += targets
        start = time.monotonic()
        result = subprocess.run(["docker", "buildx", *args, "--progress=plain"], cwd=workdir, env=full_env,
                                text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=3600)
        data = json.loads(metadata.read_text()) if metadata.is_file() else {}
        record.bakes.append(Build(["docker", "buildx", *args], result.returncode, result.stdout, data,
                                  time.monotonic() - start))
        if result.returncode != 0:
            errors = [line for line in result.stdout.splitlines() if "ERROR" in line or "error" in line.lower()]
            raise WorkflowError("docker buildx " + " ".join(args) + "\n" + "\n".join(errors[-20:]))
        return {"metadata": json.dumps(data, indent=2)}

    def definition(self, workdir: Path, files: list[str], sets: list[str], targets: list[str],
                   env: dict[str, str]) -> dict[str, Any]:
        """`docker buildx bake --print` with the step's files, sets and targets (actions-toolkit getDefinition)."""
        args = ["docker", "buildx", "bake"]
        for f in files:
            args += ["--file", f]
        for s in sets:
            args += ["--set", s]
        result = subprocess.run([*args, "--print", *targets], cwd=workdir, env=env, text=True, capture_output=True)
        if result.returncode != 0:
            raise WorkflowError(f"{' '.join(args)} --print: {result.stderr}")
        return json.loads(result.stdout)


def _attest_type(attest: Any) -> str | None:
    """The type of one attest entry of `bake --print` (an object, or a CSV string in old buildx)."""
    if isinstance(attest, dict):
        return attest.get("type")
    match = re.search(r"(?:^|,)type=([^,]+)", str(attest))
    return match.group(1) if match else None


def parse_outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT: `name=value` lines and `name<<DELIMITER` blocks."""
    outputs: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            outputs[name] = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
        i += 1
    return outputs
