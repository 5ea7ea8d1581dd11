"""Read matrix.yaml into plain Python data plus a map of source positions.

ruamel.yaml composes the document into nodes that know their line and
column; we build the data from those nodes ourselves, so that we can
report duplicate keys (all of them, not just the first), bound alias
expansion before anything large is built, and remember where every key
and value came from.
"""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, NamedTuple

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, ScalarEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from ..errors import BakegenError, Diagnostic, Path
from ..files import read as files

# Bounds on what bakegen reads, so that no input hangs it, exhausts its
# memory or overflows a stack. Real matrices stay far below each: a
# 5,000-service matrix is 1.2 MB, about 180,000 values, 6 levels deep.
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_VALUES = 2_000_000  # as written, before aliases are followed
MAX_DEPTH = 100
# Values once aliases are followed: an alias bomb exceeds it after a few levels.
MAX_EXPANDED_NODES = 2_000_000
# What YAML allows in a file is its c-printable set (tab, line breaks,
# 0x20-0x7E, 0x85, 0xA0-0xD7FF, 0xE000-0xFFFD, 0x10000 and up); this is the
# rest, named directly: the negated class took 12 ms to compile on every run.
_NOT_PRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")

MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
MATRIX = "matrix file"  # what `load` reads unless told otherwise

# The longest value bakegen takes. A Dockerfile line holds at most 65,535
# bytes (BuildKit refuses longer ones); a few values this long still fit.
MAX_VALUE_LENGTH = 16 * 1024
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class YamlInt(int):
    """An unquoted integer that remembers how the file spells it.

    Number fields get the number; text fields get str() of it, which is the
    text as written (`0755`, `0x1F`, `1_000`), so YAML never rewrites a value.
    """

    text: str

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


class YamlFloat(float):
    """An unquoted float that remembers how the file spells it: `3.10` stays "3.10", `1e3` "1e3"."""

    text: str

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


