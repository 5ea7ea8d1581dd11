"""REGISTRY and TAG from the environment make valid image names, or bakegen says which is wrong."""

from __future__ import annotations

import pytest
from test_workflow import bake_calls, docker_log  # noqa: F401 (a fixture)

from bakegen import build_plan
from bakegen.errors import BakegenError
from bakegen.tools.image_names import registry_problems, tag_problems, values


@pytest.mark.parametrize("registry", [
    "127.0.0.1:5000/shop",  # a port
    "127.0.0.1:5000/team/sub/project",  # a nested namespace
    "registry.example.com", "localhost:5000", "ghcr.io/my-org/my_app", "myorg", "[::1]:5000/x",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/pipeline", "Registry.Example.com/shop",
])
def test_valid_registries(registry):
    assert registry_problems(registry) == []


@pytest.mark.parametrize(("registry", "problems"), [
    ("127.0.0.1:5000/Team/Project", [
        ("repository names must be lowercase: 'Team'", "use REGISTRY=127.0.0.1:5000/team/project"),
        ("repository names must be lowercase: 'Project'", "use REGISTRY=127.0.0.1:5000/team/project")]),
    ("https://ghcr.io/org", [("starts with a URL scheme; image names have none", "use REGISTRY=ghcr.io/org")]),
    ("ghcr.io/org/", [("has an empty path component (a leading, doubled or trailing '/')",
                       "use REGISTRY=ghcr.io/org")]),
    ("registry.example.com:port/x", [("'registry.example.com:port' is not a registry host[:port]",
                                      "a host name or IP address, optionally with :PORT, e.g. 127.0.0.1:5000")]),
    ("ghcr.io/my org", [("'my org' is not a valid repository path component",
                         "lowercase letters and digits, separated by '.', '_', '__' or '-'")]),
    ("", [("is empty", "set it to a registry and namespace, e.g. registry.example.com/team")]),
])
def test_invalid_registries(registry, problems):
    assert registry_problems(registry) == problems


def test_tags():
    assert tag_problems("1.4.0") == tag_problems("sha-0123abc") == tag_problems("v1_rc.2-x") == []
    assert tag_problems("-rc") == tag_problems("1.0+build") == tag_problems("x" * 129) != []


def test_values_come_from_the_environment_else_the_matrix(example):
    plan = build_plan(example)
    assert values(plan, {})["REGISTRY"] == "registry.dev.example.com/shop"
    assert values(plan, {"REGISTRY": "127.0.0.1:5000/a/b", "TAG": "1.0"})["TAG"] == "1.0"
    with pytest.raises(BakegenError) as raised:
        values(plan, {"REGISTRY": "r.example.com/" + "x" * 250})
    [error] = raised.value.diagnostics
    assert error.message == ("image names may have at most 255 characters; r.example.com/" + "x" * 250
                             + "/portal-scheduler has 281")


def test_bake_refuses_an_uppercase_registry_before_docker_runs(example, run, docker_log, monkeypatch):
    assert run("render", "-f", str(example)).exit_code == 0
    monkeypatch.setenv("REGISTRY", "127.0.0.1:5000/Team/shop")
    monkeypatch.setenv("TAG", "1.4.0")
    result = run("bake", "-f", str(example), "push", "--push")
    assert result.exit_code == 2
    assert result.stderr == (
        "environment: REGISTRY='127.0.0.1:5000/Team/shop' (environment) repository names must be lowercase: 'Team'\n"
        "  hint: use REGISTRY=127.0.0.1:5000/team/shop\n")
    assert not docker_log.exists() or bake_calls(docker_log) == []


def test_sizes_refuses_a_bad_tag_before_reading_the_registry(project, run, docker_log, monkeypatch):
    monkeypatch.setenv("TAG", "-rc1")
    result = run("sizes", "-f", str(project("two-arch-service")))
    assert result.exit_code == 2
    assert result.stderr == (
        "environment: TAG='-rc1' (environment) is not a valid tag\n"
        "  hint: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'\n")
    assert not docker_log.exists()


@pytest.mark.parametrize(("ref", "problem"), [
    (":latest", "the name is empty"),
    (":nope", "the name is empty"),
    ("UPPER/Case:tag", "repository names must be lowercase: 'UPPER'"),
    ("a//b", "has an empty path component (a leading, doubled or trailing '/')"),
    ("app:", "the tag after ':' is empty"),
    ("app:-rc", "the tag '-rc' is not a valid tag"),
    ("r.example.com/" + "x" * 250 + ":1", "the name has 264 characters; image names may have at most 255"),
])
def test_every_expanded_tag_is_an_image_reference(ref, problem):
    from bakegen.model.image_ref import reference_problems

    assert reference_problems(ref)[0][0] == problem
    assert reference_problems("localhost:5000/team/api:1.0-production") == []
