"""Input digests: one stable hash of everything a target's image is built from, per platform.

Identical inputs give identical digests on any machine, in any folder or
clone: only project-relative paths, file contents and the executable bit
go in, never an absolute path or a file time. A target's digest for one
platform is the SHA-256 of (as canonical JSON):

- bakegen's version;
- the platform, and the target's bake attributes that reach the image:
  context and Dockerfile paths, Dockerfile stage, args, named contexts,
  labels (bake variables as `${NAME}`, not their values), secret ids,
  attestations, single manifest. Not its name, description, tags, cache,
  output or push: those say where an image goes, not what it is;
- of its Dockerfile (generated, or the user's), the instructions a build of
  its stage runs: parser directives, global ARGs, the stage and every stage
  it is built FROM, copies or mounts from (not comments, not other stages:
  a change to the development stage does not affect production); the
  generated .dockerignore; the sources
  of the templates they come from (an override of `project.templates`
  where there is one, and every template those import), and the bake
  template's;
- the images it builds from, as the matrix names them;
- every file its build reads (plan `Inputs.files`): path, SHA-256, mode;
- the digests of the targets it is built on (`image_of`), same platform.

The target's own digest, over every platform's, is what built images
carry as the LABEL: bake sets one label value for all platforms of a
build, so a per-platform value could not be set from `--set`.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BakegenError, Diagnostic, did_you_mean
from ..model.plan import Plan, Target, display
from ..render.ci_github import LABEL

# LABEL: the image label that holds a target's input digest, set at build time
# (`--set`), never written into docker-bake.hcl: a source edit leaves that current.
__all__ = ["LABEL", "TargetInputs", "as_json", "compute", "file_hash", "image_attributes", "published", "table",
           "targets_named"]


@dataclass(frozen=True)
class TargetInputs:
    """One target's input digests, and what they are made of (to say what changed)."""

    target: str
    platforms: dict[str, str]  # platform -> digest, in the target's platform order
    digest: str  # over every platform's: the LABEL value
    parts: dict[str, Any]  # the platform-independent inputs, hashed (see the module's docstring)


def compute(plan: Plan, project_dir: Path, files: dict[str, str], templates: str | None = None
            ) -> dict[str, TargetInputs]:
    """Every target's input digests, in plan order.

    `files`: the rendered files ({project-relative path: text}, as
    `pipeline.Rendered.files`); `templates`: the folder of template
    overrides they were rendered with, if any. Reads the input files under
    `project_dir`.
    """
    sources = _TemplateSources(templates)
    hasher = _FileHasher(project_dir)
    chains = _Chains()
    by_name = {t.name: t for t in plan.targets}
    generated = {d.path: d for d in plan.dockerfiles}
    done: dict[str, TargetInputs] = {}

    def inputs_of(t: Target) -> TargetInputs:
        if t.name in done:
            return done[t.name]
        upstream = {u: inputs_of(by_name[u]) for u in t.inputs.upstream if u in by_name}
        path = posixpath.normpath(posixpath.join(t.context, t.dockerfile))
        dockerfile = generated.get(path)
        text = files.get(path) if dockerfile else hasher.text(path)
        template_names = ((t.inputs.template,) if t.inputs.template else ()) + (sources.BAKE,)
        parts: dict[str, Any] = {
            "bakegen": plan.version,
            "build": image_attributes(t),
            "dockerfile": {p: chains.get(text, t.target, p) for p in t.platforms},
            "dockerignore": _text_hash(files.get(dockerfile.dockerignore_path))
            if dockerfile and dockerfile.dockerignore is not None else None,
            "templates": {name: h for n in template_names
                          for name, h in sources.closure(n, _context(plan, dockerfile)).items()},
            "images": list(t.inputs.images),
            # The user's Dockerfile counts by the instructions its stage runs (above).
            "files": {f: hasher.hash(f) for f in t.inputs.files if f != path},
            "upstream": {u: i.digest for u, i in upstream.items()},
        }
        per_platform = {}
        for platform in t.platforms:
            parts_here = {**parts, "platform": platform, "dockerfile": parts["dockerfile"][platform],
                          "upstream": {u: i.platforms.get(platform, i.digest) for u, i in upstream.items()}}
            per_platform[platform] = _digest(parts_here)
        done[t.name] = TargetInputs(t.name, per_platform, _digest(per_platform), parts)
        return done[t.name]

    return {t.name: inputs_of(t) for t in plan.targets}


