"""`bakegen bake` and `bakegen sizes` with real image names on the loopback registry.

REGISTRY has a port and a nested namespace (127.0.0.1:PORT/RUN/team/sub/
reporting); `bakegen bake push --push` pushes there and `bakegen sizes`
reads the pushed images back: exit 0 within the fixture's budgets, 1 over a
tiny budget, 2 for an image that was never pushed. An uppercase REGISTRY is
refused by bakegen, naming the variable, before docker or the registry
see it.
"""

from __future__ import annotations

import re

from harness import HARNESS_FILE, Project, bakegen, copy_project

BUDGETS = "size_budget: {linux/amd64: 400MB, linux/arm64: 380MB}"


def reporting(engine, registry, tmp_path) -> Project:
    return Project("two-arch-service", copy_project("two-arch-service", tmp_path / "reporting"), engine,
                   registry.address)


def sizes(p: Project, **env: str):
    return bakegen("sizes", "-f", str(p.matrix), cwd=p.dir, env=p.env(**env))


def test_push_to_a_nested_namespace_with_a_port_then_check_sizes(engine, registry, standins, namespace, tmp_path):
    p = reporting(engine, registry, tmp_path)
    prefix = f"{namespace}/team/sub/reporting"
    pushed = bakegen("bake", "-f", str(p.matrix), "push", "--push", "-f", HARNESS_FILE, "--allow=network.host",
                     cwd=p.dir, env=p.env(REGISTRY=prefix))
    assert pushed.returncode == 0, pushed.stdout[-3000:] + pushed.stderr[-3000:]
    target = p.plan.target("reports-production")
    assert registry.image(f"{prefix}/reports:e2e") == ("index", ("linux/amd64", "linux/arm64"))

    within = sizes(p, REGISTRY=prefix)
    assert within.returncode == 0, within.stderr
    rows = within.stdout.splitlines()
    assert rows[0] == "TARGET  PLATFORM  SIZE  BUDGET  STATUS"
    assert [row.split()[:2] + row.split()[-1:] for row in rows[1:]] == [
        [target.name, "linux/amd64", "ok"], [target.name, "linux/arm64", "ok"]]

    text = p.matrix.read_text()
    assert BUDGETS in text
    p.matrix.write_text(text.replace(BUDGETS, "size_budget: {default: 1kB}"))
    over = sizes(p, REGISTRY=prefix)
    assert over.returncode == 1, over.stderr
    assert all(re.fullmatch(r"reports-production  linux/(amd64|arm64)  [\d.]+ MB  0\.0 MB  OVER BUDGET", row)
               for row in over.stdout.splitlines()[1:]), over.stdout

    missing = sizes(p, REGISTRY=prefix, TAG="never-pushed")
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"docker: cannot inspect {prefix}/reports:never-pushed: ")


def test_an_uppercase_registry_is_refused_by_bakegen(engine, registry, tmp_path):
    p = reporting(engine, registry, tmp_path)
    wrong = f"{registry.address}/Team/reporting"
    expected = (f"environment: REGISTRY='{wrong}' (environment) repository names must be lowercase: 'Team'\n"
                f"  hint: use REGISTRY={registry.address}/team/reporting\n")
    for command in (["bake", "-f", str(p.matrix), "push", "--push"], ["sizes", "-f", str(p.matrix)]):
        result = bakegen(*command, cwd=p.dir, env=p.env(REGISTRY=wrong))
        assert (result.returncode, result.stderr) == (2, expected), command
