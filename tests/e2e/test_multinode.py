"""One buildx builder with a node per architecture builds the example's push group.

docs/scaling.md ("One builder, a node per architecture") tells a team that
outgrows one machine to give one builder a native node per architecture.
Here that builder is two engines beside the suite's own: private dockerds
(engine.py, `instance`) with their own image stores and build caches, node
`amd64` declared `--platform linux/amd64` and node `arm64` declared
`--platform linux/arm64`, in one builder with buildx's `remote` driver, each
node on its engine's BuildKit (buildkit.py).

Why `remote`: the `docker` driver has one node and takes no `--append`;
`docker-container` needs the moby/buildkit image from a registry (none is
reachable here); `kubernetes` needs a cluster. `remote` connects to a
BuildKit that already runs: a team's own buildkitd on each machine, or here
the one each engine has built in.

This machine is amd64 and no emulation is registered, so node `arm64` is an
amd64 BuildKit that buildx sends linux/arm64 to because it declares it. The
arm64 stand-in base images hold arm64 binaries that cannot run here: a RUN
step executed on linux/arm64 fails (`exec format error`), so a build that
succeeds ran none. Both nodes' build platform ($BUILDPLATFORM) is
linux/amd64; on a real arm64 machine node `arm64`'s would be linux/arm64.

The generated files are built unchanged (the harness file adds only host
networking), against the suite's loopback registry:

1. `docker buildx bake --builder multinode push --push`, caches exported, on
   two cold nodes: every tag is an index of exactly its planned platforms
   (Lambda: one manifest); each engine's build records show that it built
   its platform and no other; no RUN step executed on linux/arm64. A
   target's registry cache is one ref for all its platforms, which each node
   exports and the last one overwrites (docker/buildx#1044): afterwards it
   holds the layers of one platform's image only.
2. The same push on one node (builder `onenode`: engine `amd64` alone, its
   cache emptied) to a namespace of its own: the one-node time beside the
   two-node one.
3. Both nodes' caches emptied, `bakegen bake push --builder multinode --push`
   reading the cache the one-node push wrote: bakegen names the node of each
   platform, and node `arm64`, whose own cache is empty and which wrote
   nothing there, takes every RUN step from what node `amd64` exported.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from buildkit import Node, remote_builder
from engine import Engine, EngineError
from harness import HARNESS_FILE, REPO, TAG, Build, Project, bakegen, copy_project
from registry import Registry, is_attestation
from standins import SBOM_SCANNER, StandIns, from_images

from bakegen.model.plan import Target, Var
from bakegen.tools.buildx import parse_inspect

NODES = {"amd64": "linux/amd64", "arm64": "linux/arm64"}  # node name -> the platform it declares
BUILDER = "multinode"
DOCS = REPO / "docs" / "scaling.md"
SECTION = "## One builder, a node per architecture"
# What the test adds to the documented commands: this machine's networking and the logs it reads.
HARNESS_ARGS = ("-f", HARNESS_FILE, "--allow=network.host", "--progress=plain")


@dataclass
class Push:
    """One push of the example: its bake run, and per node the build records it left there."""

    build: Build
    registry: str  # REGISTRY of the run
    nodes: dict[str, Engine]
    records: dict[str, dict[str, dict]]  # node -> ref -> `buildx history inspect` JSON
    _logs: dict[str, list[Build]] = field(default_factory=dict)

    def built(self) -> dict[str, dict[str, list[str]]]:
        """node -> service -> the platforms its build records on that node name."""
        out: dict[str, dict[str, list[str]]] = {node: {} for node in self.nodes}
        for node, records in self.records.items():
            for record in records.values():
                out[node].setdefault(label(record, "org.opencontainers.image.title"), []).extend(record["Platform"])
        return out

    def logs(self, node: str) -> list[Build]:
        """Each build of this run on `node`, with the plain log its engine's BuildKit kept of it."""
        if node not in self._logs:
            self._logs[node] = [Build([ref], 0, self.nodes[node].build_log(ref), {}, 0) for ref in self.records[node]]
        return self._logs[node]

    def builds(self, node: str) -> dict[str, Build]:
        """service -> its build of this run on `node` (one a node: each builds one platform)."""
        return {label(record, "org.opencontainers.image.title"): build
                for record, build in zip(self.records[node].values(), self.logs(node))}

    def steps(self, node: str, cached: bool) -> list[str]:
        """The steps that came from the cache (`cached`) or ran, of every build of this run on `node`."""
        return [s for b in self.logs(node) for s in (b.cached_steps() if cached else b.executed_steps())]