def targets_named(plan: Plan, names: Sequence[str], matrix_file: str) -> set[str]:
    """The targets `names` (targets or groups of the bake file) stand for; all for none."""
    if not names:
        return {t.name for t in plan.targets}
    groups = {g.name: g.targets for g in plan.groups}
    targets = [t.name for t in plan.targets]
    out: set[str] = set()
    errors = []
    for name in names:
        if name in targets:
            out.add(name)
        elif name in groups:
            out.update(groups[name])
        else:
            close = did_you_mean(name, [*groups, *targets])
            errors.append(Diagnostic(f"no target or group named {name!r}", file=matrix_file,
                                     hint=close if close.startswith("did you mean") else
                                     f"groups: {', '.join(groups)}; `bakegen list` shows the targets"))
    if errors:
        raise BakegenError(errors)
    return out


def table(plan: Plan, inputs: dict[str, TargetInputs], names: set[str]) -> str:
    """`bakegen inputs`: each target's digest (the label), then each platform's."""
    rows = [("TARGET", "PLATFORM", "INPUT DIGEST")]
    for t in plan.targets:
        if t.name not in names:
            continue
        found = inputs[t.name]
        rows.append((t.name, "(label)", found.digest))
        rows += [("", p, d) for p, d in found.platforms.items()]
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    return "".join(f"{r[0].ljust(widths[0])}  {r[1].ljust(widths[1])}  {r[2]}\n" for r in rows)


def as_json(plan: Plan, inputs: dict[str, TargetInputs], names: set[str]) -> str:
    """`bakegen inputs --format json`: digests and what each is made of (to compare two machines')."""
    return json.dumps({t.name: {"inputs": inputs[t.name].digest, "platforms": inputs[t.name].platforms,
                                "parts": inputs[t.name].parts}
                       for t in plan.targets if t.name in names}, indent=2, sort_keys=False) + "\n"


def image_attributes(t: Target) -> dict[str, Any]:
    """The bake attributes of `t` that can change its image (not where it goes)."""
    return {
        "context": t.context,
        "dockerfile": t.dockerfile,
        "target": t.target,
        "args": dict(sorted(t.args.items())),
        "contexts": dict(sorted(t.contexts.items())),
        "labels": {k: display(v) for k, v in sorted(t.labels.items())},
        "secret": list(t.secret),
        "attest": list(t.attest),
        "push_attest": list(t.push_attest),
        "single_manifest": t.single_manifest,
    }


def published(t: Target) -> dict[str, Any]:
    """Where `t`'s image goes and how it is built: what `affected` compares besides the digest."""
    return {
        "platforms": list(t.platforms),
        "tags": [display(tag) for tag in t.tags],
        "push": t.push,
        "output": list(t.output),
        "cache_from": [display(c) for c in t.cache_from],
        "cache_to": [display(c) for c in t.cache_to],
    }