def _as_written(value: Any, text: str) -> Any:
    """`value` as YAML constructed it, carrying the `text` the file has for it."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        number = (YamlInt if isinstance(value, int) else YamlFloat)(value)
        number.text = text
        return number
    if isinstance(value, datetime.date):
        return text  # no field is a date: `tag: 2024-01-31` means that text
    return value


class Span(NamedTuple):
    """A position in the file; a tuple, because a matrix has one per key and value."""

    line: int  # 1-based
    column: int  # 1-based


@dataclass
class Positions:
    """Where each path of the document is: its key (if any) and its value."""

    file: str
    keys: dict[Path, Span] = field(default_factory=dict)
    values: dict[Path, Span] = field(default_factory=dict)
    containers: set[Path] = field(default_factory=set)  # paths of mappings and lists

    def locate(self, d: Diagnostic, prefer_key: bool | None = None) -> Diagnostic:
        """Give `d` the position of its path, or of its nearest ancestor.

        By default a scalar is located at its value and a mapping or list at
        the key that names it.
        """
        path = d.path
        if prefer_key is None:
            prefer_key = path in self.containers
        while True:
            tables = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            for table in tables:
                span = table.get(path)
                if span is not None:
                    return d.at(self.file, span.line, span.column)
            if not path:
                return d.at(self.file, 1, 1)
            path = path[:-1]
            # A missing child is reported at its parent's key, which names it.
            prefer_key = True


@dataclass(frozen=True)
class Document:
    data: Any
    positions: Positions


class _OnceResolver(VersionedResolver):
    """The resolver of the C parser, asking for the document's YAML version once.

    VersionedResolver asks for every scalar, through two attribute lookups that
    fail with the C parser (it has no scanner object to ask). That parser
    cannot pass a `%YAML` directive on, so the answer holds for the whole
    document; asking once made composing a large matrix a third faster.
    """

    @property
    def versioned_resolver(self) -> Any:
        try:
            return self._bakegen_resolvers
        except AttributeError:
            self._bakegen_resolvers = super().versioned_resolver
            return self._bakegen_resolvers


def _yaml(pure: bool = True) -> YAML:
    yaml = YAML(typ="safe", pure=pure)
    if not pure:
        yaml.Resolver = _OnceResolver
    return yaml


def _compose(text: str, display: str, what: str) -> tuple[YAML, Node | None, bool]:
    """Compose `text` with libyaml's fast C scanner, else the pure-Python parser.

    The C extension only scans and parses; tags are still resolved by
    ruamel's YAML 1.2 resolver, so values mean the same either way. libyaml
    follows YAML 1.1 and refuses a little valid 1.2 (`a.b:c` in a flow
    list), so on any error the pure parser decides: it accepts all of 1.2,
    and its messages are the ones users see, on every machine.
    The third value says whether the document has aliases.
    """
    fast = _yaml(pure=False)
    try:
        aliases = _check_bounds(fast, text, display, what)
        return fast, fast.compose(text), aliases
    except YAMLError:
        pure = _yaml(pure=True)
        aliases = _check_bounds(pure, text, display, what)
        return pure, pure.compose(text), aliases


def _check_bounds(yaml: YAML, text: str, display: str, what: str) -> bool:
    """Refuse a document nested deeper than MAX_DEPTH or holding more than MAX_VALUES.

    Composing is recursive (the C composer overflows the C stack on deep
    nesting and kills the interpreter), parsing into events is not: this
    walks the events, stopping at the first value past either bound.
    Returns whether the document has an alias.
    """
    depth = values = 0
    aliases = False
    for event in yaml.parse(text):
        if isinstance(event, CollectionStartEvent):  # a value, and a level deeper
            depth += 1
            values += 1
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
            continue
        elif isinstance(event, ScalarEvent | AliasEvent):
            aliases = aliases or isinstance(event, AliasEvent)
            values += 1
        else:
            continue
        mark = event.start_mark
        if depth > MAX_DEPTH:
            raise BakegenError([Diagnostic(
                f"values are nested more than {MAX_DEPTH} deep here", file=display, line=mark.line + 1,
                column=mark.column + 1, hint=_deep_hint(what))])
        if values > MAX_VALUES:
            raise BakegenError([Diagnostic(
                f"the document has more than {MAX_VALUES:,} values", file=display, line=mark.line + 1,
                column=mark.column + 1,
                hint="a matrix this large is probably not a matrix; check that -f names the right file"
                if what == MATRIX else f"a {what} this large is probably not one; check that this is the right file")])
    return aliases


def _deep_hint(what: str) -> str:
    return f"a {what.removesuffix(' file')} is a few levels deep; this looks like a broken or hostile file"


def _span(node: Node) -> Span:
    return Span(node.start_mark.line + 1, node.start_mark.column + 1)


def read_text(path: FsPath, display: str, what: str = MATRIX) -> str:
    """Read a UTF-8 YAML file (`what` names it: the matrix, a compose file), turning every
    I/O failure into a Diagnostic. Only a regular file of at most MAX_FILE_BYTES is read."""
    matrix = what == MATRIX
    itself = "pass the matrix file itself with -f PATH" if matrix else f"pass the {what} itself"
    try:
        raw = files.read_bytes(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        raise BakegenError([Diagnostic(
            f"{what} not found: {display}", file=display,
            hint="run bakegen in the folder that holds matrix.yaml, or pass -f PATH" if matrix else "check the path",
        )]) from None
    except IsADirectoryError:
        raise BakegenError([Diagnostic("expected a YAML file but this is a directory", file=display,
                                       hint=itself + ("/matrix.yaml" if matrix else ""))]) from None
    except files.NotRegularFile:  # a FIFO would wait forever, /dev/zero never end
        raise BakegenError([Diagnostic("not a regular file (a pipe, socket or device)", file=display,
                                       hint=itself)]) from None
    except files.FileTooLarge as exc:
        raise BakegenError([Diagnostic(
            f"the file is {exc.size:,} bytes; bakegen reads {what}s of at most "
            f"{MAX_FILE_BYTES:,} ({MAX_FILE_BYTES // 1024 // 1024} MiB)", file=display,
            hint="a matrix of 5,000 services is about 1.2 MB: check that -f names the matrix file, and that it "
                 "holds no pasted data" if matrix else f"a {what} is far smaller: check that this is the right file",
        )]) from None
    except OSError as exc:
        message, hint = files.problem(exc, what)
        raise BakegenError([Diagnostic(message, file=display, hint=hint)]) from None
    text = files.decode(raw, display, hint=f"save {FsPath(display).name} as UTF-8")
    # The YAML reader refuses these too, but without saying where.
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        before_text = text[: bad.start()]
        raise BakegenError([Diagnostic(
            f"character U+{ord(bad.group()):04X} is not allowed in a YAML file", file=display,
            line=before_text.count("\n") + 1, column=bad.start() - (before_text.rfind("\n") + 1) + 1,
            hint="remove it; YAML files hold printable characters, tabs and line breaks "
                 "(in double quotes, escapes like \\t)")])
    return text


def parse(text: str, display: str, what: str = MATRIX) -> Document:
    """Parse YAML text into a Document; raise BakegenError on any problem. `what`: the kind of file."""
    try:
        yaml, root, aliases = _compose(text, display, what)
    except MarkedYAMLError as exc:
        raise BakegenError([_syntax_diagnostic(exc, display)]) from None
    except YAMLError as exc:  # unmarked errors are rare; still the user's input
        raise BakegenError([Diagnostic(f"invalid YAML: {exc}", file=display)]) from None
    if root is None:
        raise BakegenError(
            [Diagnostic(f"the {what} is empty", file=display, line=1, column=1,
                        hint="start it with 'version: 1'; see the README for a full example" if what == MATRIX
                        else "")]
        )
    builder = _Builder(yaml, display, what)
    if aliases:  # without one the nodes are a tree the event walk has bounded already
        builder.check_size(root)
    data = builder.build(root, ())
    if builder.errors:
        raise BakegenError(builder.errors)
    return Document(data, builder.positions)


def load(path: str | os.PathLike[str], display: str | None = None, what: str = MATRIX) -> Document:
    """Read and parse the YAML file at `path`: the matrix, or the kind of file `what` names."""
    fs_path = FsPath(path)
    shown = display or str(path)
    return parse(read_text(fs_path, shown, what), shown, what)


def _syntax_diagnostic(exc: MarkedYAMLError, display: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    hint = ""
    if "\t" in problem or "'\\t'" in problem:
        hint = "YAML indentation must use spaces, not tabs"
    elif exc.context and exc.problem:
        problem = f"{exc.context}: {exc.problem}"
        start = exc.context_mark
        if start is not None and mark is not None and start.line != mark.line:
            problem += f" (it starts at line {start.line + 1}, column {start.column + 1})"
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Diagnostic(f"YAML syntax error: {problem}", file=display, line=line,
                      column=column, hint=hint)


_INVALID = object()  # a scalar whose tag refuses its text (reported)


class _Builder:
    """Turns composed nodes into dicts, lists and scalars, recording positions."""

    def __init__(self, yaml: YAML, display: str, what: str = MATRIX) -> None:
        self._constructor = yaml.constructor
        self.display = display
        self.what = what
        self.positions = Positions(display)
        self.errors: list[Diagnostic] = []

    def check_size(self, root: Node) -> None:
        """Refuse documents whose aliases expand beyond MAX_EXPANDED_NODES or nest beyond MAX_DEPTH.

        Each alias is a whole copy of what it names: a few lines can stand
        for billions of values (an alias bomb), or nest as deep as they have
        lines, which the event walk of _check_bounds cannot see.
        """
        sizes: dict[int, tuple[int, int]] = {}  # node -> (values, depth) once aliases are followed
        active: set[int] = set()

        def size(node: Node, depth: int) -> int:
            key = id(node)
            if key in active:
                raise BakegenError([self._error(node, "an alias refers to the mapping or list that contains it",
                                                "YAML aliases must not be recursive")])
            if key not in sizes:
                active.add(key)
                total, below = 1, 0
                children = [n for pair in node.value for n in pair] if isinstance(node, MappingNode) else \
                    node.value if isinstance(node, SequenceNode) else []
                for child in children:
                    total += size(child, depth + 1)
                    below = max(below, sizes[id(child)][1] + 1)
                active.discard(key)
                sizes[key] = (total, below)
            total, below = sizes[key]
            if depth + below > MAX_DEPTH:
                raise BakegenError([self._error(
                    node, f"values are nested more than {MAX_DEPTH} deep here", _deep_hint(self.what))])
            if total > MAX_EXPANDED_NODES:
                raise BakegenError([self._error(
                    node,
                    f"YAML aliases here expand to more than {MAX_EXPANDED_NODES:,} values",
                    "this looks like an alias bomb; write the values out or use fewer nested aliases",
                )])
            return total

        size(root, 0)

    def _error(self, node: Node, message: str, hint: str = "") -> Diagnostic:
        span = _span(node)
        return Diagnostic(message, file=self.display, line=span.line, column=span.column, hint=hint)

    def build(self, node: Node, path: Path) -> Any:
        self.positions.values.setdefault(path, _span(node))
        if isinstance(node, MappingNode | SequenceNode):
            self.positions.containers.add(path)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        self._check_text(node)
        value = self._construct(node)
        return None if value is _INVALID else _as_written(value, node.value)

    def _construct(self, node: ScalarNode) -> Any:
        """The value YAML makes of `node`, or _INVALID (with an error) when its tag refuses the text."""
        if node.tag == _STR_TAG:
            return node.value  # what the constructor returns for one, without its bookkeeping
        try:
            return self._constructor.construct_object(node, deep=True)
        except YAMLError as exc:
            self.errors.append(self._error(node, f"invalid value: {getattr(exc, 'problem', exc)}"))
        except (ValueError, KeyError, TypeError, OverflowError):  # `!!int abc`, `!!float abc`, `!!bool maybe`
            tag = node.tag.removeprefix("tag:yaml.org,2002:")
            shown = f"!!{tag}" if tag != node.tag else node.tag
            self.errors.append(self._error(node, f"'{node.value}' is not a valid {shown}",
                                           f"remove the tag {shown}, or write a value it reads"))
        return _INVALID

    def _check_text(self, node: ScalarNode) -> None:
        """Refuse text no generated file can hold: lone surrogates and values too long."""
        text = node.value
        if len(text) > MAX_VALUE_LENGTH:
            self.errors.append(self._error(
                node, f"this value is {len(text):,} characters long; bakegen takes at most {MAX_VALUE_LENGTH:,}",
                "a Dockerfile line holds at most 65,535 bytes; keep long data in files of the build context"))
        surrogate = _SURROGATE.search(text)
        if surrogate:
            self.errors.append(self._error(
                node, f"contains U+{ord(surrogate.group()):04X}, half of a UTF-16 surrogate pair, which is not a "
                "character", "remove it; to write a character by its number, use \\UXXXXXXXX with the whole code point"))

    def _mapping(self, node: MappingNode, path: Path) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        seen: dict[Any, Span] = {}
        merged: list[MappingNode] = []
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                merged.extend(self._merge_sources(value_node))
                continue
            if not isinstance(key_node, ScalarNode):
                self.errors.append(self._error(key_node, "mapping keys must be plain strings"))
                continue
            self._check_text(key_node)
            key = self._construct(key_node)
            if not isinstance(key, str):
                key = key_node.value  # `8000:` or `true:` as a key means the text
            if key in seen:
                first = seen[key]
                self.errors.append(self._error(
                    key_node, f"duplicate key '{key}' (first defined at line {first.line}, column {first.column})",
                    "YAML keeps only one of them; remove or rename one",
                ))
                continue
            seen[key] = _span(key_node)
            self.positions.keys[(*path, key)] = seen[key]
            result[key] = self.build(value_node, (*path, key))
        # `<<: *defaults` fills in keys the mapping does not set itself.
        for key_node, value_node in self._merged_pairs(merged):
            key = key_node.value
            if key in result:
                continue
            self.positions.keys[(*path, key)] = _span(key_node)
            result[key] = self.build(value_node, (*path, key))
        return result

    def _merge_sources(self, node: Node) -> list[MappingNode]:
        if isinstance(node, MappingNode):
            return [node]
        if isinstance(node, SequenceNode) and all(isinstance(n, MappingNode) for n in node.value):
            return list(node.value)
        self.errors.append(self._error(node, "'<<' must merge a mapping or a list of mappings"))
        return []

    def _merged_pairs(self, sources: list[MappingNode]) -> list[tuple[Node, Node]]:
        """The key/value pairs `sources` contribute, first source first.

        A merged mapping may merge others itself: its own keys come before
        the ones it merged, as they would in the mapping it was written as.
        (check_size has already refused mappings that merge themselves.)
        """
        pairs: list[tuple[Node, Node]] = []
        for source in sources:
            nested: list[MappingNode] = []
            for key_node, value_node in source.value:
                if key_node.tag == MERGE_TAG:
                    nested.extend(self._merge_sources(value_node))
                else:
                    pairs.append((key_node, value_node))
            pairs.extend(self._merged_pairs(nested))
        return pairs
