"""Validate a parsed Document against the schema, reporting located errors.

pydantic reports errors by path; this module turns each into a Diagnostic
with a readable message and (for unknown keys) a did-you-mean hint, then
positions it with the Document's position map.
"""

from __future__ import annotations

import copy
import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from . import fields, schema
from ..errors import BakegenError, Diagnostic, Path
from .source import Document

# What a value matching each pattern is, and how to write one.
PATTERN_MEANINGS = {
    fields.NAME_PATTERN: ("a valid name", "letters, digits, '.', '_' and '-', starting with a letter or digit"),
    fields.STAGE_PATTERN: ("a valid name", "lowercase letters, digits, '.', '_' and '-', starting with a letter"),
    fields.ARG_PATTERN: ("a valid name", "letters, digits and '_', not starting with a digit"),
    r"^[a-z0-9][a-z0-9._:/-]*$": ("a valid registry", "lowercase letters, digits, '.', '_', ':', '/' and '-'"),
    r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$": ("an image reference", "e.g. python:3.12-slim or name@sha256:..."),
    r"^\d+(ms|s|m|h)$": ("a duration", "a whole number with ms, s, m or h, e.g. 30s"),
    r"^(builtin|[a-z0-9][a-z0-9._/:@-]*)$": ("a Dockerfile syntax", "`builtin`, or an image, e.g. docker/dockerfile:1"),
    r"^-[A-Za-z][^\s'\"\\$`]*$|^[^\s'\"\\$`-][^\s'\"\\$`]*$": (
        "a linker flag", "one word without spaces, quotes, backslashes, '$' or backticks, e.g. -s or -X=main.v=1"),
    r"^/": ("an absolute path", "a path that starts with /, e.g. /run/secrets/token"),
    r"^2\.\d{1,2}$": ("a glibc version", "2. and a minor version, e.g. 2.36"),
    r"^[A-Za-z0-9._-]+$": ("a valid file name", "letters, digits, '.', '_' and '-'"),
    r"^[A-Za-z0-9_.-]+$": ("a valid build tag", "letters, digits, '.', '_' and '-'"),
    r"^[^\n\r\x00]+$": ("one line", "text without line breaks or NUL"),
    r"^[^\n\r]+$": ("one line", "text without line breaks"),
    r"^[^\s\x00]+$": ("a URL", "one word without spaces, e.g. https://github.com/example/shop"),
    r"^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?(=[A-Za-z0-9.+~:*-]+)?$": (
        "a Debian package", "its name, e.g. libpq5, with :ARCH or =VERSION if needed (libpq5=15.*)"),
    r"^[a-z_][a-z0-9_-]{0,31}$": (
        "a valid user name", "up to 32 lowercase letters, digits, '_' and '-', starting with a letter or '_'"),
    r"^\.github/workflows/[A-Za-z0-9._-]+\.ya?ml$": ("a workflow path", "a .yml file in .github/workflows/"),
    fields.GITLAB_FILE_PATTERN: ("a pipeline path", ".gitlab-ci.yml, or a .yml file in .gitlab/"),
    fields.BRANCH_PATTERN: ("a branch name", "letters, digits, '.', '_', '/' and '-'"),
    r"^\d+(\.\d+){1,2}$": ("a version", "numbers separated by dots, e.g. 2.5.1"),
}


def validate(doc: Document) -> schema.Matrix:
    """Return the validated Matrix, or raise BakegenError with every problem."""
    if not isinstance(doc.data, dict):
        raise BakegenError([doc.positions.locate(Diagnostic(
            f"the matrix must be a mapping of keys (version, project, ...), not a {_kind(doc.data)}"
        ))])
    try:
        return schema.Matrix.model_validate(doc.data)
    except ValidationError as exc:
        diagnostics = [_diagnostic(error, doc) for error in exc.errors()]
        raise BakegenError(_unique(diagnostics)) from None


def without_refused(doc: Document, rounds: int = 3) -> tuple[schema.Matrix, list[Path]] | None:
    """The matrix with the values the schema refused left out, and their paths.

    For reporting the errors that later checks would find too, all at once.
    Only unknown keys and values inside a service (or `ci`) are left out:
    leaving out anything else (a project setting, an image, a stage, a
    deploy target, a required key) changes what every service means, so
    then None.
    """
    data = copy.deepcopy(doc.data)
    pruned: list[Path] = []
    for _ in range(rounds):
        try:
            return schema.Matrix.model_validate(data), pruned
        except ValidationError as exc:
            refused = set()
            for error in exc.errors():
                path, _ = _data_path(data, error["loc"])
                if not _may_leave_out(error["type"], path):
                    return None
                refused.add(path)
        # Deepest and last first, so that removing one leaves the others' paths valid.
        for path in sorted(refused, key=lambda p: (len(p), p[-1] if isinstance(p[-1], int) else -1), reverse=True):
            _remove(data, path)
        pruned.extend(refused)
    return None