def _context(plan: Plan, dockerfile: Any) -> dict[str, Any]:
    """What a Dockerfile template is rendered with (render/__init__.py), to find what it loads."""
    if dockerfile is None:
        return {}
    return {"source": plan.source, "service": dockerfile.service, "syntax": plan.syntax, "values": dockerfile.values}


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text_hash(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


class _FileHasher:
    """File hashes under one folder, each file read once per run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._done: dict[str, str] = {}

    def hash(self, path: str) -> str:
        if path not in self._done:
            self._done[path] = file_hash(self.root / path)
        return self._done[path]

    def text(self, path: str) -> str | None:
        """A user's Dockerfile, None if it cannot be read (its hash then says so)."""
        from ..files.read import read_bytes

        try:
            return read_bytes(self.root / path, MAX_DOCKERFILE).decode("utf-8", errors="replace")
        except (OSError, ValueError):
            return None


# Dockerfiles larger than this are hashed whole, not parsed.
MAX_DOCKERFILE = 4 * 1024 * 1024
_DIRECTIVE = re.compile(r"#\s*[A-Za-z]+\s*=.*")
_MOUNT_FROM = re.compile(r"(?:^|,)from=([^,]+)")


class _Chains:
    """Hashes of the instructions a build of one stage runs, per (Dockerfile text, stage)."""

    def __init__(self) -> None:
        self._done: dict[tuple[str | None, str, str], str | None] = {}

    def get(self, text: str | None, stage: str, platform: str) -> str | None:
        key = (text, stage, platform)
        if key not in self._done:
            if text is None:
                self._done[key] = None
            else:
                chain = stage_chain(text, stage, platform)
                self._done[key] = _text_hash(text if chain is None else chain)
        return self._done[key]


def _platform_args(platform: str) -> dict[str, str]:
    """The TARGET* build args BuildKit sets for `platform` (linux/arm/v7: os, arch, variant)."""
    os_, _, rest = platform.partition("/")
    arch, _, variant = rest.partition("/")
    return {"TARGETPLATFORM": platform, "TARGETOS": os_, "TARGETARCH": arch, "TARGETVARIANT": variant}


def stage_chain(text: str, stage: str, platform: str) -> str | None:
    """The instructions a build of `stage` of Dockerfile `text` for `platform` runs, one per
    line: the parser directives, the global ARGs, `stage` and every stage it is built FROM,
    copies from (`--from=`) or mounts (`--mount=...,from=`), with TARGETOS, TARGETARCH,
    TARGETVARIANT and TARGETPLATFORM as `platform` sets them (a stage per platform). None
    if `text` does not parse or has no such stage. A stage named through another variable
    may be any earlier one."""
    import dockerfile

    try:
        commands = dockerfile.parse_string(text)
    except (dockerfile.GoParseError, ValueError):
        return None
    directives = []
    for line in text.splitlines():
        if not _DIRECTIVE.fullmatch(line.strip()):
            break
        directives.append(line.strip())
    preamble: list[str] = []
    stages: list[list[Any]] = []
    for command in commands:
        if command.cmd.upper() == "FROM":
            stages.append([command])
        elif stages:
            stages[-1].append(command)
        else:
            preamble.append(command.original)
    names = {}
    for index, commands_of in enumerate(stages):
        words = commands_of[0].value
        if len(words) >= 3 and words[-2].upper() == "AS":
            names[words[-1].lower()] = index
    start = names.get(stage.lower())
    if start is None:
        return None

    def refs(index: int) -> list[str]:
        first, *rest = stages[index]
        out = list(first.value[:1])
        for command in rest:
            for flag in command.flags:
                if flag.startswith("--from="):
                    out.append(flag.removeprefix("--from="))
                elif flag.startswith("--mount="):
                    out += _MOUNT_FROM.findall(flag.removeprefix("--mount="))
        return out

    values = _platform_args(platform)

    def fill(ref: str) -> str:
        return re.sub(r"\$\{?(TARGET(?:PLATFORM|OS|ARCH|VARIANT))\}?", lambda m: values[m.group(1)], ref)

    keep: set[int] = set()
    todo = [start]
    while todo:
        index = todo.pop()
        if index in keep:
            continue
        keep.add(index)
        for ref in map(fill, refs(index)):
            if "$" in ref:
                todo += range(index)
                continue
            found = names.get(ref.lower(), int(ref) if ref.isdigit() else None)
            if found is not None and found < index:
                todo.append(found)
    kept = [command.original for index in sorted(keep) for command in stages[index]]
    return "\n".join([*directives, *preamble, *kept])


def file_hash(path: Path) -> str:
    """`sha256:HEX` of a regular file's bytes, `+x` when executable; `link:TARGET`
    for a symbolic link; `missing` or `special` otherwise. Never blocks on a pipe.

    What a build sends of a file: its bytes and whether it is executable (git
    and BuildKit keep that bit, nothing else of its mode); a link as a link.
    """
    try:
        info = os.lstat(path)
    except OSError:
        return "missing"
    if stat.S_ISLNK(info.st_mode):
        return "link:" + os.readlink(path)
    if not stat.S_ISREG(info.st_mode):
        return "special"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return "missing"
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return "special"
        found = "sha256:" + hashlib.file_digest(f, "sha256").hexdigest()
    return found + ("+x" if info.st_mode & 0o111 else "")


class _TemplateSources:
    """The sources of a template and of every template it loads, hashed, as the one Jinja
    environment loads them (an override first, else the shipped one).

    A template named by an expression (`{% import values.partial as pm %}`)
    is found by evaluating it with the values the template is rendered with;
    one that cannot be evaluated may be any template of the folders.
    """

    def __init__(self, override_dir: str | None) -> None:
        from ..render import templating

        self.env = templating.environment(override_dir)
        self.BAKE = templating.BAKE_TEMPLATE
        self._sources: dict[str, tuple[str, Any]] = {}  # name -> (hash, parsed template)

    def closure(self, name: str, context: dict[str, Any] | None = None) -> dict[str, str]:
        found: dict[str, str] = {}
        todo = [name]
        while todo:
            current = todo.pop()
            if current in found:
                continue
            digest, ast = self._load(current)
            found[current] = digest
            if ast is not None:
                todo += self._referenced(ast, context or {})
        return dict(sorted(found.items()))

    def _load(self, name: str) -> tuple[str, Any]:
        import jinja2

        if name not in self._sources:
            try:
                source = self.env.loader.get_source(self.env, name)[0]  # type: ignore[union-attr]
            except jinja2.TemplateNotFound:
                self._sources[name] = ("missing", None)
                return self._sources[name]
            try:
                ast = self.env.parse(source)
            except jinja2.TemplateSyntaxError:
                ast = None  # rendering reports it
            self._sources[name] = (hashlib.sha256(source.encode("utf-8")).hexdigest(), ast)
        return self._sources[name]

    def _referenced(self, ast: Any, context: dict[str, Any]) -> list[str]:
        from jinja2 import nodes

        out: list[str] = []
        for node in ast.find_all((nodes.Extends, nodes.FromImport, nodes.Import, nodes.Include)):
            value = _evaluate(node.template, context)
            names = [value] if isinstance(value, str) else value if isinstance(value, (list, tuple)) else None
            if names is None or not all(isinstance(n, str) for n in names):
                # Any template of the template folders may be the one.
                return out + [n for n in self.env.list_templates(extensions=["j2"]) if "/" not in n]
            out += names
        return out


_UNKNOWN = object()


def _evaluate(node: Any, context: dict[str, Any]) -> Any:
    """The value of a simple Jinja expression (constants, names, attributes, items,
    concatenation) with `context`; _UNKNOWN for anything else."""
    from jinja2 import nodes

    try:
        if isinstance(node, nodes.Const):
            return node.value
        if isinstance(node, (nodes.List, nodes.Tuple)):
            items = [_evaluate(item, context) for item in node.items]
            return _UNKNOWN if any(i is _UNKNOWN for i in items) else items
        if isinstance(node, nodes.Name):
            return context.get(node.name, _UNKNOWN)
        if isinstance(node, nodes.Getattr):
            base = _evaluate(node.node, context)
            return _UNKNOWN if base is _UNKNOWN else getattr(base, node.attr, _UNKNOWN)
        if isinstance(node, nodes.Getitem):
            base, key = _evaluate(node.node, context), _evaluate(node.arg, context)
            return _UNKNOWN if base is _UNKNOWN or key is _UNKNOWN else base[key]
        if isinstance(node, nodes.Concat):
            parts = [_evaluate(n, context) for n in node.nodes]
            return _UNKNOWN if any(p is _UNKNOWN for p in parts) else "".join(map(str, parts))
        if isinstance(node, nodes.Add):
            left, right = _evaluate(node.left, context), _evaluate(node.right, context)
            return _UNKNOWN if left is _UNKNOWN or right is _UNKNOWN else left + right
    except (KeyError, IndexError, TypeError, AttributeError):
        pass
    return _UNKNOWN
