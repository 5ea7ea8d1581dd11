"""Read a docker-bake.hcl into a Draft: its targets as services of your own Dockerfiles.

Targets are evaluated the way bake would for the simple cases (variable
defaults in `${NAME}`, `inherits`); anything computed (functions,
conditionals, matrix targets) is listed as a Note instead of guessed.
Targets that build different stages of the same Dockerfile the same way
become one service with several stages; a group whose targets all run on
the same platforms becomes a deploy target.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path
from typing import Any

from ..errors import BakegenError, Diagnostic
from ..files.read import read_text
from ..model.fields import ARG_PATTERN, STAGE_PATTERN
from ..model.source import Span
from . import dockerfiles
from .draft import Draft
from .layout import StageAxis, Unit, build_draft, project_name

MAPPED = ("context", "dockerfile", "target", "platforms", "tags", "args", "contexts", "labels", "inherits",
          "cache-from", "cache-to", "description")
_ESCAPE = re.compile(r'\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[nrt"\\])')
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# How python-hcl2 gives a heredoc: its text as written, markers and all, in quotes.
_HEREDOC = re.compile(r'^"<<(-?)([A-Za-z_][A-Za-z0-9_-]*)\n(.*?)\n?[ \t]*\2"$', re.S)
_BLOCK = re.compile(r'^\s*(target|group|variable|function)\s+"((?:[^"\\]|\\.)*)"\s*\{')
_JSON_BLOCK = re.compile(r'^\s*"((?:[^"\\]|\\.)*)"\s*:\s*\{')
_JSON_KIND = re.compile(r'^\s*"(target|group|variable|function)"\s*:')
# bake files are a few KiB; python-hcl2 takes about a minute per MB, so larger ones are refused.
MAX_BAKE_BYTES = 256 * 1024
MAX_DEPTH = 100  # as for the matrix


class _Unevaluated(Exception):
    """A value bake computes (a function, a condition) that an import does not guess."""


class _File:
    def __init__(self, path: Path, display: str) -> None:
        import hcl2

        self.display = display
        # A regular file, bounded, UTF-8 with or without a byte order mark (buildx reads both).
        self.text = read_text(path, display, MAX_BAKE_BYTES, "bake file")
        self.json = path.suffix == ".json"
        self.lines = self.text.splitlines()
        self._starts = self._block_starts()
        # Parsers recurse: refuse deep nesting before a parser overflows its stack (or takes minutes).
        too_deep = _too_deep(self.text, display)
        if too_deep is not None:
            raise BakegenError([too_deep])
        if self.json:
            self.data = _from_json(self.text, display)
            return
        try:
            self.data = hcl2.loads(self.text, serialization_options=hcl2.SerializationOptions(with_comments=False))
        except Exception as exc:  # lark raises many kinds; all mean "not HCL we can read"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            line, column = getattr(exc, "line", 0), getattr(exc, "column", 0)
            raise BakegenError([Diagnostic(f"cannot read this bake file: {first}", file=display,
                                           line=line if isinstance(line, int) else 0,
                                           column=column if isinstance(column, int) else 0)]) from None

    def _block_starts(self) -> dict[tuple[str, str], int]:
        """The first line of each block, by (kind, name); a JSON file's by ("", name). Read once:
        looking each up from the top made a large file quadratic."""
        starts: dict[tuple[str, str], int] = {}
        for i, text in enumerate(self.lines):
            match = (_JSON_BLOCK if self.json else _BLOCK).match(text)
            if match:
                key = ("", match.group(1)) if self.json else (match.group(1), match.group(2))
                starts.setdefault(key, i)
        return starts

    def line(self, kind: str, name: str, key: str | None = None) -> Span:
        """Where block `kind "name"` is, or `key =` inside it (the block if not found)."""
        start = self._starts.get(("", name) if self.json else (kind, name))
        if start is None:
            return Span(0, 0)
        found = start
        if key is not None:
            for i in range(start + 1, len(self.lines)):
                if re.match(rf'^\s*"?{re.escape(key)}"?\s*[=:]', self.lines[i]):
                    found = i
                    break
                if (_JSON_KIND if self.json else _BLOCK).match(self.lines[i]):  # the next block
                    break
        text = self.lines[found]
        return Span(found + 1, len(text) - len(text.lstrip()) + 1)


def _from_json(text: str, display: str) -> dict[str, Any]:
    """A docker-bake.json in the shape python-hcl2 gives HCL: blocks in lists, strings quoted."""
    import json

    def quoted(value: Any) -> Any:
        if isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, list):
            return [quoted(v) for v in value]
        if isinstance(value, dict):
            return {k: quoted(v) for k, v in value.items()}
        return value

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BakegenError([Diagnostic(f"invalid JSON: {exc.msg}", file=display, line=exc.lineno,
                                       column=exc.colno)]) from None

    if not isinstance(data, dict):
        raise BakegenError([Diagnostic("a bake file is an object with `target` and `group`", file=display)])
    return {kind: [{f'"{name}"': quoted(attrs)} for name, attrs in (data.get(kind) or {}).items()]
            for kind in ("variable", "group", "target")}


def _too_deep(text: str, display: str) -> Diagnostic | None:
    """Where `text` first opens more than MAX_DEPTH brackets, if it does (brackets in strings
    and comments count too: a bake file that deep is broken or hostile either way)."""
    depth, line, column = 0, 1, 0
    for char in text:
        column += 1
        if char == "\n":
            line, column = line + 1, 0
        elif char in "[{(":
            depth += 1
            if depth > MAX_DEPTH:
                return Diagnostic(f"values are nested more than {MAX_DEPTH} deep here", file=display, line=line,
                                  column=column, hint="a bake file is a few levels deep; this looks like a broken "
                                  "or hostile file")
        elif char in "]})":
            depth -= 1
    return None


def _heredoc(match: re.Match[str]) -> str:
    """A heredoc's text as HCL reads it: each line with its line break; `<<-` strips the
    indentation its lines share. No backslash escapes in a heredoc."""
    lines = match.group(3).split("\n") if match.group(3) else []
    if match.group(1):
        indents = [len(line) - len(line.lstrip(" ")) for line in lines if line.strip()]
        cut = min(indents, default=0)
        lines = [line[cut:] for line in lines]
    return "".join(line + "\n" for line in lines)


def _unquote(raw: str) -> str:
    if not (raw.startswith('"') and raw.endswith('"')):
        raise _Unevaluated(raw)
    body = raw[1:-1]
    return _ESCAPE.sub(lambda m: _SIMPLE.get(m.group(1)) or chr(int(m.group(1)[1:], 16)), body)


def _block_name(raw: str) -> str:
    return raw[1:-1] if raw.startswith('"') and raw.endswith('"') else raw


class _Evaluator:
    def __init__(self, variables: dict[str, str]) -> None:
        self.variables = variables

    def string(self, raw: Any) -> str:
        if isinstance(raw, bool):
            return "true" if raw else "false"
        if isinstance(raw, int | float):
            return str(raw)
        if not isinstance(raw, str):
            raise _Unevaluated(repr(raw))
        heredoc = _HEREDOC.match(raw)
        text = _heredoc(heredoc) if heredoc else _unquote(raw)

        def replace(match: re.Match[str]) -> str:
            if match.group(1) not in self.variables:
                raise _Unevaluated(match.group(0))
            return self.variables[match.group(1)]

        # $${ and %%{ are literal ${ and %{; any other ${ or %{ is computed.
        text = _VAR.sub(replace, text.replace("$${", "\x00").replace("%%{", "\x01"))
        if "${" in text or "%{" in text:
            raise _Unevaluated(raw)
        return text.replace("\x00", "${").replace("\x01", "%{")

    def strings(self, raw: Any, skipped: list[tuple[str, str | None]] | None = None) -> list[str]:
        """A list of strings; an item bake computes is left out and named in `skipped`
        (without `skipped`, it makes the whole list unevaluated)."""
        if not isinstance(raw, list):
            raise _Unevaluated(str(raw))
        out = []
        for i, value in enumerate(raw):
            try:
                out.append(self.string(value))
            except _Unevaluated as exc:
                if skipped is None:
                    raise
                skipped.append((f"[{i}] = {exc}", None))
        return out

    def mapping(self, raw: Any, skipped: list[tuple[str, str | None]] | None = None) -> dict[str, str]:
        """A map of strings, keys evaluated like values ("x${TAG}" = ...); an entry bake computes
        is left out and named in `skipped`, with its key (without `skipped`, the whole map is
        unevaluated)."""
        if not isinstance(raw, dict):
            raise _Unevaluated(str(raw))
        out = {}
        for key, value in raw.items():
            if key == "__is_block__":
                continue
            try:
                out[self.string(key) if key.startswith('"') else key] = self.string(value)
            except _Unevaluated as exc:
                if skipped is None:
                    raise
                skipped.append((f".{_block_name(key)} = {exc}", _block_name(key)))
        return out


def read(path: Path, project_dir: Path) -> Draft:
    """A Draft for the bake file at `path`; paths relative to `project_dir`.

    Raises BakegenError when the file cannot be read.
    """
    display = os.path.relpath(path, project_dir).replace(os.sep, "/")
    f = _File(path, display)
    draft = Draft()
    variables: dict[str, str] = {}
    evaluator = _Evaluator(variables)
    for block in f.data.get("variable", []):
        for raw_name, attrs in block.items():
            name = _block_name(raw_name)
            try:
                variables[name] = evaluator.string(attrs.get("default", '""'))
            except _Unevaluated:
                draft.note(f"variable {name}: its default is computed; not evaluated", display, f.line("variable", name))
    for kind in ("function",):
        for block in f.data.get(kind, []):
            for raw_name in block:
                draft.note(f"{kind} {_block_name(raw_name)}: not imported", display, f.line(kind, _block_name(raw_name)))

    targets: dict[str, dict[str, Any]] = {}
    for block in f.data.get("target", []):
        for raw_name, attrs in block.items():
            targets[_block_name(raw_name)] = {k: v for k, v in attrs.items() if k != "__is_block__"}
    groups: dict[str, list[str]] = {}
    for block in f.data.get("group", []):
        for raw_name, attrs in block.items():
            try:
                groups[_block_name(raw_name)] = evaluator.strings(attrs.get("targets", []))
            except _Unevaluated:
                draft.note(f"group {_block_name(raw_name)}: its targets are computed", display,
                           f.line("group", _block_name(raw_name)))

    in_groups = {t for members in groups.values() for t in members}
    inherited = {_block_name(p) for attrs in targets.values() for p in attrs.get("inherits", [])
                 if isinstance(p, str)}
    axis = StageAxis()
    built: list[tuple[str, Unit]] = []
    for name, attrs in targets.items():
        if name in inherited and name not in in_groups:
            draft.note(f"target {name}: only inherited by other targets; its settings are imported with them",
                       display, f.line("target", name))
            continue
        if "matrix" in attrs:
            draft.note(f"target {name}: a matrix target; write one service per value", display, f.line("target", name))
            continue
        unit = _unit(name, _inherit(name, targets), f, evaluator, project_dir, path.parent, draft, axis)
        if unit is not None:
            built.append((name, unit))

    units = _merge_stages(built, draft)
    deploy = _deploy_targets(groups, built, units, draft, display, f)
    build_draft(draft, project_name(project_dir.resolve().name), units, axis, deploy)
    if deploy:
        draft.comment(("deploy_targets",), "Groups of the bake file whose targets all build the same platforms:",
                      "a service on a deploy target builds its platforms, and asking for another is an error.")
    _cache(targets, built, evaluator, draft, display, f)
    draft.header = [
        f"Imported by `bakegen import` from {display}.",
        "Each target that builds a Dockerfile is a service here (targets building several stages of",
        "one Dockerfile are one service); bake names its targets SERVICE-STAGE. Comments say what",
        "was not imported. Next: `bakegen render`, then `docker buildx bake` (README: \"Your own project\").",
    ]
    return draft


def _inherit(name: str, targets: dict[str, dict[str, Any]], seen: tuple[str, ...] = ()) -> dict[str, Any]:
    attrs = targets.get(name, {})
    out: dict[str, Any] = {}
    for parent in attrs.get("inherits", []):
        parent = _block_name(parent) if isinstance(parent, str) else parent
        if parent in targets and parent not in seen:
            out.update(_inherit(parent, targets, (*seen, name)))
    out.update({k: v for k, v in attrs.items() if k != "inherits"})
    return out


def _unit(name: str, attrs: dict[str, Any], f: _File, ev: _Evaluator, project_dir: Path, bake_dir: Path,
          draft: Draft, axis: StageAxis) -> Unit | None:
    line = f.line("target", name).line

    def value(key: str, kind: str, default: Any = None) -> Any:
        if key not in attrs:
            return default
        at = f.line("target", name, key)
        skipped: list[tuple[str, str | None]] = []
        try:
            found = getattr(ev, kind)(attrs[key], skipped) if kind != "string" else ev.string(attrs[key])
        except _Unevaluated as exc:
            draft.note(f"target {name}: {key} = {exc} is computed; not imported", f.display, at, project_name(name))
            return default
        # One computed entry leaves out that entry only, not the whole map or list.
        for entry, entry_key in skipped:
            where = f.line("target", name, entry_key) if entry_key else at
            draft.note(f"target {name}: {key}{entry} is computed; not imported", f.display,
                       where if where.line > at.line else at, project_name(name))
        return found

    context = value("context", "string", ".")
    if re.match(r"^[a-z]+://|^git@", context):
        draft.note(f"target {name}: remote context {context}; not imported", f.display, line)
        return None
    rel_context = _rel(bake_dir, project_dir, context)
    dockerfile = posixpath.normpath(posixpath.join(rel_context, value("dockerfile", "string", "Dockerfile")))
    service = project_name(name)
    unit = Unit(name=service, origin=f"{f.display}:{line}", context=rel_context, dockerfile=dockerfile)
    unit.info = dockerfiles.read(project_dir / dockerfile)
    unit.language = dockerfiles.language(project_dir / rel_context, unit.info)
    if unit.info is None:
        draft.edit(f"{dockerfile} (target {name}, {f.display}:{line}) is missing or BuildKit cannot parse it",
                   dockerfile, ("dockerfile", "targets"))
    target = value("target", "string")
    stage = axis.add_target(unit, target.lower() if target else None, f"{f.display}:{line}", draft)
    unit.extra["_stage"] = stage
    unit.platforms = tuple(value("platforms", "strings", []))
    unit.images[stage] = value("tags", "strings", [])
    for key, val in value("args", "mapping", {}).items():
        if re.match(ARG_PATTERN, key):
            unit.args[key] = val
        else:
            draft.note(f"target {name}: build arg {key} is not a name the matrix takes", f.display,
                       f.line("target", name, "args"), service)
    for key, val in value("contexts", "mapping", {}).items():
        if re.match(r"^[a-z-]+://|^target:", val) or not re.match(STAGE_PATTERN, key):
            draft.note(f"target {name}: named context {key} = {val}: only local folders are imported",
                       f.display, f.line("target", name, "contexts"), service)
        else:
            unit.contexts[key] = _rel(bake_dir, project_dir, val)
    unit.labels.update(value("labels", "mapping", {}))
    for key in attrs:
        if key in ("provenance", "attest", "sbom"):
            draft.note(f"target {name}: `{key}`: on a deploy target, `single_manifest: true` turns attestations "
                       "off (one plain image manifest, as AWS Lambda needs)", f.display, f.line("target", name, key),
                       service)
        elif key not in MAPPED:
            draft.note(f"target {name}: `{key}` not imported (set it with `docker buildx bake --set` or a "
                       "second bake file)", f.display, f.line("target", name, key), service)
    return unit


def _rel(bake_dir: Path, project_dir: Path, value: str) -> str:
    full = os.path.normpath(os.path.join(bake_dir, value))
    return os.path.relpath(full, project_dir).replace(os.sep, "/")


def _merge_stages(built: list[tuple[str, Unit]], draft: Draft) -> list[Unit]:
    """Targets that build different stages of one Dockerfile the same way become one service."""
    units: list[Unit] = []
    by_key: dict[tuple[Any, ...], Unit] = {}
    for old, unit in built:
        key = unit.build_key()
        same = by_key.get(key)
        stage = unit.extra.pop("_stage")
        if same is not None and stage not in same.stages:
            same.stages[stage] = unit.stages[stage]
            same.images[stage] = unit.images[stage]
            same.name = _common_name(same.name, unit.name)
            same.compose_name = same.name
            unit.extra["_into"] = same
            continue
        by_key.setdefault(key, unit)
        units.append(unit)
    return units


def _common_name(a: str, b: str) -> str:
    prefix = os.path.commonprefix([a, b]).rstrip("-_.")
    return prefix if len(prefix) >= 2 else a


def _deploy_targets(groups: dict[str, list[str]], built: list[tuple[str, Unit]], units: list[Unit], draft: Draft,
                    display: str, f: _File) -> dict[str, dict[str, Any]]:
    final = {old: unit.extra.get("_into", unit) for old, unit in built}
    deploy: dict[str, dict[str, Any]] = {}
    placed: dict[str, str] = {}
    unit_names = {u.name for u in units}
    for group, members in groups.items():
        if group == "default":
            continue
        targets = [final[m] for m in members if m in final]
        platforms = {u.platforms for u in targets}
        name = project_name(group)
        if (targets and len(platforms) == 1 and () not in platforms and name not in unit_names
                and all(u.name not in placed for u in targets)):
            deploy[name] = {"platforms": list(next(iter(platforms)))}
            for u in targets:
                placed[u.name] = name
                u.extra["deploy"] = name
                u.platforms = ()  # they follow from the deploy target
        else:
            draft.note(f"group {group}: bakegen makes a group per stage, deploy target and service; "
                       f"`docker buildx bake {' '.join(members)}` still builds these targets",
                       display, f.line("group", group))
    return deploy


def _cache(targets: dict[str, dict[str, Any]], built: list[tuple[str, Unit]], ev: _Evaluator, draft: Draft,
           display: str, f: _File) -> None:
    """Cache settings: one backend for all targets becomes `project.cache`; anything else a Note."""
    found: set[str] = set()
    for old, _ in built:
        attrs = _inherit(old, targets)
        for key in ("cache-from", "cache-to"):
            try:
                for entry in ev.strings(attrs.get(key, [])):
                    found.add(dict(p.split("=", 1) for p in entry.split(",") if "=" in p).get("type", "?"))
            except _Unevaluated:
                found.add("?")
    if not found:
        return
    if found == {"gha"} or found == {"registry"}:
        backend = found.pop()
        draft.data["project"]["cache"] = {"backend": backend}
        draft.comment(("project", "cache"), f"The bake file cached with type={backend}; bakegen gives every target "
                      "its own cache", "(scope or image), so targets do not evict each other.")
    else:
        draft.note(f"cache-from/cache-to of types {', '.join(sorted(found))}: set `project.cache` by hand",
                   display, 0)
