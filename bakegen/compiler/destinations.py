"""Where generated files go, checked on disk before anything is written.

Input: the plan and the project folder. Output: every path bakegen will
write, with the key of the matrix that decides it, and a Diagnostic for
each path that cannot be written as a plain file inside the project: a file
where a folder must go (or a folder where a file must), two generated paths
that need the same name as a file and as a folder, a symbolic link leading
out of the project (or in a loop), an output folder that holds or lies
inside a build context (generated files would mix with its sources). write.py
checks again as it writes; this is what lets `validate` and `render` say
where in the matrix the problem comes from.
"""

from __future__ import annotations

import os
from pathlib import Path as FsPath

from ..errors import Diagnostic, Path
from ..model.plan import BAKE_FILE, MANIFEST, Plan

OUTPUT: Path = ("project", "output")


def generated_paths(plan: Plan) -> dict[str, Path]:
    """Every file bakegen writes for `plan`, relative to the project folder,
    with the matrix key that decides its path."""
    out: dict[str, Path] = {}
    for dockerfile in plan.dockerfiles:
        out[dockerfile.path] = ("services", dockerfile.service)
        if dockerfile.dockerignore is not None:
            out[dockerfile.dockerignore_path] = ("services", dockerfile.service)
    out[BAKE_FILE] = ()
    if plan.ci_github is not None:
        out[plan.ci_github.workflow] = ("ci", "github", "workflow")
    if plan.ci_gitlab is not None:
        out[plan.ci_gitlab.file] = ("ci", "gitlab", "file")
    out[MANIFEST] = ()
    return out


def check(plan: Plan, output: str, project_dir: FsPath, matrix_file: FsPath) -> list[Diagnostic]:
    """Diagnostics for generated paths that cannot be written; `output` is the resolved output folder."""
    paths = generated_paths(plan)
    matrix = os.path.relpath(matrix_file, project_dir).replace(os.sep, "/")
    root = project_dir.resolve()
    errors: dict[tuple[Path, str], Diagnostic] = {}  # one per key and offending name
    clash = _output_and_contexts(plan, output, project_dir, root)
    if clash is not None:
        errors[(OUTPUT, "")] = clash
    fine: set[str] = set()  # folders _on_disk found nothing wrong with: files share them
    for path, owner in paths.items():
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            name = "/".join(parts[:i])
            # A name inside the output folder is decided by project.output.
            at = OUTPUT if output and (output == name or output.startswith(name + "/")) else owner
            last = i == len(parts)
            found = None if not last and name in fine else _on_disk(project_dir / name, root, name, path, last)
            if found is None and not last:
                fine.add(name)
            if found is None and i < len(parts) and name in paths:
                found = (f"'{path}' needs a folder '{name}', where bakegen writes a file",
                         "rename the service, or set project.output to a folder of its own")
            if found is None and path == matrix:
                found = (f"'{path}' is the matrix file itself, which bakegen would overwrite", "")
            if found is not None:
                problem, hint = found
                hint = hint or ("choose another project.output, or move the file away" if at == OUTPUT
                                else "rename the service, or move the file away")
                errors.setdefault((at, name), Diagnostic(problem, path=at, hint=hint))
                break
    return list(errors.values())


def _output_and_contexts(plan: Plan, output: str, project_dir: FsPath, root: FsPath) -> Diagnostic | None:
    """The first build context that the output folder holds or lies inside, as a Diagnostic.

    Generated Dockerfiles in a context would be sent with it (and a change
    to one would change every build of it), and sources would sit where
    bakegen deletes what it no longer generates. A context at the project's
    root is the exception: the project folder holds the output whatever it is.
    """
    out = _real(project_dir / output)
    if out is None:
        return None
    generated: dict[str, set[str]] = {}  # folder -> names of the files generated in it
    for path in generated_paths(plan):
        folder, _, name = path.rpartition("/")
        generated.setdefault(folder, set()).add(name)
    seen: set[str] = set()  # contexts already checked: many targets share one
    for t in plan.targets:
        named = [v for v in t.contexts.values() if "://" not in v and not v.startswith("target:")]
        for context in (t.context, *named):
            if context in seen:
                continue
            seen.add(context)
            real = _real(project_dir / context)
            if real is None or real == root or _only_generated(project_dir, context, generated):
                continue
            if real == out or out in real.parents:
                what = "holds"
            elif real in out.parents:
                what = "lies inside"
            else:
                continue
            shown = os.path.normpath(context).replace(os.sep, "/")
            return Diagnostic(f"the output folder '{output or '.'}' {what} the build context '{shown}' of service "
                              f"'{t.service}': generated files would mix with its sources",
                              path=OUTPUT, hint="give project.output a folder of its own, e.g. generated")
    return None


def _only_generated(project_dir: FsPath, context: str, generated: dict[str, set[str]]) -> bool:
    """Whether `context` is a folder bakegen generates (image_of's thin Dockerfile): it holds a
    generated file and, on disk, nothing else."""
    folder = os.path.normpath(context).replace(os.sep, "/")
    mine = generated.get(folder)
    if not mine:
        return False
    try:
        found = os.listdir(project_dir / folder)
    except OSError:
        return True  # not there yet: bakegen makes it
    return all(name in mine or name.startswith(tuple(f".{m}.bakegen-" for m in mine)) for name in found)


def _real(path: FsPath) -> FsPath | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symbolic link loop: reported where the path is checked
        return None


def _on_disk(fs_path: FsPath, root: FsPath, name: str, path: str, last: bool) -> tuple[str, str] | None:
    """What on disk stops `path` being written at its part `name`: (problem, hint or "")."""
    if fs_path.is_symlink():
        target = _real(fs_path)
        if target is None:
            return (f"'{name}' is a symbolic link that leads to itself (a loop)",
                    "remove the link; bakegen creates the folders it needs")
        if target != root and root not in target.parents:
            return (f"'{name}' is a symbolic link to {target}, outside the project folder",
                    "bakegen writes only inside the project folder; remove the link")
    if not last and fs_path.exists() and not fs_path.is_dir():
        return f"'{name}' is a file, where bakegen needs a folder for {path}", ""
    if last and fs_path.is_dir():
        return f"'{name}' is a folder, where bakegen writes the file {path}", ""
    return None
