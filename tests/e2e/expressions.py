"""GitHub Actions expressions (`${{ ... }}`), evaluated the way the runner does.

Enough of the language for generated workflows: literals, context paths
(`matrix.target`, `steps.names.outputs.image`), `!`, `==`, `!=`, `<`, `<=`,
`>`, `>=`, `&&`, `||`, parentheses and the functions format, contains,
startsWith, endsWith, join, toJSON, fromJSON, success, always, failure and
cancelled (for a job: what the jobs it needs ended with, `job_functions`). `&&` and `||` return an operand, not a boolean, as on GitHub, and
string comparison ignores case. Anything else raises ExpressionError, so a
workflow that uses more than this fails the test loudly instead of running
with a guessed value.
"""

from __future__ import annotations

import json
import re
from typing import Any

TOKEN = re.compile(r"""\s*(?:
    (?P<string>'(?:[^']|'')*')
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\],.])
  | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
)""", re.VERBOSE)
INTERPOLATION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


class ExpressionError(ValueError):
    pass


def truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and value == value  # NaN is falsy


def as_string(value: Any) -> str:
    """How a value reads when interpolated into text."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2)
    return str(value)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if type(a) is not type(b) and None not in (a, b):
        # Loose comparison: both sides become numbers.
        try:
            return float(a) == float(b)
        except (TypeError, ValueError):
            return False
    return a == b


def _format(template: str, *args: Any) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) in ("{{", "}}"):
            return match.group(0)[0]
        return as_string(args[int(match.group(1))])
    return re.sub(r"\{\{|\}\}|\{(\d+)\}", replace, template)


FUNCTIONS = {
    "format": _format,
    "contains": lambda hay, needle: (any(_equal(x, needle) for x in hay) if isinstance(hay, list)
                                     else as_string(needle).lower() in as_string(hay).lower()),
    "startswith": lambda s, p: as_string(s).lower().startswith(as_string(p).lower()),
    "endswith": lambda s, p: as_string(s).lower().endswith(as_string(p).lower()),
    "join": lambda items, sep=",": as_string(sep).join(as_string(i) for i in items)
    if isinstance(items, list) else as_string(items),
    "tojson": lambda v: json.dumps(v, indent=2),
    "fromjson": lambda s: json.loads(s),
    # Steps run only while every earlier one succeeded (a failure stops the job).
    "success": lambda: True,
    "always": lambda: True,
    "failure": lambda: False,
    "cancelled": lambda: False,
}


# The status functions a job's `if` sees: they read the results of the jobs it needs.
STATUS_FUNCTIONS = ("success", "always", "failure", "cancelled")


def job_functions(results: list[str]) -> dict[str, Any]:
    """The status functions for a job whose needed jobs ended with `results`
    (success, skipped, failure): success() only when every one succeeded."""
    return {"success": lambda: all(r == "success" for r in results), "always": lambda: True,
            "failure": lambda: any(r == "failure" for r in results), "cancelled": lambda: False}


class _Parser:
    def __init__(self, text: str, contexts: dict[str, Any], functions: dict[str, Any] | None = None) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            match = TOKEN.match(text, pos)
            if not match or match.end() == pos:
                raise ExpressionError(f"cannot read {text[pos:]!r} in {text!r}")
            kind = match.lastgroup
            assert kind is not None
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.pos = 0
        self.text = text
        self.contexts = contexts
        self.functions = {**FUNCTIONS, **(functions or {})}

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(f"expected {value or 'more'} in {self.text!r}")
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()[1]!r} in {self.text!r}")  # type: ignore[index]
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.compare()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.compare()
            value = right if truthy(value) else value
        return value

    def compare(self) -> Any:
        value = self.unary()
        while self.peek() in (("op", "=="), ("op", "!="), ("op", "<"), ("op", "<="), ("op", ">"), ("op", ">=")):
            op = self.take()[1]
            right = self.unary()
            if op in ("==", "!="):
                value = _equal(value, right) == (op == "==")
            else:
                value = {"<": value < right, "<=": value <= right, ">": value > right, ">=": value >= right}[op]
        return value

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text)
        if (kind, text) == ("op", "("):
            value = self.or_()
            self.take(")")
            return value
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r} in {self.text!r}")
        if text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        if self.peek() == ("op", "("):
            function = self.functions.get(text.lower())
            if function is None:
                raise ExpressionError(f"unknown function {text}() in {self.text!r}")
            self.take("(")
            args = []
            while self.peek() != ("op", ")"):
                args.append(self.or_())
                if self.peek() == ("op", ","):
                    self.take()
            self.take(")")
            return function(*args)
        if text not in self.contexts:
            raise ExpressionError(f"unknown context {text!r} in {self.text!r}")
        value = self.contexts[text]
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                key = self.take()[1]
            else:
                key = self.or_()
                self.take("]")
            value = value.get(key) if isinstance(value, dict) else None
        return value


def evaluate(expression: str, contexts: dict[str, Any], functions: dict[str, Any] | None = None) -> Any:
    """The value of one expression (without `${{ }}`), e.g. `matrix.target`; `functions`
    replace built-in ones (a job's status functions)."""
    return _Parser(expression, contexts, functions).parse()


def interpolate(text: str, contexts: dict[str, Any]) -> str:
    """`text` with every `${{ expression }}` replaced by its value."""
    return INTERPOLATION.sub(lambda m: as_string(evaluate(m.group(1), contexts)), text)


def condition(text: str | bool | None, contexts: dict[str, Any], functions: dict[str, Any] | None = None) -> bool:
    """Whether a job or step with `if: text` runs. As on GitHub, an `if` that calls no status
    function means `success() && (text)`, and no `if` means `success()`."""
    if isinstance(text, bool):
        return text
    stripped = (text or "").strip()
    if stripped.startswith("${{") and stripped.endswith("}}"):
        stripped = stripped[3:-2]
    if not re.search(rf"\b(?:{'|'.join(STATUS_FUNCTIONS)})\s*\(", stripped, re.IGNORECASE):
        stripped = f"success() && ({stripped})" if stripped else "success()"
    return truthy(evaluate(stripped, contexts, functions))