def _may_leave_out(kind: str, path: Path) -> bool:
    if kind == "extra_forbidden":
        return True  # nothing refers to an unknown key
    if kind == "missing" or not path:
        return False
    return (path[0] == "services" and len(path) >= 3) or path[0] == "ci"


def _remove(data: Any, path: Path) -> None:
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for d in diagnostics:
        key = (d.line, d.column, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def _diagnostic(error: Any, doc: Document) -> Diagnostic:
    path, is_key = _data_path(doc.data, error["loc"])
    kind = error["type"]
    message = (error["msg"].removeprefix("Value error, ")
               .replace("Input should be greater than or equal to", "must be at least")
               .replace("Input should be less than or equal to", "must be at most")
               .replace("Input should be", "expected"))
    hint = ""
    if kind == "extra_forbidden":
        key = path[-1]
        message = f"unknown key '{key}'"
        allowed = _allowed_keys(path[:-1])
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean '{close[0]}'?"
        elif allowed:
            hint = "allowed keys: " + ", ".join(allowed)
        is_key = True
    elif kind == "missing":
        message = f"missing required key '{path[-1]}'"
        path = path[:-1]
        is_key = True
    elif kind == "string_pattern_mismatch":
        # Never the regular expression itself: it tells a user nothing.
        what, how = PATTERN_MEANINGS.get(error["ctx"]["pattern"], ("valid here", ""))
        message = f"'{error['input']}' is not {what}" + (f": use {how}" if how else "")
    elif kind == "too_short":
        least = error["ctx"]["min_length"]
        message = f"expected at least {least} {'entry' if least == 1 else 'entries'}, not {error['ctx']['actual_length']}"
    elif kind in {"dict_type", "model_type"}:
        message = f"expected a mapping, not a {_kind(error['input'])}"
    elif kind == "list_type":
        message = f"expected a list, not a {_kind(error['input'])}"
    elif kind == "string_type":
        message = f"expected a string, not a {_kind(error['input'])}"
    elif kind in {"int_parsing", "int_type"}:
        message = f"expected a whole number, not {_shown(error['input'])}"
    elif kind in {"bool_parsing", "bool_type"}:
        message = f"expected true or false, not {error['input']!r}"
    elif kind == "literal_error" and isinstance(error["input"], str):
        # A mistyped choice: name the one that was probably meant.
        expected = [str(e).strip(" '") for e in error["ctx"]["expected"].replace(" or ", ", ").split(", ")]
        close = difflib.get_close_matches(error["input"], expected, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else ""

    if kind not in {"extra_forbidden", "missing"} and path and isinstance(path[-1], str) and not is_key:
        message = f"{path[-1]}: {message}"
    d = Diagnostic(message, path=path, hint=hint)
    return doc.positions.locate(d, prefer_key=is_key)


def _data_path(data: Any, loc: tuple[Any, ...]) -> tuple[Path, bool]:
    """Follow pydantic's `loc` through the data, dropping union-member labels.

    Returns the path and whether the error is about a mapping key.
    """
    path: list[str | int] = []
    node = data
    for part in loc:
        if part == "[key]":
            return tuple(path), True
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        elif isinstance(node, dict | list) or node is None:
            # A key that is not in the data (missing) ends the walk.
            path.append(part)
            node = None
            continue
        else:
            continue  # a union member's label, e.g. 'str' or 'dict[str,str]'
        path.append(part)
    return tuple(path), False


def _allowed_keys(path: Path) -> list[str]:
    """The field names of the model found at `path` in the schema."""
    model: Any = schema.Matrix
    for part in path:
        model = _child_type(model, part)
        if model is None:
            return []
    model = _unwrap(model)  # e.g. HealthCheck | None: the keys of HealthCheck
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _child_type(tp: Any, part: str | int) -> Any:
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(str(part))
        return field.annotation if field else None
    origin = typing.get_origin(tp)
    if origin is dict:
        return typing.get_args(tp)[1]
    if origin is list:
        return typing.get_args(tp)[0]
    return None


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional until a model or container remains."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = next((m for m in members if _is_model(_strip(m))), members[0])
        else:
            return tp


def _strip(tp: Any) -> Any:
    return typing.get_args(tp)[0] if typing.get_origin(tp) is typing.Annotated else tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _shown(value: Any) -> str:
    """A wrong value as the message shows it: YAML's booleans by name, other values as written."""
    return "a YAML boolean" if isinstance(value, bool) else repr(value)


def _kind(value: Any) -> str:
    if value is None:
        return "null value"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if isinstance(value, int | float):
        return "number"
    return "string"
