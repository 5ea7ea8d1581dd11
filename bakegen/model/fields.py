"""The value types of matrix.yaml: what one value may hold, checked and normalised once.

Each type here is an annotated str, int, list or dict whose validators
refuse what the value cannot carry to where it goes (a shell word, a
Dockerfile instruction, bake's CSV, a comment) with a message that says
what to write instead, or turn a short form into the long one. schema.py
builds the models of the file from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import re
import shlex
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, Strict

# Names users give to services, stages, deploy targets and images. Bake
# target names allow [a-zA-Z0-9_-]; '.' is allowed here and becomes '_'.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
# Dockerfile stage names: BuildKit lowercases them, and its checks flag
# stage names that are not lowercase.
STAGE_PATTERN = r"^[a-z][a-z0-9_.-]*$"
ARG_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
# ci.gitlab.file: the whole pipeline, or a file under .gitlab/ that it includes.
GITLAB_FILE_PATTERN = r"^(\.gitlab-ci\.yml|\.gitlab/[A-Za-z0-9._-]+\.ya?ml)$"
# A branch a pipeline rule names: quoted in `$CI_COMMIT_BRANCH == "NAME"`, so no quote or space.
BRANCH_PATTERN = r"^[A-Za-z0-9._/-]+$"

# os/arch[/variant] pairs that BuildKit builds and registries serve.
KNOWN_PLATFORMS: dict[str, frozenset[str]] = {
    "linux/amd64": frozenset({"", "v2", "v3", "v4"}),
    "linux/arm64": frozenset({"", "v8"}),
    "linux/arm": frozenset({"v6", "v7"}),
    "linux/386": frozenset({""}),
    "linux/ppc64le": frozenset({""}),
    "linux/s390x": frozenset({""}),
    "linux/riscv64": frozenset({""}),
    "linux/loong64": frozenset({""}),
    "linux/mips64le": frozenset({""}),
    "windows/amd64": frozenset({""}),
    "windows/arm64": frozenset({""}),
}

TAG_PLACEHOLDERS = ("registry", "tag", "service", "stage")
# The Dockerfile frontend generated files ask for: a pinned release, so every
# machine parses them alike.
DEFAULT_SYNTAX = "docker/dockerfile:1.17"


def _check_platform(value: str) -> str:
    parts = value.split("/")
    if len(parts) == 1:
        raise ValueError(f"'{value}' is not a platform; write it as os/arch, e.g. 'linux/{value}'")
    if "" in parts:
        raise ValueError(f"'{value}' has an empty part; write os/arch or os/arch/variant, e.g. 'linux/arm64'")
    base, variant = "/".join(parts[:2]), "/".join(parts[2:])
    variants = KNOWN_PLATFORMS.get(base)
    if variants is None:
        known = ", ".join(sorted(KNOWN_PLATFORMS))
        raise ValueError(f"unknown platform '{value}' (known: {known})")
    if len(parts) > 3 or variant not in variants:
        allowed = ", ".join(f"{base}/{v}" if v else base for v in sorted(variants))
        raise ValueError(f"unknown variant in '{value}'; use one of: {allowed}")
    return value


# Characters of the paths bakegen writes into Dockerfiles (WORKDIR, COPY),
# bake's CSV values (secret src) and comments. Everything else either means
# something there ('$', quotes, ',', spaces, line breaks) or is never part of
# a real folder name; refusing it beats escaping it differently per place.
_PATH_CHARACTERS = r"[\w.+@/-]"


def _check_path_characters(value: str, what: str = "paths") -> str:
    bad = sorted(set(re.sub(_PATH_CHARACTERS, "", value)))
    if bad:
        raise ValueError(f"{value!r} has characters bakegen does not allow in {what}: {' '.join(map(repr, bad))}; "
                         "use letters, digits, '.', '_', '-', '+', '@' and '/'")
    return value


def _check_relative_path(value: str) -> str:
    if not value or value.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", value):
        raise ValueError(f"'{value}' must be a path relative to the matrix file's folder")
    if "\\" in value:
        raise ValueError(f"'{value}' uses '\\'; write paths with '/'")
    return _check_path_characters(value)


def _check_secret_target(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"'{value}' must be an absolute path in the build container, e.g. /root/.netrc")
    return _check_path_characters(value)


def _check_go_package(value: str) -> str:
    # It is a word of `go build` in a RUN step: a Go import path or ./folder
    # pattern, never a flag or shell syntax.
    if value.startswith("-"):
        raise ValueError(f"'{value}' is not a Go package: write an import path or ./folder")
    return _check_path_characters(value, "Go packages")


def _check_tag_template(value: str) -> str:
    for name in re.findall(r"\{([^{}]*)\}", value):
        if name not in TAG_PLACEHOLDERS:
            allowed = ", ".join("{" + p + "}" for p in TAG_PLACEHOLDERS)
            raise ValueError(f"unknown placeholder '{{{name}}}' in tag '{value}'; use {allowed}")
    literal = re.sub(r"\{[a-z]+\}", "", value)
    bad = sorted(set(re.sub(r"[A-Za-z0-9._/:-]", "", literal)))
    if bad:
        raise ValueError(f"tag '{value}' has characters an image reference cannot have: {' '.join(map(repr, bad))}")
    return value


# Strict: `port: true` is a mistake, not port 1.
WholeNumber = Annotated[int, Strict()]


def _not_boolean(value: Any) -> Any:
    # `version: true` equals 1 to Python; it is not what the user meant.
    if isinstance(value, bool):
        raise ValueError("expected 1, not a YAML boolean")
    return value


def _scalar_to_str(value: Any) -> Any:
    # `PORT: 8000` means the text "8000" (as written: see source.YamlInt); a
    # YAML boolean is ambiguous (yes/true/on) and must be quoted.
    if isinstance(value, bool):
        raise ValueError("a YAML boolean is not a string here; quote it, e.g. \"true\"")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and "\x00" in value:
        # No process argument, environment value or build arg can hold one.
        raise ValueError("contains a NUL character, which no build or container can carry")
    return value


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|kB|KB|MB|GB|KiB|MiB|GiB)\s*$")
_UNITS = {"B": 1, "kB": 1000, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


def parse_size(value: str) -> int:
    """Bytes in a size like '400MB' or '1.5GiB'."""
    match = _SIZE.match(value)
    if not match:
        raise ValueError(f"'{value}' is not a size; write e.g. 400MB or 1.5GiB")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def _check_size(value: Any) -> Any:
    parse_size(str(value))
    return str(value)


def _one_line(value: Any) -> Any:
    values = value.values() if isinstance(value, dict) else [value]
    if any("\n" in v or "\r" in v for v in values):
        raise ValueError("an environment value cannot contain line breaks (ENV holds one line)")
    return value


def _check_writable(value: str) -> str:
    parts = value.strip("/").split("/")
    if not value or any(p in ("", ".", "..") for p in parts) or re.search(r"[\x00-\x1f\s$\\:*?\[\]\"']", value):
        raise ValueError(f"'{value}' is not a plain folder path (no '..', spaces, quotes or wildcards)")
    return value


def _split_command(value: Any) -> Any:
    # A command may be written as one shell-like string; it always reaches
    # the Dockerfile in exec (JSON array) form.
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot split the command into words: {exc}") from None
    return value


Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=64)]
Platform = Annotated[str, AfterValidator(_check_platform)]
RelPath = Annotated[str, AfterValidator(_check_relative_path)]
# json_schema_input_type: what the file may say, before short forms are
# normalised, so editors validating against the schema accept them too.
Text = Annotated[str, BeforeValidator(_scalar_to_str, json_schema_input_type=str | int | float)]
TagTemplate = Annotated[str, Field(min_length=1), AfterValidator(_check_tag_template)]
Command = Annotated[list[Text], BeforeValidator(_split_command, json_schema_input_type=list[str] | str),
                    Field(min_length=1)]
# BuildKit's build checks (SecretsUsedInArgOrEnv) flag ARG and ENV names made
# of these words: their values end up in the image and its history.
# Also personal access tokens (*_PAT), *_PASS, CREDS and connection URLs,
# which carry a password. Words are separated by '_' (ARG and ENV names) or
# '.', '-' and '/' (label keys).
_SECRET_WORDS = re.compile(
    r"(?i)(?:^|[._/-])(?:apikey|auth|credentials?|creds?|key|pass|passphrase|password|pword|passwd|pat|secret|token"
    r"|(?:database|db)[._/-]url)(?:$|[._/-])")
_NOT_SECRET_WORDS = re.compile(r"(?i)(?:^|[._/-])(?:public|file|version)(?:$|[._/-])")


def looks_secret(name: str) -> bool:
    """Whether an ARG, ENV or label name reads like it holds a secret."""
    return bool(_SECRET_WORDS.search(name)) and not _NOT_SECRET_WORDS.search(name)


def _check_not_secret(name: str) -> str:
    if looks_secret(name):
        raise ValueError(
            f"'{name}' looks like a secret: build args and environment values are stored in the "
            "image; pass secrets to the container at run time instead"
        )
    return name


def _check_label_key(name: str) -> str:
    if "\x00" in name:
        raise ValueError("a label key cannot contain a NUL character")
    if looks_secret(name):
        raise ValueError(f"'{name}' looks like a secret: labels are stored in the image, for anyone who pulls "
                         "it to read; pass secrets to the container at run time instead")
    return name


LabelKey = Annotated[str, AfterValidator(_check_label_key)]


def _check_one_line(value: str) -> str:
    # Written into YAML and comments, where U+0085, U+2028 and U+2029 are
    # line breaks too; no name or label needs a control character.
    bad = [c for c in value if unicodedata.category(c) in ("Cc", "Zl", "Zp")]
    if bad:
        raise ValueError(f"{value!r} has control characters or line breaks: {' '.join(map(repr, dict.fromkeys(bad)))}")
    return value


Line = Annotated[str, Field(min_length=1), AfterValidator(_check_one_line)]


def _check_image_tag(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", value):
        raise ValueError(f"{value!r} is not an image tag: use at most 128 letters, digits, '_', '.' and '-', "
                         "not starting with '.' or '-'")
    return value


def _check_bake_output(value: str) -> str:
    # As buildx reads an `output` entry: CSV fields of key=value with a
    # type, or one bare field, a local folder (or '-' for a tar on stdout).
    example = "write e.g. type=cacheonly or type=local,dest=out"
    if not value:
        raise ValueError(f"an empty output does nothing (bake drops it); remove it, or {example}")
    if '"' in value or _check_one_line(value) != value:
        raise ValueError(f"{value!r}: bakegen does not write quoted fields in outputs; {example}")
    fields = value.split(",")
    if len(fields) == 1 and "=" not in value:
        return value
    keys = []
    for field in fields:
        key, equals, setting = field.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"{value!r} is not a bake output: {field!r} is not key=value; {example}")
        keys.append((key.strip().lower(), setting))
    if not any(key == "type" and setting for key, setting in keys):
        raise ValueError(f"{value!r} is not a bake output: it needs type=...; {example}")
    return value


ArgName = Annotated[str, Field(pattern=ARG_PATTERN), AfterValidator(_check_not_secret)]
# A Debian package, optionally pinned: libpq5, libpq5=15.*.
DebianPackage = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?(=[A-Za-z0-9.+~:*-]+)?$")]
WritablePath = Annotated[str, AfterValidator(_check_writable)]


def _per_platform(value: Any) -> Any:
    # A value that is the same everywhere, or one value per platform
    # (keys are platforms, plus an optional `default`). Checked here so a
    # wrong shape gets one message instead of one per union member.
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key != "default":
                _check_platform(str(key))
            if isinstance(item, dict | list) or item is None:
                raise ValueError(f"the value for '{key}' must be a string")
            out[str(key)] = _scalar_to_str(item)
        if not out:
            raise ValueError("give a value, or a mapping of platform to value")
        return out
    if value is None or isinstance(value, list):
        raise ValueError("expected a string, or a mapping of platform to string")
    return _scalar_to_str(value)


PerPlatform = Annotated[str | dict[str, str], BeforeValidator(
    _per_platform, json_schema_input_type=str | int | float | dict[str, str | int | float])]
EnvValue = Annotated[PerPlatform, AfterValidator(_one_line)]
# One value for every platform, e.g. a stage's environment.
EnvText = Annotated[Text, AfterValidator(_one_line)]
ImageRef = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$")]


def none_is_empty(value: Any) -> Any:
    # `development:` with nothing after it means "all defaults".
    return {} if value is None else value


# What each field of that kind may hold (see the check it names).
FormatVersion = Annotated[Literal[1], BeforeValidator(_not_boolean)]
ImageTag = Annotated[Text, AfterValidator(_check_image_tag)]
BakeOutput = Annotated[Text, AfterValidator(_check_bake_output)]
SecretFile = Annotated[str, Field(min_length=1), AfterValidator(_check_path_characters)]
SecretTarget = Annotated[str, AfterValidator(_check_secret_target)]
GoPackage = Annotated[str, Field(min_length=1), AfterValidator(_check_go_package)]
Size = Annotated[str, AfterValidator(_check_size)]


@dataclass(frozen=True)
class AppliesTo:
    """Field metadata on a Service field: which services it has an effect on.

    compiler/checks.py reads it from the schema, so a new field says where it
    applies in one place. `runtimes`: the runtimes whose services it shapes;
    `image_of`: whether a service that runs another's image takes it. Where
    it has no effect, `elsewhere` is the message (runtimes not listed;
    {key} is the field) and `derived` ends the message for image_of
    services ({root}: the service whose image it is).
    """

    runtimes: tuple[str, ...] = ("python", "go", "dockerfile")
    image_of: bool = True
    elsewhere: str = ""
    hint: str = ""
    derived: str = "set it on '{root}'"


# Shapes a generated Dockerfile; a user's Dockerfile says it itself.
GENERATED = AppliesTo(("python", "go"), elsewhere="`{key}` has no effect with runtime dockerfile; your Dockerfile sets it")
# Shapes how the image is built: a service running another's image has none of its own.
BUILD = AppliesTo(image_of=False, derived="the image is built by '{root}'")
