"""Adoption as a team does it: from their files to `docker buildx bake`.

Each case is a fixture under tests/adopt/ made from one of the five seed
setups (their Dockerfiles, compose files, a bake file for the scripts).
The test runs `bakegen import` or `bakegen init`, makes the edits the
command asks for (and no others), renders, and compares `docker buildx
bake --print` of the team's original file with that of the generated one:
the same Dockerfiles, targets, contexts, named contexts, platforms and tags.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from hypothesis import given
from hypothesis import strategies as st

from bakegen.adopt.draft import Draft
from bakegen.adopt.emit import emit
from buildx import bake_print, buildx_command

ADOPT = Path(__file__).resolve().parent / "adopt"
# BuildKit sets these per platform; the importer leaves them out on purpose.
AUTOMATIC = {"BUILDPLATFORM", "TARGETPLATFORM", "TARGETARCH"}


@pytest.fixture
def case(tmp_path):
    """Copy tests/adopt/NAME to a temporary folder of the same name; return the folder."""

    def make(name: str) -> Path:
        shutil.copytree(ADOPT / name, tmp_path / name)
        return tmp_path / name

    return make


@pytest.fixture(scope="module")
def buildx() -> list[str] | None:
    """The buildx command; None skips a test where it first compares (after import and render)."""
    return buildx_command()


def need(buildx: list[str] | None) -> list[str]:
    if buildx is None:
        pytest.skip("no buildx: set BAKEGEN_BUILDX to a docker-buildx plugin binary, or install docker buildx")
    return buildx


def adopt(run, folder: Path, *args: str, exit_code: int = 0) -> str:
    result = run(*args, cwd=folder)
    assert result.exit_code == exit_code, result.stdout + result.stderr
    return result.stdout


def renders(run, folder: Path, matrix: str = "matrix.yaml") -> None:
    result = run("render", "-f", matrix, cwd=folder)
    assert result.exit_code == 0, result.stderr
    assert run("check", "-f", matrix, cwd=folder).exit_code == 0


def build_of(folder: Path, target: dict) -> dict:
    """What a bake target builds, with paths made absolute so two files compare."""
    context = (folder / target["context"]).resolve()
    return {
        "dockerfile": (context / target.get("dockerfile", "Dockerfile")).resolve(),
        "context": context,
        "contexts": {k: (folder / v).resolve() for k, v in target.get("contexts", {}).items()},
        "args": {k: v for k, v in target.get("args", {}).items() if k not in AUTOMATIC},
    }


def tags(target: dict) -> list[str]:
    return [t if ":" in t.rsplit("/", 1)[-1] else f"{t}:latest" for t in target.get("tags", [])]


def compare(buildx, folder: Path, original: list[str], mapping: dict[str, str], *, env=None,
            final_stage: str | None = None) -> dict[str, tuple[dict, dict]]:
    """Assert each original target builds what its generated target builds; return both, by original name."""
    buildx = need(buildx)
    old = bake_print(buildx, folder, original, list(mapping), env)
    local = not any(t.get("platforms") for t in old.values())
    new = bake_print(buildx, folder, ["docker-bake.hcl"], list(mapping.values()),
                     {"LOCAL_PLATFORM": "true"} if local else None)
    # bake --print shows a compose file's paths as written, relative to that file's folder
    base = (folder / original[0]).parent
    for name, generated in mapping.items():
        o, n = old[name], new[generated]
        assert build_of(base, o) == build_of(folder, n), name
        assert (o.get("target") or final_stage or "") == (n.get("target") or ""), name  # "": the last stage
        if local:  # compose without `platforms` builds for this machine; so does LOCAL_PLATFORM=true
            assert len(n["platforms"]) == 1, name
        else:
            assert sorted(o["platforms"]) == sorted(n["platforms"]), name
    return {name: (old[name], new[mapping[name]]) for name in mapping}


# -- the five cases -----------------------------------------------------------


def test_case1_bake_file_with_an_architecture_per_deploy_target(case, run, buildx, snapshot):
    folder = case("deploy-targets")
    out = adopt(run, folder, "import", "docker-bake.hcl", exit_code=1)
    assert out.splitlines()[-2:] == [
        "edit before `bakegen render`:",
        "  move docker-bake.hcl away (e.g. `git mv docker-bake.hcl docker-bake.old.hcl`): bakegen writes its own "
        "docker-bake.hcl next to matrix.yaml and never overwrites one it did not write",
    ]
    (folder / "docker-bake.hcl").rename(folder / "docker-bake.old.hcl")
    renders(run, folder)
    assert (folder / "matrix.yaml").read_text() == snapshot
    built = compare(buildx, folder, ["docker-bake.old.hcl"],
                    {"lambda": "lambda-production", "eks": "eks-production", "apprunner": "apprunner-production"},
                    final_stage="runtime")
    for old, new in built.values():
        assert tags(old) == tags(new)
    # The arm64 group became a deploy target: asking it for amd64 is now an error.
    matrix = folder / "matrix.yaml"
    matrix.write_text(matrix.read_text().replace("    deploy: arm64\n", "    deploy: arm64\n    platforms: [linux/amd64]\n", 1))
    result = run("validate", cwd=folder)
    assert result.exit_code == 2
    assert "deploy target 'arm64' runs linux/arm64; 'linux/amd64' would fail there with 'exec format error'" \
        in result.stderr


def test_case2_compose_renders_with_no_edit(case, run, buildx, snapshot):
    folder = case("two-arch")
    # Its final stage has no name: the matrix says null, and bake builds the last stage as compose did.
    out = adopt(run, folder, "import", "docker-compose.multiplatform.yml")
    assert "name the final stage" not in out and "edit before" not in out
    assert "docker-compose.multiplatform.yml:9:9: build arg BUILDPLATFORM: BuildKit sets it for each platform it " \
           "builds; a fixed value would give every platform the same one" in out
    assert YAML(typ="safe").load(folder / "matrix.yaml")["services"]["lazybird"]["targets"] == {"production": None}
    renders(run, folder)
    assert {"matrix.yaml": (folder / "matrix.yaml").read_text(), "import": out} == snapshot
    built = compare(buildx, folder, ["docker-compose.multiplatform.yml"], {"lazybird": "lazybird-production"})
    old, new = built["lazybird"]
    # compose named one image per architecture (TARGETARCH unset: "latest-"); one multi-platform image now
    assert (tags(old), tags(new)) == (["lazybird:latest-"], ["lazybird:latest"])
    assert sorted(old["args"]) == ["BUILDPLATFORM", "TARGETARCH", "TARGETPLATFORM"] and "args" not in new


def test_case3_one_image_for_three_services_with_dev_and_prod_variants(case, run, buildx, snapshot):
    folder = case("one-image")
    # compose reads docker-compose.dev.yml and .prod.yml only when named with -f, and so does import
    alone = adopt(run, folder, "import", "docker-compose.yml", "-o", "alone.yaml")
    assert "  docker-compose.yml: docker-compose.dev.yml, docker-compose.prod.yml: compose reads these only when " \
           "named with -f, and so does import; `bakegen import docker-compose.yml docker-compose.dev.yml " \
           "docker-compose.prod.yml` takes the stages they build\n" in alone
    out = adopt(run, folder, "import", "docker-compose.yml", "docker-compose.dev.yml", "docker-compose.prod.yml")
    assert out.startswith("wrote matrix.yaml: 4 service(s), 2 stage(s) from docker-compose.yml, "
                          "docker-compose.dev.yml, docker-compose.prod.yml\n")
    renders(run, folder)
    assert (folder / "matrix.yaml").read_text() == snapshot
    services = {"api": "one-image-production", "app": "one-image-production", "scheduler": "one-image-production"}
    compare(buildx, folder, ["docker-compose.yml"], services, final_stage="production")
    compare(buildx, folder, ["docker-compose.yml", "docker-compose.dev.yml"],
            {k: "one-image-development" for k in services})
    compare(buildx, folder, ["docker-compose.yml", "docker-compose.prod.yml"], services)
    # Each service runs the one image under its own name, with its own command.
    prod = bake_print(need(buildx), folder, ["docker-compose.yml", "docker-compose.prod.yml"], list(services))
    generated = bake_print(buildx, folder, ["docker-bake.hcl"], [f"{s}-production" for s in services])
    for service in services:
        assert tags(prod[service]) == tags(generated[f"{service}-production"])
        assert generated[f"{service}-production"]["contexts"] == {"image-production": "target:one-image-production"}


def test_case4_go_lambda_bake_file_with_named_contexts(case, run, buildx, snapshot):
    folder = case("go-lambda")
    adopt(run, folder, "import", "-o", "matrix.yaml", "docker-bake.hcl", exit_code=1)
    (folder / "docker-bake.hcl").rename(folder / "docker-bake.old.hcl")
    renders(run, folder)
    text = (folder / "matrix.yaml").read_text()
    assert text == snapshot
    assert "    run_as_root: true\n" in text, "the Lambda base image runs as root; the import says so"
    built = compare(buildx, folder, ["docker-bake.old.hcl"], {"finalize": "finalize-production"})
    old, new = built["finalize"]
    assert tags(old) == tags(new) == ["123456789012.dkr.ecr.us-east-1.amazonaws.com/finalize-with-error:latest"]
    assert set(new["contexts"]) == {"logger", "schema"}


def test_case5_compose_with_a_stage_switch(case, run, buildx, snapshot):
    folder = case("bridge")
    adopt(run, folder, "import", "-o", "matrix.yaml", "deployment/docker-compose.bridge.yml")
    renders(run, folder)
    assert (folder / "matrix.yaml").read_text() == snapshot
    compose = ["deployment/docker-compose.bridge.yml"]
    for stage, env in (("development", None), ("production", {"BUILD_TARGET": "production"})):
        built = compare(buildx, folder, compose, {s: f"{s}-{stage}" for s in ("orchestrator", "reducer")}, env=env)
        for old, new in built.values():
            assert tags(old) == tags(new)


# -- init ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["deploy-targets", "two-arch", "one-image", "go-lambda", "bridge"])
def test_init_writes_a_matrix_that_renders(case, run, snapshot, name):
    folder = case(name)
    if (folder / "docker-bake.hcl").exists():  # init says to move it, and `import` is the better start
        (folder / "docker-bake.hcl").rename(folder / "docker-bake.old.hcl")
    out = adopt(run, folder, "init", ".", "-o", "init.yaml")
    assert out.splitlines()[-1] == "next: bakegen render -f init.yaml && docker buildx bake"
    renders(run, folder, "init.yaml")
    assert (folder / "init.yaml").read_text() == snapshot


def test_init_go_lambda_passes_shared_modules_as_named_contexts(case, run):
    folder = case("go-lambda")
    out = adopt(run, folder, "init", "-o", "init.yaml", exit_code=1)
    assert "  move docker-bake.hcl away (e.g. `git mv docker-bake.hcl docker-bake.old.hcl`)" in out
    from bakegen import build_plan

    target = build_plan(folder / "init.yaml").target("finalize-production")
    assert target.contexts == {"logger": "./shared/logger", "schema": "./shared/schema"}


def test_init_and_import_never_overwrite_a_matrix(case, run):
    folder = case("bridge")
    (folder / "matrix.yaml").write_text("mine\n")
    for args in (["init"], ["import", "-o", "matrix.yaml", "deployment/docker-compose.bridge.yml"]):
        result = run(*args, cwd=folder)
        assert result.exit_code == 2
        assert result.stderr == ("matrix.yaml: matrix.yaml exists; bakegen never overwrites a matrix\n"
                                 "  hint: remove or rename it, or write elsewhere with -o FILE\n")
    assert (folder / "matrix.yaml").read_text() == "mine\n"


def test_a_file_that_is_not_yaml_is_located(tmp_path, run):
    (tmp_path / "docker-compose.yml").write_text("services:\n  api:\n    build: [\n")
    result = run("import", "docker-compose.yml", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith("docker-compose.yml:4:1: YAML syntax error")
    assert not (tmp_path / "matrix.yaml").exists()


# -- the writer ------------------------------------------------------------------


@given(st.dictionaries(st.text(min_size=1), st.one_of(st.text(), st.lists(st.text(), max_size=3)), max_size=4))
def test_emitted_yaml_reads_back_as_written(values):
    text = emit(Draft(data={"services": {"api": {"env": values}}}, header=["any"]))
    assert text.startswith("# any\n")  # emit checks the text reads back as the data


def test_emitted_yaml_quotes_what_would_read_differently():
    draft = Draft(data={"env": {"A": "yes", "B": "1", "C": "a: b", "D": "{registry}", "E": "#x", "F": "plain text"},
                        "list": ["on", "--flag", "x,y", "ok"]})
    assert emit(draft) == (
        "env:\n"
        '  A: "yes"\n  B: "1"\n  C: "a: b"\n  D: "{registry}"\n  E: "#x"\n  F: plain text\n'
        "\n"
        'list: ["on", "--flag", "x,y", ok]\n'
    )


# -- pieces ----------------------------------------------------------------------


def test_compose_profile_that_builds_another_stage_is_that_stage(tmp_path, run):
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim AS development\n"
                                         "FROM python:3.12-slim AS production\nUSER 10001\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  api:\n    build: {context: ., target: production}\n    image: r.example.com/shop/api:2.0\n"
        "  api-dev:\n    build: {context: ., target: development}\n    profiles: [dev]\n"
        "  worker:\n    extends: {file: common.yml, service: base}\n    build: worker\n")
    (tmp_path / "worker").mkdir()
    (tmp_path / "worker/Dockerfile").write_text("FROM python:3.12-slim AS worker\nUSER 10001\n")
    result = run("import", "compose.yaml", cwd=tmp_path)
    assert result.exit_code == 0, result.stdout
    assert "  compose.yaml:7:5: service 'api-dev' (profiles [dev]) builds stage development of api's Dockerfile: " \
           "it is that stage of api" in result.stdout
    assert "  compose.yaml:9:5: extends: not followed; copy the build settings it brings into this service" \
        in result.stdout
    from bakegen import build_plan

    plan = build_plan(tmp_path / "matrix.yaml")
    assert [(t.name, t.target) for t in plan.targets if t.service == "api"] == [
        ("api-development", "development"), ("api-production", "production")]
    from bakegen.model.plan import display

    assert [display(tag) for tag in plan.target("api-production").tags] == ["${REGISTRY}/api:${TAG}"]
    assert [(v.name, v.default) for v in plan.variables[:2]] == [("REGISTRY", "r.example.com/shop"), ("TAG", "2.0")]


def test_bake_json_is_read_like_hcl(case, run):
    folder = case("go-lambda")
    (folder / "docker-bake.json").write_text(
        '{"target": {"finalize": {"context": "functions/finalize", "target": "runtime",\n'
        '  "contexts": {"logger": "shared/logger", "schema": "shared/schema"}, "platforms": ["linux/arm64"]}}}\n')
    (folder / "docker-bake.hcl").unlink()
    assert run("import", "docker-bake.json", cwd=folder).exit_code == 0
    renders(run, folder)


def test_unreadable_bake_file_is_located(tmp_path, run):
    (tmp_path / "docker-bake.hcl").write_text('target "a" {\n  context = \n}\n')
    result = run("import", "docker-bake.hcl", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith("docker-bake.hcl:2:13: cannot read this bake file: Unexpected token")


@pytest.mark.parametrize("text, expected", [
    ("${TAG:-1.0}", ("1.0", ["`${TAG:-1.0}` taken as '1.0' (its default; the environment is not read)"])),
    ("a-${X}-$$b", ("a--$b", ["`${X}` taken as the empty string (its default; the environment is not read)"])),
    ("$HOME/x", ("/x", ["`$HOME` taken as the empty string (its default; the environment is not read)"])),
    ("${A:-${B:-x}}", ("x", ["`${A:-${B:-x}}` taken as 'x' (its default; the environment is not read)"])),
    ("${A:+set}", ("", ["`${A:+set}` taken as the empty string (its default; the environment is not read)"])),
    ("plain", ("plain", [])),
])
def test_compose_variables_take_their_defaults(text, expected):
    from bakegen.adopt.interpolate import interpolate

    assert interpolate(text)[:2] == expected
    assert interpolate(text)[2] == []


def test_required_compose_variables_are_not_the_empty_default():
    from bakegen.adopt.interpolate import Required, interpolate

    assert interpolate("${REGISTRY:?set it}/api:${TAG?}", lambda r: f"<{r.name}>") == (
        "<REGISTRY>/api:<TAG>", [],
        [Required("REGISTRY", "${REGISTRY:?set it}", "set it"), Required("TAG", "${TAG?}", "")])
    assert interpolate("${A:-${B:?no B}}")[1:] == ([], [Required("B", "${B:?no B}", "no B")])


def test_required_variables_become_bake_variables_or_edits(case, run):
    """`${VAR:?msg}` is compose's "required": in an image's registry or tag it becomes the
    bake variable REGISTRY or TAG; in the image's own name, the tag scheme names it; in a
    build arg, the value is asked for. Never an empty repository or an empty arg."""
    folder = case("required-vars")
    out = adopt(run, folder, "import", "compose.yaml", exit_code=1)
    assert out.split("edit before `bakegen render`:\n", 1)[1] == (
        "  compose.yaml:7:9: build arg APP_VERSION is `${APP_VERSION:?set APP_VERSION to the release}`: compose "
        "requires APP_VERSION from the environment; give services.api.args.APP_VERSION in matrix.yaml the value "
        "it should have\n")
    assert "  compose.yaml:9:5: `${TAG:?set TAG}`: compose requires TAG from the environment; the bake variable TAG " \
           "takes its place (`TAG=... docker buildx bake`)\n" in out
    assert "  compose.yaml:14:5: image ${WORKER_IMAGE:?}: its name comes from `${WORKER_IMAGE:?}`, which compose " \
           "requires from the environment; worker's image is named by the tag scheme (set `tags` to name it " \
           "yourself)\n" in out
    matrix = folder / "matrix.yaml"
    matrix.write_text(matrix.read_text().replace('      PYTHON_VERSION: "3.12"\n',
                                                 '      PYTHON_VERSION: "3.12"\n      APP_VERSION: "2.0"\n'))
    renders(run, folder)
    from bakegen import build_plan
    from bakegen.model.plan import display

    plan = build_plan(matrix)
    assert [(v.name, v.default) for v in plan.variables[:2]] == [("REGISTRY", "localhost:5000/shop"), ("TAG", "latest")]
    assert [display(t) for t in plan.target("api-production").tags] == ["${REGISTRY}/api:${TAG}"]
    assert [display(t) for t in plan.target("worker-production").tags] == ["${REGISTRY}/worker:${TAG}"]


@pytest.mark.parametrize("ref, registry, tag, expected", [
    ("registry.example.com/shop/api:1.4", "registry.example.com/shop", "1.4", "{registry}/{service}:{tag}"),
    ("registry.example.com/shop/web:1.4", "registry.example.com/shop", "1.4", "{registry}/web:{tag}"),
    ("lazybird", None, None, "lazybird:{tag}"),  # `latest` is TAG's default: TAG applies to it
    ("lazybird:latest", None, "1.0", "lazybird:latest"),
    ("localhost:5000/api:production", "localhost:5000", None, "{registry}/{service}:{stage}"),
    ("other.example.com/api:1.4-production", "registry.example.com", "1.4", "other.example.com/{service}:{tag}-{stage}"),
])
def test_image_names_become_tag_schemes(ref, registry, tag, expected):
    from bakegen.adopt.images import ImageRef, scheme

    assert scheme(ImageRef.parse(ref), "api", "production", registry, tag) == expected


def test_init_finds_go_tests_in_any_package_of_the_module(tmp_path, run):
    """`go test ./...` runs the tests of every package, so a module with tests only below
    its root still gets a test stage; a nested module's or vendored tests do not count."""
    (tmp_path / "cmd/server").mkdir(parents=True)
    (tmp_path / "go.mod").write_text("module example.com/svc\n\ngo 1.24\n")
    (tmp_path / "cmd/server/main.go").write_text("package main\n\nfunc main() {}\n")
    (tmp_path / "vendor/x").mkdir(parents=True)
    (tmp_path / "vendor/x/x_test.go").write_text("package x\n")
    result = run("init", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert "stages: [production]\n" in (tmp_path / "matrix.yaml").read_text()
    (tmp_path / "matrix.yaml").unlink()
    (tmp_path / "internal/greet").mkdir(parents=True)
    (tmp_path / "internal/greet/greet_test.go").write_text("package greet\n")
    result = run("init", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert "stages: [test, production]\n" in (tmp_path / "matrix.yaml").read_text()


# -- adoption in one round -------------------------------------------------------


def test_import_resolves_what_it_can_and_lists_each_edit_once(case, run):
    """Validated in memory before writing: the root stages get `run_as_root` (also the final
    stage that has no name yet), the second build under one image name gets a name of its
    own, and what needs the user is listed once, all at once."""
    folder = case("rounds")
    # Nothing is left for the user: the final stage needs no name (null: the last stage).
    out = adopt(run, folder, "import", "docker-compose.yml")
    assert "edit before" not in out
    assert "  docker-compose.yml:6: image acme/shop:2.1 is also web's, which builds something else (the last build " \
           "would take the name, and bake refuses two targets with one): worker's image is named by the tag scheme " \
           "instead\n" in out
    text = (folder / "matrix.yaml").read_text()
    assert text.count("    run_as_root: true\n") == 2
    assert "    # Dockerfile: its last stage ends as root, which bakegen refuses to push\n" in text
    renders(run, folder)
    from bakegen import build_plan
    from bakegen.model.plan import display

    plan = build_plan(folder / "matrix.yaml")
    assert [display(t) for t in plan.target("web-production").tags] == ["${REGISTRY}/shop:${TAG}"]
    assert [display(t) for t in plan.target("worker-production").tags] == ["${REGISTRY}/worker:${TAG}-production"]


def test_import_puts_the_matrix_where_every_context_is(case, run):
    folder = case("bridge")
    out = adopt(run, folder, "import", "deployment/docker-compose.bridge.yml")
    assert out.startswith("wrote matrix.yaml: 2 service(s), 2 stage(s) from deployment/docker-compose.bridge.yml\n")
    assert "  deployment/docker-compose.bridge.yml: the matrix is matrix.yaml, not beside docker-compose.bridge.yml: " \
           "the build contexts it names reach up to that folder, and a matrix's paths stay inside its own\n" in out
    renders(run, folder)


def test_a_compose_file_that_builds_nothing_is_said_so(tmp_path, run):
    (tmp_path / "compose.yaml").write_text("services:\n  db:\n    image: postgres:16\n  cache:\n    image: redis:7\n")
    result = run("import", "compose.yaml", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        "compose.yaml: no service of compose.yaml builds an image (services: db, cache); bakegen builds images from "
        "Dockerfiles, so there is nothing to import\n"
        "  hint: services with `build:` are imported; those that only run an image (`image: postgres:16`) stay in "
        "compose\n")
    assert not (tmp_path / "matrix.yaml").exists()


def test_variants_are_read_as_compose_reads_them(tmp_path, run):
    """compose merges docker-compose.override.yml over docker-compose.yml on its own; any other
    file only with -f. An images file must not rename what the project pushes."""
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim AS development\n"
                                         "FROM python:3.12-slim AS production\nUSER 10001\n")
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  api:\n    build: {context: ., target: production}\n    image: r.example.com/shop/api:1.0\n"
        "    environment:\n      - =novalue\n")
    (tmp_path / "docker-compose.override.yml").write_text("services:\n  api:\n    build: {target: development}\n")
    (tmp_path / "docker-compose.images.yml").write_text("services:\n  api:\n    image: mirror.example.com/api:x\n")
    out = adopt(run, tmp_path, "import", "docker-compose.yml")
    assert out.startswith("wrote matrix.yaml: 1 service(s), 2 stage(s) from docker-compose.yml, "
                          "docker-compose.override.yml\n")
    assert "  docker-compose.yml: docker-compose.images.yml: compose reads it only when named with -f, and so does " \
           "import; `bakegen import docker-compose.yml docker-compose.images.yml` takes the stages it builds\n" in out
    assert "  docker-compose.yml:5:5: environment '=novalue': it has no name; it stays in compose\n" in out
    assert "secret" not in out
    # The development stage the override builds does not take the published name (item 5).
    assert "  docker-compose.override.yml:3:5: stage development has no image name of its own here " \
           "(r.example.com/shop/api:1.0 is the pushed stage's): the tag scheme names it\n" in out
    from bakegen import build_plan
    from bakegen.model.plan import display

    plan = build_plan(tmp_path / "matrix.yaml")
    assert [display(t) for t in plan.target("api-production").tags] == ["${REGISTRY}/api:${TAG}"]
    assert [display(t) for t in plan.target("api-development").tags] == ["${REGISTRY}/api:${TAG}-development"]


