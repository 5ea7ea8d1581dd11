"""Read a generated bake file back with python-hcl2, decoding strings as bake does.

python-hcl2 returns string literals as written (quotes and escapes
included); `decode` applies HCL's rules: escapes, `$${` and `%%{` for
literal `${` and `%{`, and `${NAME}` for a variable reference.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hcl2

from bakegen.model.plan import Interpolated, Var

_ESCAPE = re.compile(r'\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[nrt"\\])')
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def decode(raw: str) -> Interpolated:
    """Decode one quoted HCL string into literal text and variable references."""
    assert raw.startswith('"') and raw.endswith('"'), raw
    body = raw[1:-1]
    parts: list[str | Var] = []
    text: list[str] = []
    i = 0
    while i < len(body):
        if body.startswith("$${", i) or body.startswith("%%{", i):
            text.append(body[i + 1 : i + 3])
            i += 3
        elif body.startswith("${", i):
            end = body.index("}", i)
            name = body[i + 2 : end]
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name), f"not a plain variable: {name!r}"
            if text:
                parts.append("".join(text))
                text = []
            parts.append(Var(name))
            i = end + 1
        elif body.startswith("%{", i):
            raise AssertionError(f"template directive in {raw!r}")
        elif body[i] == "\\":
            match = _ESCAPE.match(body, i)
            assert match, f"bad escape in {raw!r}"
            code = match.group(1)
            text.append(_SIMPLE.get(code) or chr(int(code[1:], 16)))
            i = match.end()
        else:
            text.append(body[i])
            i += 1
    if text:
        parts.append("".join(text))
    return tuple(parts)


def literal(raw: str) -> str:
    value = decode(raw)
    assert all(isinstance(p, str) for p in value), f"unexpected variable in {raw!r}"
    return "".join(value)  # type: ignore[arg-type]


LOCAL = re.compile(r"^\$\{LOCAL_PLATFORM \? \[BAKE_LOCAL_PLATFORM\] : \[(.*)\]\}$")
CACHE_EXPORT = re.compile(r"^\$\{CACHE_EXPORT \? \[(.*)\] : \[\]\}$")
EPOCH = re.compile(r'^\$\{SOURCE_DATE_EPOCH == "" \? \[\] : \[(.*)\]\}$')
UNLESS_LOCAL = re.compile(r"^\$\{LOCAL_PLATFORM \? \[\] : \[(.*)\]\}$")
UNLESS_LOCAL_SBOM = re.compile(r"^\$\{LOCAL_PLATFORM \? \[\] : SBOM \? \[(.*)\] : \[(.*)\]\}$")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _value(raw: Any) -> Any:
    if isinstance(raw, str):
        local = LOCAL.match(raw)
        if local:
            # platforms = LOCAL_PLATFORM ? [BAKE_LOCAL_PLATFORM] : [...]
            items = re.findall(r'"(?:[^"\\]|\\.)*"', local.group(1))
            return {"local": "BAKE_LOCAL_PLATFORM", "platforms": [decode(i) for i in items]}
        cache_export = CACHE_EXPORT.match(raw)
        if cache_export:
            # cache-to = CACHE_EXPORT ? [...] : []: written only when asked for
            return {"if": "CACHE_EXPORT", "then": [decode(i) for i in re.findall(r'"(?:[^"\\]|\\.)*"',
                                                                                   cache_export.group(1))]}
        sbom = UNLESS_LOCAL_SBOM.match(raw)
        if sbom:
            # attest = LOCAL_PLATFORM ? [] : SBOM ? [..., "type=sbom"] : [...]: the SBOM when a push asks
            return {"unless": "LOCAL_PLATFORM", "then": [decode(i) for i in STRING.findall(sbom.group(1))],
                    "without SBOM": [decode(i) for i in STRING.findall(sbom.group(2))]}
        unless_local = UNLESS_LOCAL.match(raw)
        if unless_local:
            # attest = LOCAL_PLATFORM ? [] : [...]: every platform's build, not the local one
            return {"unless": "LOCAL_PLATFORM", "then": [decode(i) for i in STRING.findall(unless_local.group(1))]}
        epoch = EPOCH.match(raw)
        if epoch:
            # output = SOURCE_DATE_EPOCH == "" ? [] : [...]: only for a commit's time
            return {"if": "SOURCE_DATE_EPOCH", "then": [decode(i) for i in STRING.findall(epoch.group(1))]}
        return decode(raw)
    if isinstance(raw, list):
        return [_value(v) for v in raw]
    if isinstance(raw, dict):
        return {literal(k) if k.startswith('"') else k: _value(v) for k, v in raw.items() if k != "__is_block__"}
    return raw


def read_bake(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """{"target": {name: attrs}, "group": {...}, "variable": {...}} with decoded values."""
    options = hcl2.SerializationOptions(with_comments=False)
    data = hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=options)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, blocks in data.items():
        for block in blocks:
            for name, attrs in block.items():
                key = literal(name)
                assert key not in out.setdefault(kind, {}), f"{kind} {key} defined twice"
                out[kind][key] = _value(attrs)
    return out
