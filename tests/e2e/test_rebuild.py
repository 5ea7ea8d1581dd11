"""A one-line change to one service re-runs only that service's steps after its source COPY.

Dependency installs, other services and the base stages come from the
build cache; how long it takes is the benchmark's business
(benchmarks/build.py), what re-runs is this test's.
"""

from __future__ import annotations

import re
import uuid

from harness import Project, copy_project

# Steps of a Dockerfile stage, e.g. "[catalog-api-test linux/amd64 test 6/7] COPY . .".
STAGE_STEP = re.compile(r"^\[(?P<target>\S+) (?:\S+ )?(?P<stage>[\w.-]+) \d+/\d+\] (?P<instruction>.*)$")


def test_one_line_change_reruns_only_that_services_source_steps(engine, registry, standins, tmp_path):
    p = Project("example", copy_project("example", tmp_path / "example"), engine, registry.address)
    first = p.bake("default")
    assert first.returncode == 0, first.failure()

    source = p.dir / "example/services/catalog-api/catalog/main.py"
    # A line the build cache cannot have seen before.
    source.write_text(source.read_text() + f"# changed {uuid.uuid4()}\n")
    again = p.bake("default")
    assert again.returncode == 0, again.failure()

    steps = [STAGE_STEP.match(s) for s in again.executed_steps()]
    # FROM lines always report DONE (the image is looked up), never "executed".
    ran = [m.groupdict() for m in steps if m and not m["instruction"].startswith("FROM ")]
    assert ran, again.log[-3000:]
    others = [r for r in ran if r["target"] not in {"catalog-api-development", "catalog-api-test", "catalog-api-production"}]
    # What re-ran, and how the first build made those steps: enough to tell a
    # cache miss from a step BuildKit shared between targets and named after another.
    assert not others, (others, [s for s in first.log.splitlines() if any(o["instruction"][:40] in s for o in others)][:40])
    # Nothing before the source COPY re-ran: no dependency resolution or install.
    for r in ran:
        assert r["stage"] != "requirements" and "-r /requirements/" not in r["instruction"], r
    assert any(r["instruction"].startswith("COPY . .") for r in ran)