def label(record: dict, name: str) -> str | None:
    return next((x.get("Value") for x in record.get("Labels", []) if x["Name"] == name), None)


@pytest.fixture(scope="module")
def example(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A rendered copy of the example, built through node `amd64`'s engine (which `nodes` starts)."""
    matrix = copy_project("example", tmp_path_factory.mktemp("multinode") / "example")
    return Project("example", matrix, Engine(instance=f"node-amd64-{os.getpid()}"), registry.address)


def base_images(p: Project) -> list[str]:
    """Every image the example's Dockerfiles start FROM (not the named contexts bake gives them),
    and BuildKit's SBOM scanner."""
    contexts = {name for t in p.plan.targets for name in t.contexts}
    return sorted({SBOM_SCANNER} | {ref for t in p.plan.targets for ref in from_images(p.dir / t.context / t.dockerfile)
                                    if ref not in contexts})


@pytest.fixture(scope="module")
def nodes(engine: Engine, standins: list[str], example: Project) -> Iterator[dict[str, Engine]]:
    """Two private engines, one per node, with the shared engine's stand-ins copied in: the same
    base images, digest for digest, as two machines that pull them from one registry have."""
    engines = {name: example.engine if name == "amd64" else Engine(instance=f"node-{name}-{os.getpid()}")
               for name in NODES}
    refs = base_images(example)
    with ThreadPoolExecutor(max_workers=len(engines)) as pool:
        try:
            for e in engines.values():
                e.start()
            list(pool.map(lambda e: StandIns(e).ensure(refs, source=engine), engines.values()))
        except EngineError as exc:
            list(pool.map(Engine.remove, engines.values()))
            pytest.fail(f"the engines of the multi-node builder could not be started:\n{exc}", pytrace=False)
        try:
            for name, e in engines.items():
                missing = [ref for ref in refs if not StandIns(e).present(ref)]
                assert not missing, f"node {name} lacks {missing}"
            yield engines
        finally:
            list(pool.map(Engine.remove, engines.values()))  # both at once: each takes a while


@pytest.fixture(scope="module")
def prefix(registry: Registry) -> str:
    """A registry namespace of this module's own, e.g. 127.0.0.1:5000/3f9a1c0b7e."""
    return f"{registry.address}/{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def multinode(nodes: dict[str, Engine]) -> Iterator[tuple[dict[str, str], list[list[str]]]]:
    """(environment, the commands that made it) of builder `multinode`: a node per platform."""
    commands: list[list[str]] = []
    try:
        with remote_builder([Node(nodes[name], platform, name) for name, platform in NODES.items()], BUILDER,
                            commands) as env:
            yield env, commands
    except EngineError as exc:
        pytest.fail(f"no multi-node builder:\n{exc}", pytrace=False)


def records_now(nodes: dict[str, Engine]) -> dict[str, set[str]]:
    return {name: set(e.build_records()) for name, e in nodes.items()}


def records_since(nodes: dict[str, Engine], before: dict[str, set[str]]) -> dict[str, dict[str, dict]]:
    return {name: {ref: r for ref, r in e.build_records().items() if ref not in before[name]}
            for name, e in nodes.items()}


def push(p: Project, nodes: dict[str, Engine], builder_env: dict[str, str], builder: str, registry: str) -> Push:
    """`docker buildx bake --builder BUILDER push --push`, caches exported, with REGISTRY=`registry`."""
    before = records_now(nodes)
    build = p.bake("--builder", builder, "push", "--push", REGISTRY=registry, CACHE_EXPORT="true",
                   DOCKER_CONFIG=builder_env["DOCKER_CONFIG"])
    assert build.returncode == 0, build.failure()
    print(f"\n{builder}: push --push of the example in {build.seconds:.0f} s")
    return Push(build, registry, nodes, records_since(nodes, before))


@pytest.fixture(scope="module")
def two_nodes(example: Project, nodes: dict[str, Engine], multinode, prefix: str) -> Push:
    """The push on builder `multinode`, both nodes cold."""
    env, _ = multinode
    return push(example, nodes, env, BUILDER, f"{prefix}/two-nodes/example")


@pytest.fixture(scope="module")
def one_node(example: Project, nodes: dict[str, Engine], prefix: str, two_nodes: Push) -> Push:
    """The same push on one node: engine `amd64` alone, its cache emptied, to a namespace of its own."""
    nodes["amd64"].prune_build_cache()
    with remote_builder([Node(nodes["amd64"])], "onenode") as env:
        return push(example, nodes, env, "onenode", f"{prefix}/one-node/example")


@pytest.fixture(scope="module")
def cache_read(example: Project, nodes: dict[str, Engine], multinode, one_node: Push) -> tuple[str, Push]:
    """(bakegen's messages, the run) of `bakegen bake push --builder multinode --push` on two
    emptied nodes, reading the cache the one-node push wrote."""
    env, _ = multinode
    for e in nodes.values():
        e.prune_build_cache()
    before = records_now(nodes)
    metadata = example.dir / "metadata.json"
    metadata.unlink(missing_ok=True)
    command = ["bake", "-f", str(example.matrix), "push", "--builder", BUILDER, "--push", *HARNESS_ARGS,
               "--metadata-file", str(metadata)]
    start = time.monotonic()
    result = bakegen(*command, cwd=example.dir,
                     env=example.env(REGISTRY=one_node.registry, DOCKER_CONFIG=env["DOCKER_CONFIG"]))
    build = Build(["bakegen", *command], result.returncode, result.stderr,
                  json.loads(metadata.read_text()) if metadata.is_file() else {}, time.monotonic() - start)
    assert result.returncode == 0, build.failure()
    print(f"\n{BUILDER}: bakegen bake push --push from the registry cache in {build.seconds:.0f} s")
    return result.stderr, Push(build, one_node.registry, nodes, records_since(nodes, before))


def pushed_platforms(p: Project) -> dict[str, tuple[str, ...]]:
    """service -> the platforms its pushed target builds."""
    return {t.service: tuple(sorted(t.platforms)) for t in p.plan.targets if t.push}


def expand(value, registry: str) -> str:
    return "".join({"REGISTRY": registry, "TAG": TAG}[x.name] if isinstance(x, Var) else x for x in value)


def cache_ref(t: Target, registry: str) -> str:
    """repository:tag of the registry cache `t` reads (its cache-from), without the registry host."""
    ref = dict(kv.split("=", 1) for kv in expand(t.cache_from[0], registry).split(","))["ref"]
    return ref.split("/", 1)[1]


def test_the_builder_has_a_node_per_platform_and_nothing_emulates(multinode):
    env, _ = multinode
    inspect = Engine().docker("buildx", "inspect", BUILDER, env=env).stdout
    name, driver, found = parse_inspect(inspect)
    assert (name, driver) == (BUILDER, "remote")
    assert [(n.name, n.declared) for n in found] == [(node, (platform,)) for node, platform in NODES.items()]
    assert all(n.status == "running" for n in found), inspect
    # Each BuildKit reports this machine's platforms only: node arm64 has linux/arm64 by declaration alone.
    assert all(not p.startswith("linux/arm") for n in found for p in n.platforms if p not in n.declared), inspect
    handlers = Path("/proc/sys/fs/binfmt_misc")
    registered = [h.name for h in handlers.iterdir() if h.name not in ("register", "status")] \
        if handlers.is_dir() else []
    assert not [h for h in registered if re.search(r"aarch64|arm", h)], f"emulation is registered: {registered}"


def test_every_tag_is_an_index_of_its_planned_platforms(two_nodes: Push, example: Project, registry: Registry):
    pushed = [t for t in example.plan.targets if t.push]
    assert pushed and sorted(two_nodes.build.metadata) == sorted(t.name for t in pushed)
    for t in pushed:
        for i in range(len(t.tags)):
            ref = example.tag(t, i, two_nodes.registry)
            kind, platforms = registry.image(ref)
            assert platforms == tuple(sorted(t.platforms)), ref
            assert kind == ("manifest" if t.single_manifest else "index"), ref
            if kind == "index":
                # buildx merged each node's image, with its attestations, into one index.
                repository, _, tag = ref.removeprefix(registry.address + "/").rpartition(":")
                _, index = registry.manifest(repository, tag)
                images = {m["digest"] for m in index["manifests"] if not is_attestation(m)}
                attested = {m["annotations"]["vnd.docker.reference.digest"]
                            for m in index["manifests"] if is_attestation(m)}
                assert attested == images, ref


def test_each_platform_builds_on_its_node_and_only_there(two_nodes: Push, example: Project):
    built = two_nodes.built()
    planned = pushed_platforms(example)
    for node, platform in NODES.items():
        assert {p for platforms in built[node].values() for p in platforms} == {platform}, (node, built[node])
        assert sorted(built[node]) == sorted(s for s, platforms in planned.items() if platform in platforms)
        assert all(len(platforms) == 1 for platforms in built[node].values()), (node, built[node])
    # No RUN step executed on linux/arm64 (on node arm64 it would have failed: exec format error),
    # and node arm64 ran its cross-compiling steps on its build platform.
    assert two_nodes.build.arm64_runs() == []
    assert [run for b in two_nodes.logs("arm64") for run in b.arm64_runs()] == []
    assert any(step.startswith("[linux/amd64->arm64 ") and "] RUN " in step
               for step in two_nodes.steps("arm64", cached=False))
    # A step the same for every platform (a build-platform stage that reads no TARGET* argument)
    # ran on each node: one builder of two nodes builds it twice, one node once.
    same = {step for step in two_nodes.steps("arm64", cached=False) if step.startswith("[linux/amd64 ")}
    assert any("] RUN " in step for step in same & set(two_nodes.steps("amd64", cached=False)))


def test_a_targets_cache_keeps_one_nodes_platform(two_nodes: Push, example: Project, registry: Registry):
    """Each node exported the target's one cache ref; the last export is what the registry keeps."""
    two_platform = [t for t in example.plan.targets if t.push and len(t.platforms) == 2]
    assert two_platform
    for t in two_platform:
        repository, _, tag = cache_ref(t, two_nodes.registry).rpartition(":")
        _, cache = registry.manifest(repository, tag)
        cached = {layer["digest"] for layer in cache["layers"]}
        image_repository, _, image_tag = example.tag(t, 0, two_nodes.registry).split("/", 1)[1].rpartition(":")
        _, index = registry.manifest(image_repository, image_tag)
        complete = []
        for m in index["manifests"]:
            if not is_attestation(m):
                _, image = registry.manifest(image_repository, m["digest"])
                if {layer["digest"] for layer in image["layers"]} <= cached:
                    complete.append(m["platform"]["architecture"])
        assert len(complete) == 1, (t.name, complete)


def test_one_node_pushes_the_same_images(one_node: Push, two_nodes: Push, example: Project, registry: Registry):
    built = one_node.built()
    assert built["arm64"] == {}, "the one-node builder sent a build to node arm64"
    assert {s: tuple(sorted(p)) for s, p in built["amd64"].items()} == pushed_platforms(example)
    for t in (t for t in example.plan.targets if t.push):
        assert registry.image(example.tag(t, 0, one_node.registry)) == \
            registry.image(example.tag(t, 0, two_nodes.registry)), t.name
    print(f"\nthe example's push --push: one node {one_node.build.seconds:.0f} s, "
          f"two nodes {two_nodes.build.seconds:.0f} s")


def test_bakegen_bake_names_each_platforms_node(cache_read):
    messages, run = cache_read
    assert (f"builder {BUILDER}: 2 nodes (remote driver); buildx sends each platform to its node:\n"
            "  node amd64 builds linux/amd64\n"
            "  node arm64 builds linux/arm64\n") in messages
    built = run.built()
    for node, platform in NODES.items():
        assert {p for platforms in built[node].values() for p in platforms} == {platform}, (node, built[node])


def test_a_node_reads_the_cache_the_other_node_wrote(cache_read, example: Project):
    _, run = cache_read
    for node, records in run.records.items():
        for record in records.values():
            imports = {i["Attrs"]["ref"] for raw in record["Config"].get("RestRaw", [])
                       if raw["Name"] == "cache-imports" for i in json.loads(raw["Value"])}
            assert imports and all(ref.startswith(run.registry + "/") for ref in imports), (node, imports)
    # Node arm64's cache was emptied and it wrote nothing under this REGISTRY: node amd64 did, alone.
    # Every RUN step of its builds came from there, but for the one race BuildKit has (below).
    cached = [step for step in run.steps("arm64", cached=True) if "] RUN " in step]
    assert cached, "node arm64 took no RUN step from the cache"
    groups = shared_graphs(example)
    for node in NODES:
        builds = run.builds(node)
        for service, build in builds.items():
            ran = [step for step in build.executed_steps() if "] RUN " in step]
            if not ran:
                continue
            # The race (moby/buildkit#4674, open): targets built FROM another target of the same
            # bake (portal-web and portal-scheduler FROM portal's image, bake's `target:` contexts)
            # send one node requests that share that image's steps, and BuildKit may run a shared
            # step instead of loading it from the cache. A step that ran so ran once, for every
            # build of its group on the node; a step that ran in one build alone is a miss.
            group = [other for other in groups.get(service, ()) if other != service and other in builds]
            assert group, reran(run, node)
            for other in group:
                assert set(ran) <= set(builds[other].executed_steps()), reran(run, node)
            print(f"\nnode {node}: {service} ran again what it shares with {', '.join(group)} "
                  f"(moby/buildkit#4674): {', '.join(step.split(']')[0] + ']' for step in ran)}")
    logs = "\n".join(b.log for b in run.logs("arm64"))
    assert f"importing cache manifest from {run.registry}/insights:cache-production" in logs


def shared_graphs(p: Project) -> dict[str, set[str]]:
    """service -> the services whose pushed targets build on its image or it on theirs (bake's
    `target:` contexts, followed both ways): builds whose requests share steps on a node."""
    pushed = {t.name: t for t in p.plan.targets if t.push}
    linked: dict[str, set[str]] = {t.service: {t.service} for t in pushed.values()}
    for t in pushed.values():
        for value in t.contexts.values():
            other = pushed.get(value.removeprefix("target:")) if value.startswith("target:") else None
            if other is not None:
                group = linked[t.service] | linked[other.service]
                for service in group:
                    linked[service] = group
    return {service: group for service, group in linked.items() if len(group) > 1}


def reran(run: Push, node: str) -> str:
    """Each build on `node` that ran a RUN step: its service, the steps, and what its log says of
    the cache it imported."""
    out = []
    for service, build in run.builds(node).items():
        steps = [step for step in build.executed_steps() if "] RUN " in step]
        if steps:
            lines = [line for line in build.log.splitlines()
                     if re.search(r"cache|WARN|ERROR|error", line, re.IGNORECASE)]
            out += [f"{node}'s build of {service} ran:", *steps, "its log on the cache:", *lines[:40]]
    return "\n".join(out)


def test_the_docs_show_the_tested_commands(multinode, two_nodes: Push, cache_read):
    """docs/scaling.md's multi-node commands are the ones this module ran: each node's endpoint by a
    name, and without what only this machine needs (the harness file, its --allow, plain logs, metadata)."""
    _, commands = multinode
    _, read = cache_read
    text = DOCS.read_text()
    assert SECTION in text
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.+?)\n```", section, re.DOTALL)
    assert block, f"{DOCS.name} {SECTION!r} has no sh block"
    documented = [line for line in block.group(1).splitlines() if line and not line.startswith("#")]
    endpoints = {c[-1]: f"unix://$BUILDKIT_{node.upper()}" for c, node in zip(commands, NODES)}
    ran = [" ".join(endpoints.get(word, word) for word in c) for c in commands]
    ran.append("CACHE_EXPORT=true " + " ".join(without_harness(two_nodes.build.command)))
    ran.append(" ".join(without_harness(read.build.command)))
    assert documented == ran


def without_harness(command: list[str]) -> list[str]:
    """`command` as a user types it: no harness file and its flags, no metadata file, no -f naming
    the default file (docker-bake.hcl for bake, matrix.yaml for bakegen)."""
    out, skip = [], False
    for word in command:
        if skip:
            skip = False
        elif word in ("-f", "--metadata-file"):
            skip = True
        elif word not in HARNESS_ARGS:
            out.append(word)
    return out
