"""What a service's build is made of on disk: the patterns of its .dockerignore and the
files of its context that a build is sent.

Read once per distinct (context, patterns) while resolving, so services
that share a context share one listing; expand puts them into the plan as
each target's inputs.
"""

from __future__ import annotations

import posixpath

from ..files.project import ProjectFiles
from ..model.resolved import ResolvedService
from ..runtimes.base import Runtime


def ignore_patterns(service: ResolvedService, runtime: Runtime, output: str, source: str
                    ) -> tuple[str, ...] | None:
    """The generated .dockerignore's patterns, or None where bakegen writes none.

    The runtime's defaults, bakegen's own files inside the context (the
    matrix, the output folder), then the service's `dockerignore`.
    """
    if runtime.template is None or not runtime.IGNORE:
        return None
    return runtime.IGNORE + _project_files(service.context, output, source) + service.dockerignore


def context_files(service: ResolvedService, ignore: tuple[str, ...] | None,
                  files: ProjectFiles) -> tuple[str, ...]:
    """The files of the service's context its build is sent, sorted.

    With bakegen's .dockerignore, those patterns; with the user's
    Dockerfile, the user's own: `<Dockerfile>.dockerignore` beside it, which
    BuildKit prefers, else the context's `.dockerignore`.
    """
    if ignore is None:
        if service.dockerfile is None:
            return ()
        ignore = _user_ignore(service, files)
    return files.sent(service.context, ignore)


def input_files(service: ResolvedService, named: dict[str, str], files: ProjectFiles) -> tuple[str, ...]:
    """Every file `service`'s build reads, project-relative, sorted.

    Its context's sent files, every file of its named contexts (`named`:
    name -> project folder; BuildKit sends a local named context whole,
    and a file left out by mistake would hide a change), and the user's
    Dockerfile with the ignore file that applies to it.
    """
    out = {_join(service.context, f) for f in service.context_files}
    for folder in named.values():
        out.update(_join(folder, f) for f in files.sent(folder, ()))
    if service.dockerfile is not None:
        out.add(service.dockerfile)
        found = _user_ignore_file(service, files)
        if found:
            out.add(found)
    return tuple(sorted(out))


def _join(folder: str, path: str) -> str:
    return posixpath.join(folder, path) if folder not in ("", ".") else path


def _user_ignore_file(service: ResolvedService, files: ProjectFiles) -> str | None:
    assert service.dockerfile is not None
    for candidate in (service.dockerfile + ".dockerignore", _join(service.context, ".dockerignore")):
        if files.text(files.root / candidate) is not None:
            return candidate
    return None


def _user_ignore(service: ResolvedService, files: ProjectFiles) -> tuple[str, ...]:
    found = _user_ignore_file(service, files)
    text = files.text(files.root / found) if found else None
    return tuple(text.splitlines()) if text else ()


def _project_files(context: str, output: str, matrix: str) -> tuple[str, ...]:
    """bakegen's own files that lie inside a build context, as patterns relative to it."""
    out = []
    for path in (matrix, output):
        rel = posixpath.relpath(path, context or ".")
        if not rel.startswith(".."):
            out.append(rel)
    return tuple(out)
