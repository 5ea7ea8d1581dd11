"""The GitHub expression evaluator the end-to-end suite runs generated workflows with.

It decides which steps run and what the bake-action gets, so it must read
expressions as GitHub does; tested here because tests/e2e runs only with a
Docker engine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "e2e"))
from expressions import ExpressionError, condition, evaluate, interpolate, job_functions  # noqa: E402

CONTEXTS = {
    "github": {"event_name": "push", "sha": "abc", "ref_type": "branch", "ref_name": "main"},
    "matrix": {"target": "api-production", "single": False, "cache": "type=gha,scope=x"},
    "vars": {}, "steps": {"names": {"outputs": {"image": "r:5000/a/api"}}},
}


@pytest.mark.parametrize(("expression", "value"), [
    ("github.event_name != 'pull_request'", True),
    ("github.event_name == 'PUSH'", True),  # strings compare ignoring case
    ("!matrix.single", True),
    ("vars.REGISTRY || 'registry.example.com/shop'", "registry.example.com/shop"),
    ("github.ref_type == 'tag' && github.ref_name || format('sha-{0}', github.sha)", "sha-abc"),
    ("github.event_name != 'pull_request' && format('{0},mode=max', matrix.cache) || ''",
     "type=gha,scope=x,mode=max"),
    ("steps.names.outputs.image", "r:5000/a/api"),
    ("steps.missing.outputs.image", None),
    ("format('{{0}} {0}', 'it''s')", "{0} it's"),
])
def test_expressions(expression, value):
    assert evaluate(expression, CONTEXTS) == value


def test_interpolation_and_conditions():
    assert interpolate("${{ matrix.target }}.output=push=${{ github.event_name != 'pull_request' }}",
                       CONTEXTS) == "api-production.output=push=true"
    assert condition(None, CONTEXTS) and condition("${{ !matrix.single }}", CONTEXTS)
    assert not condition("matrix.single", CONTEXTS)
    with pytest.raises(ExpressionError):
        evaluate("hashFiles('x')", CONTEXTS)


def test_a_jobs_if_calls_success_of_the_jobs_it_needs_unless_it_names_a_status_function():
    contexts = {**CONTEXTS, "needs": {"plan": {"result": "success", "outputs": {"build": "[]"}}}}
    skipped = job_functions(["success", "skipped"])
    assert condition(None, contexts, job_functions(["success"]))
    assert not condition(None, contexts, skipped)
    assert not condition("github.event_name == 'push'", contexts, skipped)
    assert condition("${{ !cancelled() && !failure() && github.event_name == 'push' }}", contexts, skipped)
    assert not condition("${{ !cancelled() && !failure() }}", contexts, job_functions(["failure"]))
    assert not condition("${{ !cancelled() && needs.plan.outputs.build != '[]' }}", contexts, skipped)
