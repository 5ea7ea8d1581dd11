"""What `bakegen affected` asks git: the repository a project is in, a commit, and its files.

A commit's files are written out as a checkout would write them (through
a temporary index: `git read-tree`, then `git checkout-index --prefix`), so
eol conversion, filters and the executable bit are what the working tree
has. The repository's own index, worktrees and refs are not touched.
`git archive` would be simpler but applies `export-ignore` and
`export-subst`, which would make a commit's files differ from its checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import BakegenError, Diagnostic, did_you_mean


def _git(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    git = shutil.which("git")
    if git is None:
        raise BakegenError([Diagnostic("git is not installed or not on PATH", file="--since",
                                       hint="install git, or leave out --since")])
    return subprocess.run([git, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def toplevel(folder: Path) -> Path:
    """The root of the git work tree that holds `folder`; BakegenError if there is none."""
    result = _git(["rev-parse", "--show-toplevel"], folder)
    if result.returncode != 0:
        raise BakegenError([Diagnostic(
            f"{folder} is not in a git repository ({_first_line(result.stderr)})", file="--since",
            hint="run bakegen affected in a clone, or leave out --since (every target is then affected)")])
    return Path(result.stdout.strip())


def commit(ref: str, repo: Path) -> str:
    """The commit `ref` names (a branch, tag, `HEAD~1`, a hash), as a full hash."""
    if not ref or ref.startswith("-"):
        raise BakegenError([Diagnostic(f"{ref!r} is not a revision", file="--since",
                                       hint="name a commit: a branch, a tag, HEAD~1 or a hash")])
    result = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], repo)
    if result.returncode != 0:
        refs = _git(["for-each-ref", "--format=%(refname:short)"], repo).stdout.split()
        close = did_you_mean(ref, refs) if refs else ""
        hint = close if close.startswith("did you mean") else ""
        shallow = _git(["rev-parse", "--is-shallow-repository"], repo).stdout.strip() == "true"
        if shallow:
            hint = (hint + "; " if hint else "") + "this clone is shallow: fetch the commit, or the whole history"
        raise BakegenError([Diagnostic(f"unknown revision {ref!r} in {repo}", file="--since",
                                       hint=hint or "name a commit of this repository: a branch, a tag or a hash")])
    return result.stdout.strip()


def export(sha: str, repo: Path, dest: Path) -> None:
    """Write the files of commit `sha` of `repo` under `dest` (an empty folder)."""
    with tempfile.TemporaryDirectory(prefix="bakegen-index-") as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        for args in (["read-tree", sha], ["checkout-index", "--all", "--force", f"--prefix={dest}{os.sep}"]):
            result = _git(args, repo, env)
            if result.returncode != 0:
                raise BakegenError([Diagnostic(f"git {args[0]} {sha[:12]} failed: {_first_line(result.stderr)}",
                                               file="--since")])


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0].removeprefix("fatal: ") if lines else "no output"