def test_init_names_services_after_their_folders(case, run):
    folder = case("templates")
    adopt(run, folder, "init")
    from bakegen import build_plan

    services = {t.service for t in build_plan(folder / "matrix.yaml").targets}
    assert services == {"flask-backend", "fastapi-backend", "go-backend", "frontend"}
    assert "runtime: python" not in (folder / "matrix.yaml").read_text().split("  go-backend:")[0].rsplit("\n\n", 1)[1]


def test_import_keeps_what_the_original_ships(case, run, snapshot):
    """The stage a Dockerfile ships is production, pushed, under the published name, also
    when compose builds only a development stage, or the Dockerfile ends with a dev
    environment (`dev-envs`); a compose test harness is a test stage, never pushed."""
    folder = case("keep-stages")
    out = adopt(run, folder, "import", "docker-compose.yml")
    renders(run, folder)
    assert {"matrix.yaml": (folder / "matrix.yaml").read_text(), "import": out} == snapshot
    from bakegen import build_plan
    from bakegen.model.plan import display

    plan = build_plan(folder / "matrix.yaml")
    built = {t.name: (t.target, t.push, [display(x) for x in t.tags]) for t in plan.targets}
    assert built == {
        "web-development": ("development", False, ["${REGISTRY}/web:${TAG}-development"]),
        "web-production": ("final", True, ["${REGISTRY}/web:${TAG}"]),
        "worker-development": ("dev-envs", False, ["${REGISTRY}/worker:${TAG}-development"]),
        "worker-production": ("builder", True, ["${REGISTRY}/worker:${TAG}"]),
        "web-tests-test": ("tests", False, ["${REGISTRY}/web-tests:${TAG}-test"]),
    }


