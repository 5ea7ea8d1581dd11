"""The one Jinja environment, and the filters that make values safe to emit.

Every value that lands in the bake file goes through `hcl_string`; every
value that lands in a Dockerfile goes through `exec_form` (JSON arrays for
CMD/ENTRYPOINT/HEALTHCHECK) or `dockerfile_word` (quoted ENV/LABEL values).
Templates make no decisions of their own beyond layout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache, lru_cache
from pathlib import Path

import jinja2
import jinja2.bccache

from ..cache import cache_dir
from ..model.plan import Choice, Empty, Interpolated, Item, Var

BAKE_TEMPLATE = "docker-bake.hcl.j2"
# The bakegen package folder: the wheel carries the templates in it (_templates).
PACKAGE = Path(__file__).resolve().parent.parent


def template_dir() -> Path:
    """The shipped templates: inside the installed package, or the source tree."""
    packaged = PACKAGE / "_templates"
    if packaged.is_dir():
        return packaged
    return PACKAGE.parent / "templates"


def bake_template_path() -> Path:
    packaged = PACKAGE / "_templates" / BAKE_TEMPLATE
    if packaged.is_file():
        return packaged
    return PACKAGE.parent / BAKE_TEMPLATE


_HCL_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f\x7f"\\]|[$%]\{')


def hcl_literal(text: str) -> str:
    """Escape `text` for the inside of an HCL quoted string (no quotes added).

    `${` and `%{` would start an HCL template sequence, so they are doubled.
    Other control characters use \\uNNNN escapes.
    """
    if not _NEEDS_ESCAPE.search(text):
        return text  # the common case, and the hot path of large renders
    out = []
    for ch in text:
        if ch in _HCL_ESCAPES:
            out.append(_HCL_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out).replace("${", "$${").replace("%{", "%%{")


def hcl_string(value: str | Interpolated) -> str:
    """A complete HCL string expression for a literal or interpolated value."""
    if isinstance(value, str):
        return _quoted(value)
    parts = []
    for part in value:
        parts.append(f"${{{part.name}}}" if isinstance(part, Var) else hcl_literal(part))
    return '"' + "".join(parts) + '"'


@lru_cache(maxsize=16_384)
def _quoted(text: str) -> str:
    # A bake file repeats the same few strings in every target (platforms,
    # labels, context paths): 113,000 values, far fewer distinct, at 1000 services.
    return f'"{hcl_literal(text)}"'


def hcl_list(values: Sequence[Item] | Choice) -> str:
    """A list expression: items (a bake variable's value stands bare), or a Choice of two lists."""
    if isinstance(values, Choice):
        test = f'{values.test.var.name} == ""' if isinstance(values.test, Empty) else values.test.name
        return f"{test} ? {hcl_list(values.then)} : {hcl_list(values.otherwise)}"
    return "[" + ", ".join(v.name if isinstance(v, Var) else hcl_string(v) for v in values) + "]"


def hcl_list_attribute(values: Sequence[Item] | Choice, name: str) -> str:
    """An optional list attribute of a bake target, on a line of its own: nothing when `values` is empty."""
    return f"\n  {name} = {hcl_list(values)}" if values else ""


def hcl_map_attribute(values: Mapping[str, str | Interpolated], name: str) -> str:
    """An optional map attribute of a bake target, one entry a line: nothing when `values` is empty."""
    if not values:
        return ""
    entries = "".join(f"    {hcl_string(key)} = {hcl_string(item)}\n" for key, item in values.items())
    return f"\n  {name} = {{\n{entries}  }}"


def hcl_value(value: str | bool) -> str:
    """A variable default: HCL bool or string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return hcl_string(value)


def find_test(pattern: str) -> str:
    """A `find` test for a glob pattern: -name for a plain name, -path for one with '/'."""
    import shlex

    pattern = pattern.rstrip("/")
    if "/" in pattern:
        return f"-path {shlex.quote('./' + pattern.removeprefix('./').lstrip('/'))}"
    return f"-name {shlex.quote(pattern)}"


def comment(text: str) -> str:
    """`text` as the rest of a `#` comment line: line breaks would end the comment."""
    return " ".join(text.split())


def exec_form(argv: Sequence[str]) -> str:
    """A JSON array for CMD, ENTRYPOINT and HEALTHCHECK (exec form, no shell)."""
    return json.dumps(list(argv), ensure_ascii=False)


def dockerfile_word(value: str) -> str:
    """A double-quoted Dockerfile word for ENV and LABEL values.

    Inside double quotes BuildKit's shell lexer treats backslash, '"' and
    '$' specially; escaping exactly those keeps the value literal.
    """
    if "\n" in value or "\r" in value:
        raise ValueError("Dockerfile values cannot contain line breaks")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates, reused across runs: compiling them costs more than
    everything else a render does. Entries are keyed by the template's source,
    so an edited template is recompiled; a cache that cannot be read or
    written is skipped, never an error."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError):
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


# A template is a few KiB; an override larger than this is not one.
MAX_TEMPLATE_BYTES = 1024 * 1024


class _Overrides(jinja2.BaseLoader):
    """A project's folder of template overrides, read as every user file is: only a regular
    file, bounded (a FIFO named python.Dockerfile.j2 would block a plain loader forever)."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        from ..errors import BakegenError, Diagnostic
        from ..files.read import decode, problem, read_bytes

        path = self.folder.joinpath(*jinja2.loaders.split_template_path(template))  # refuses `..`
        try:
            raw = read_bytes(path, MAX_TEMPLATE_BYTES)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise jinja2.TemplateNotFound(template) from None
        except OSError as exc:
            message, _ = problem(exc, "template")
            raise BakegenError([Diagnostic(message, file=str(path), hint="a template override is a file: "
                                           "put one in its place, or remove it to use the shipped template")]) from None
        mtime = path.stat().st_mtime
        return decode(raw, str(path)), str(path), lambda: path.is_file() and path.stat().st_mtime == mtime

    def list_templates(self) -> list[str]:
        return sorted(p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*") if p.is_file())


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    folder = cache_dir("templates")
    return _BytecodeCache(str(folder)) if folder else None


@cache
def environment(override_dir: str | None = None) -> jinja2.Environment:
    """The Jinja environment; `override_dir` templates take precedence."""
    shipped = jinja2.FileSystemLoader([str(template_dir()), str(bake_template_path().parent)])
    # A project's folder of overrides is searched first; shipped templates
    # stay reachable as "bakegen/NAME", so an override can extend one and
    # replace a single block.
    loaders: list[jinja2.BaseLoader] = [jinja2.PrefixLoader({"bakegen": shipped}, delimiter="/"), shipped]
    if override_dir:
        loaders.insert(0, _Overrides(override_dir))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(
        hcl=hcl_string,
        hcl_list=hcl_list,
        hcl_list_attribute=hcl_list_attribute,
        hcl_map_attribute=hcl_map_attribute,
        hcl_value=hcl_value,
        exec_form=exec_form,
        comment=comment,
        find_test=find_test,
        dockerfile_word=dockerfile_word,
    )
    return env