def test_init_keeps_the_final_stage_as_production(case, run):
    folder = case("keep-stages")
    adopt(run, folder, "init", "-o", "init.yaml")
    from bakegen import build_plan

    plan = build_plan(folder / "init.yaml")  # web is a Python project: bakegen generates its Dockerfile
    assert {t.name: (t.target, t.push) for t in plan.targets if t.service == "worker"} == {
        "worker-development": ("dev-envs", False), "worker-production": ("builder", True)}
    assert "  # Its final stage 'dev-envs' is a development environment; production is 'builder'.\n" \
        in (folder / "init.yaml").read_text()


def test_untagged_images_follow_tag(tmp_path, run):
    for name in ("api", "web", "jobs"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_text("FROM python:3.12-slim AS app\nUSER 10001\n")
    (tmp_path / "compose.yaml").write_text("services:\n" + "".join(
        f"  {n}:\n    build: {n}\n    image: acme/{n}\n" for n in ("api", "web", "jobs")))
    adopt(run, tmp_path, "import", "compose.yaml")
    from bakegen import build_plan
    from bakegen.model.plan import display

    plan = build_plan(tmp_path / "matrix.yaml")
    assert [display(t) for x in plan.targets for t in x.tags] == [f"${{REGISTRY}}/{n}:${{TAG}}" for n in ("api", "web", "jobs")]


def test_platforms_are_never_widened_silently(case, run):
    """compose's `platform:`, a literal GOARCH, and a go build on the build machine that
    reads no TARGETARCH each keep the service to one platform, said at the line; a stage
    pinned for platform-neutral files (web assets) is said, not limited."""
    folder = case("pinned")
    out = adopt(run, folder, "import", "compose.yaml")
    assert "  goamd/Dockerfile:4: GOARCH=amd64 compiles for linux/amd64 only, so goamd builds linux/amd64 only (the " \
           "old setup built for the machine it ran on): an image for another platform would hold linux/amd64 " \
           "files\n" in out
    assert "  gosvc/Dockerfile:4: `go build` runs on the build machine (FROM --platform=$BUILDPLATFORM) and reads " \
           "no TARGETARCH: it compiles for the machine that builds; gosvc builds linux/amd64 only" in out
    assert "  web/Dockerfile:1: FROM --platform=linux/amd64: stage assets runs on linux/amd64 for every target " \
           "platform; right for platform-neutral files, wrong for binaries\n" in out
    renders(run, folder)
    from bakegen import build_plan

    plan = build_plan(folder / "matrix.yaml")
    assert {t.service: t.platforms for t in plan.targets} == {
        "legacy": ("linux/amd64",), "gosvc": ("linux/amd64",), "goamd": ("linux/amd64",),
        "web": ("linux/amd64", "linux/arm64")}


def test_init_takes_the_command_the_project_runs(case, run, tmp_path):
    """From a compose service built from the folder, else the project's Dockerfile (CMD and
    ENTRYPOINT), else the ASGI or WSGI app it defines, served by the server it installs."""
    folder = case("templates")
    adopt(run, folder, "init")
    renders(run, folder)
    text = (folder / "matrix.yaml").read_text()
    assert "    # From app/main.py (FastAPI, ASGI); CHANGE it if the container runs another.\n" \
           "    command: [uvicorn, app.main:app, \"--host\", 0.0.0.0, \"--port\", \"8000\"]\n" \
           "    port: 8000\n" in text
    assert "    # From wsgi.py (Flask, WSGI); CHANGE it if the container runs another.\n" \
           "    command: [gunicorn, \"--bind\", 0.0.0.0:8000, wsgi:app]\n" in text

    project = tmp_path / "svc"
    project.mkdir()
    (project / "requirements.txt").write_text("gunicorn==23.0.0\n")
    (project / "wsgi.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    (project / "Dockerfile").write_text(
        "FROM python:3.12-slim AS base\nENTRYPOINT [\"/opt/venv/bin/gunicorn\"]\n"
        "FROM base AS production\nCMD [\"--bind\", \"0.0.0.0:9000\", \"wsgi:app\"]\n")
    adopt(run, project, "init", "-o", "a.yaml")
    assert "    # From Dockerfile:4; CHANGE it if the container runs another.\n" \
           "    command: [gunicorn, \"--bind\", 0.0.0.0:9000, wsgi:app]\n    port: 9000\n" \
        in (project / "a.yaml").read_text()
    (project / "compose.yaml").write_text("services:\n  web:\n    build: .\n    command: gunicorn -b :7000 wsgi:app\n")
    adopt(run, project, "init", "-o", "b.yaml")
    assert "    # From compose.yaml:4; CHANGE it if the container runs another.\n" \
           "    command: [gunicorn, \"-b\", \":7000\", wsgi:app]\n    port: 7000\n" in (project / "b.yaml").read_text()


@pytest.mark.parametrize("specs, pinned, expected", [
    ([">=3.9"], None, ("3.14", False)),  # the newest allowed, not the lowest bound
    ([">=3.9,<3.13"], None, ("3.12", False)),
    (["^3.10"], None, ("3.14", False)),
    (["~3.10"], None, ("3.10", True)),  # only an end-of-life release fits: said so
    (["==3.11.*"], None, ("3.11", False)),
    (["!=3.14.*,>=3.10"], None, ("3.13", False)),
    ([">=3.9", ">=3.9,<3.13"], None, ("3.12", False)),  # requires-python and the lock's own
    ([">=3.9"], "3.11.4", ("3.11", False)),  # .python-version, while supported
    ([">=3.9"], "3.9", ("3.14", False)),  # an end-of-life pin when a supported release fits
    ([], None, ("3.14", False)),
])
def test_init_builds_with_the_newest_python_the_project_allows(specs, pinned, expected):
    from bakegen.adopt.versions import python_version

    assert python_version(specs, pinned) == expected


def test_a_locked_package_without_wheels_for_a_release_rules_it_out():
    from bakegen.adopt.versions import python_version

    wheels = {"pydantic-core": ["pydantic_core-2.10.1-cp312-cp312-manylinux_2_17_x86_64.whl",
                                "pydantic_core-2.10.1-cp313-cp313-manylinux_2_17_x86_64.whl"],
              "six": ["six-1.16.0-py2.py3-none-any.whl"], "orjson": ["orjson-3.10-cp38-abi3-manylinux_2_17_x86_64.whl"],
              "docopt": []}
    assert python_version([">=3.9"], wheels=wheels) == ("3.13", False)


@pytest.mark.parametrize("line, toolchain, expected", [
    ("1.27", None, ("1.27", False)), ("1.26", None, ("1.26", False)),
    ("1.21", None, ("1.26", True)),  # end of life: the oldest supported release builds it too
    ("1.22", "1.27", ("1.27", False)), ("1.29", None, ("1.29", False)),  # newer than bakegen knows: as written
])
def test_init_builds_go_with_a_supported_release_of_the_go_line(line, toolchain, expected):
    from bakegen.adopt.versions import go_version

    assert go_version(line, toolchain) == expected


def test_init_names_supported_images(case, run):
    folder = case("templates")
    adopt(run, folder, "init")
    text = (folder / "matrix.yaml").read_text()
    assert "  # go.mod says go 1.21 (the oldest Go it builds with), which is end of life; Go 1.26 builds it too.\n" \
           "  go: golang:1.26-bookworm\n" in text
    assert "  python: python:3.14-slim-bookworm\n" in text
