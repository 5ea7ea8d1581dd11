"""A GitHub Actions workflow that builds the pushed targets whose inputs changed, on native runners.

A first job (`plan`) runs `bakegen affected`: pull requests against their
base, pushes against the commit before and against what the registry
holds. It outputs each later job's matrix as JSON (`fromJSON`), so only
affected targets are built; a job with an empty matrix is skipped, and a
run with nothing affected is green with nothing built.

Each (target, platform) to build is one build job on a runner of that
architecture, pushed by digest with its input digest as a label; a merge
job per target then creates its multi-platform tags with `docker buildx
imagetools create`, or, for a target whose input digest the registry
already holds, gives that image this run's tags. Single-manifest targets
(Lambda) are pushed directly with their tags: one platform, no index.
Targets that start from another target's image (`target:` contexts) build
in a later job, after the targets they start from, reading their cache.
A last job writes the digest map (target -> tags, platforms, digests).

Input: the plan and the matrix's `ci.github` settings; output: YAML text.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.scalarstring import LiteralScalarString

from ..model.plan import Plan, Target, display
from ..model.resolved import GithubCi
from .ci_common import arch, bakegen_requirement, dependencies, dump_yaml, image_name, push_variables, registry_cache

# The image label with a target's input digest (tools/digests.py computes it).
LABEL = "dev.bakegen.inputs"

# A bash function that replaces bake's ${REGISTRY} and ${TAG} by the job's env values
# (plain substitution: nothing from a variable is evaluated as shell code).
EXPAND = (
    "expand() { local s=\"$1\"; s=\"${s//'${REGISTRY}'/$REGISTRY}\"; printf '%s' \"${s//'${TAG}'/$TAG}\"; }\n"
)

# GitHub's limit on the jobs one matrix may start.
MAX_MATRIX = 256

# Current major versions (node24 runtimes; actionlint flags the node20 ones).
ACTIONS = {
    "checkout": "actions/checkout@v6",
    "qemu": "docker/setup-qemu-action@v4",
    "buildx": "docker/setup-buildx-action@v4",
    "login": "docker/login-action@v4",
    "bake": "docker/bake-action@v7",
    "upload": "actions/upload-artifact@v6",
    "download": "actions/download-artifact@v7",
    "python": "actions/setup-python@v6",
}


def levels(plan: Plan, names: list[str]) -> dict[str, int]:
    """Build order: 0 for targets that need no other target's image, n+1 after level n."""
    by_name = {t.name: t for t in plan.targets}
    found: dict[str, int] = {}

    def level(name: str) -> int:
        if name not in found:
            found[name] = 1 + max((level(d) for d in dependencies(by_name[name])), default=-1)
        return found[name]

    for name in names:
        level(name)
    return found


# The job that decides what to build, and the one that writes the digest map.
PLAN_JOB = "plan"
DIGESTS_JOB = "digests"


def build_jobs(plan: Plan, ci: GithubCi) -> list[tuple[str, int, list[Target]]]:
    """The build jobs, in order: (name, level, the pushed targets it may build).

    Level n builds after level n-1 (targets built on another target's
    image); a level of more than MAX_MATRIX target x platform entries is
    split into parts, each at most MAX_MATRIX whatever is affected.
    """
    pushed = [t for t in plan.targets if t.push]
    order = levels(plan, [t.name for t in pushed])
    n_levels = max(order.values(), default=0) + 1
    jobs = []
    for level in range(n_levels):
        here = [t for t in pushed if order[t.name] == level]
        entries = sum(len(t.platforms) for t in here)
        parts = max(1, -(-entries // MAX_MATRIX))
        name = "build" if n_levels == 1 else f"build-{level}"
        if parts == 1:
            jobs.append((name, level, here))
            continue
        # Each part gets whole targets, at most MAX_MATRIX entries.
        chunks: list[list[Target]] = [[]]
        size = 0
        for t in here:
            if size + len(t.platforms) > MAX_MATRIX:
                chunks.append([])
                size = 0
            chunks[-1].append(t)
            size += len(t.platforms)
        for index, chunk in enumerate(chunks):
            jobs.append((f"{name}-part{index + 1}", level, chunk))
    return jobs


def merge_jobs(plan: Plan) -> list[str]:
    """The merge jobs' names: one per MAX_MATRIX pushed targets."""
    pushed = sum(1 for t in plan.targets if t.push)
    parts = -(-pushed // MAX_MATRIX)
    return ["merge"] if parts == 1 else [f"merge-part{i + 1}" for i in range(parts)]


def output_name(job: str) -> str:
    """The plan job's output that holds `job`'s matrix (`build-0` -> `build_0`)."""
    return job.replace("-", "_")


def build_entry(plan: Plan, t: Target, platform: str, ci: GithubCi, inputs: str) -> dict[str, Any]:
    """One build job's matrix entry: `t` for `platform`; `inputs` is its input digest (the label)."""
    by_name = {d: plan.target(d) for d in dependencies(t)}
    runner = ci.runners.get(platform)
    return {
        "target": t.name,
        "platform": platform,
        "arch": arch(platform),
        "runner": runner or ci.runners.get("linux/amd64", "ubuntu-24.04"),
        "emulate": runner is None,
        "image": image_name(t),
        "single": t.single_manifest,
        "tags": ",".join(display(tag) for tag in t.tags),
        "cache": _cache_entry(t, platform, ci),
        # Targets this one starts from build in the same bake run:
        # same platform, and their own per-platform cache.
        "deps": "".join(f"{d}.platform={platform}\n{d}.cache-from={_cache_entry(by_name[d], platform, ci)}\n"
                        for d in by_name),
        "inputs": inputs,
    }


def merge_entry(t: Target, inputs: str, source: str | None) -> dict[str, Any]:
    """One merge job's matrix entry. `source`: the image in the registry that gets `t`'s
    tags (its inputs are unchanged), else None: `t` was built in this run."""
    return {
        "target": t.name,
        "image": image_name(t),
        "tags": " ".join(display(tag) for tag in t.tags),
        "platforms": ",".join(t.platforms),
        "single": t.single_manifest,
        # digests: an index of the digests the build jobs pushed; pushed: the build
        # job pushed it with its tags (one manifest); copy: re-tag `source`.
        "mode": "copy" if source else "pushed" if t.single_manifest else "digests",
        "source": source or "",
        "inputs": inputs,
    }


def matrices(plan: Plan, ci: GithubCi, build: dict[str, str], retag: dict[str, tuple[str, str]]
             ) -> dict[str, list[dict[str, Any]]]:
    """What the plan job outputs: each build and merge job's matrix entries.

    `build`: the pushed targets to build, with their input digests;
    `retag`: the pushed targets whose image the registry holds, with their
    digests and that image (`repository@sha256:...`). A job whose list is
    empty does not run.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for name, _level, targets in build_jobs(plan, ci):
        out[output_name(name)] = [build_entry(plan, t, p, ci, build[t.name])
                                  for t in targets if t.name in build for p in t.platforms]
    merges = [merge_entry(t, build[t.name], None) if t.name in build else merge_entry(t, *retag[t.name])
              for t in plan.targets if t.push and (t.name in build or t.name in retag)]
    for index, name in enumerate(merge_jobs(plan)):
        out[output_name(name)] = merges[index * MAX_MATRIX:(index + 1) * MAX_MATRIX]
    return out


def workflow(plan: Plan, ci: GithubCi, registry_default: str, source: str) -> dict[str, Any]:
    env = {
        "REGISTRY": f"${{{{ vars.REGISTRY || '{registry_default}' }}}}",
        "TAG": "${{ github.ref_type == 'tag' && github.ref_name || format('sha-{0}', github.sha) }}",
        "REVISION": "${{ github.sha }}",
        # What the plan job installs: the wheel of this version kept in the repository (bakegen is
        # not on PyPI, and a name there could be anyone's), unless the repository variable names another.
        "BAKEGEN": f"${{{{ vars.BAKEGEN || '{bakegen_requirement(plan)}' }}}}",
        **push_variables(plan),
    }
    runner = ci.runners.get("linux/amd64", "ubuntu-24.04")
    builds = build_jobs(plan, ci)
    merges = merge_jobs(plan) if any(t.push for t in plan.targets) else []
    jobs: dict[str, Any] = {PLAN_JOB: _plan_job(plan, ci, runner, [n for n, _, _ in builds] + merges)}
    previous: list[str] = []
    level_jobs: list[str] = []
    for index, (name, level, _targets) in enumerate(builds):
        if index and level != builds[index - 1][1]:
            previous, level_jobs = level_jobs, []
        level_jobs.append(name)
        jobs[name] = {
            "name": "${{ matrix.target }} (${{ matrix.platform }})",
            "runs-on": "${{ matrix.runner }}",
            "needs": [PLAN_JOB, *previous],
            # A level with nothing affected is skipped: it must not stop the levels
            # after it (a skipped job would skip every job that needs it).
            "if": f"${{{{ !cancelled() && !failure() && {_has(name)} }}}}",
            "strategy": {"fail-fast": False, "matrix": {"include": _matrix(name)}},
            "steps": _build_steps(ci),
        }
    build_names = [n for n, _, _ in builds]
    for name in merges:
        jobs[name] = {
            "name": "tag ${{ matrix.target }}",
            "runs-on": runner,
            "needs": [PLAN_JOB, *build_names],
            "if": f"${{{{ !cancelled() && !failure() && github.event_name != 'pull_request' && {_has(name)} }}}}",
            "strategy": {"fail-fast": False, "matrix": {"include": _matrix(name)}},
            "steps": _merge_steps(ci),
        }
    if merges:
        jobs[DIGESTS_JOB] = {
            "name": "digest map",
            "runs-on": runner,
            "needs": [PLAN_JOB, *build_names, *merges],
            "if": "${{ !cancelled() && !failure() && github.event_name != 'pull_request' }}",
            "outputs": {"map": "${{ steps.map.outputs.map }}"},
            "steps": _digest_map_steps(),
        }
    return {
        "name": ci.name,
        "on": {
            "push": {"branches": list(ci.branches), "tags": ["v*"]},
            "pull_request": {},
            "workflow_dispatch": {},
        },
        "permissions": {"contents": "read", "packages": "write"},
        "concurrency": {"group": "${{ github.workflow }}-${{ github.ref }}", "cancel-in-progress": True},
        "env": env,
        "jobs": jobs,
    }


def _has(job: str) -> str:
    return f"needs.{PLAN_JOB}.outputs.{output_name(job)} != '[]'"


def _matrix(job: str) -> str:
    return f"${{{{ fromJSON(needs.{PLAN_JOB}.outputs.{output_name(job)}) }}}}"


def _plan_job(plan: Plan, ci: GithubCi, runner: str, jobs: list[str]) -> dict[str, Any]:
    """The first job: which targets to build, which to re-tag, as each job's matrix."""
    return {
        "name": "what to build",
        "runs-on": runner,
        "outputs": {output_name(j): f"${{{{ steps.plan.outputs.{output_name(j)} }}}}" for j in jobs},
        "steps": [
            {"uses": ACTIONS["checkout"]},
            {
                "name": "Fetch the commit to compare with",
                "id": "base",
                "env": {"BASE": "${{ github.event_name == 'pull_request' && github.event.pull_request.base.sha "
                                "|| github.event.before }}"},
                "run": LiteralScalarString(
                    "# Pull requests compare with their base, pushes with the commit before. None (a new\n"
                    "# branch, a tag, a manual run) or one that cannot be fetched: compare with nothing.\n"
                    'if [ -n "${BASE//0/}" ] && { git cat-file -e "$BASE^{commit}" 2>/dev/null \\\n'
                    '     || git fetch --no-tags --depth=1 origin "$BASE"; }; then\n'
                    '  echo "since=$BASE" >> "$GITHUB_OUTPUT"\n'
                    "fi\n"),
            },
            {"uses": ACTIONS["python"], "with": {"python-version": "3.12"}},
            {
                "name": "Install bakegen",
                "run": LiteralScalarString(
                    f'bakegen --version 2>/dev/null | grep -qxF "bakegen, version {plan.version}" \\\n'
                    '  || python -m pip install "$BAKEGEN"\n'),
            },
            *_login(ci),
            {
                # On a push every tag must exist afterwards: a target whose input digest
                # the registry already holds (at its tags for this commit, the one
                # before, or its fixed tags) is re-tagged instead of built.
                "name": "Decide what to build",
                "id": "plan",
                "env": {"SINCE": "${{ steps.base.outputs.since }}", "EVENT": "${{ github.event_name }}",
                        "BEFORE": "${{ github.event.before }}", "SHA": "${{ github.sha }}"},
                "run": LiteralScalarString(
                    f"args=(-f {plan.source} --format github)\n"
                    'if [ -n "$SINCE" ]; then args+=(--since "$SINCE"); fi\n'
                    'if [ "$EVENT" != pull_request ]; then\n'
                    "  args+=(--registry)\n"
                    '  args+=(--reuse-tag "sha-$SHA")\n'
                    '  if [ -n "${BEFORE//0/}" ]; then args+=(--reuse-tag "sha-$BEFORE"); fi\n'
                    "fi\n"
                    'bakegen affected "${args[@]}" >> "$GITHUB_OUTPUT"\n'),
            },
        ],
    }


def _cache_entry(t: Target, platform: str, ci: GithubCi) -> str:
    """cache-from/cache-to for one target on one platform: its own scope."""
    if ci.cache == "registry":
        return registry_cache(t, platform)
    return f"type=gha,scope={t.name}-{arch(platform)}"


def _login(ci: GithubCi) -> list[dict[str, Any]]:
    """Steps that log in to the registry host of REGISTRY (a namespace is no login server)."""
    host = {
        # docker login keys credentials by the address given: registry.example.com/team
        # would not be found for registry.example.com, nor docker.io/team for Docker Hub.
        "name": "Resolve the registry host",
        "id": "registry",
        "if": "github.event_name != 'pull_request'",
        "run": LiteralScalarString(
            'first="${REGISTRY%%/*}"\n'
            'case "$first" in *.*|*:*|localhost) host="$first" ;; *) host=docker.io ;; esac\n'
            'echo "host=$host" >> "$GITHUB_OUTPUT"\n'),
    }
    return [host, {
        "name": "Log in to the registry",
        "if": "github.event_name != 'pull_request'",
        "uses": ACTIONS["login"],
        "with": {
            "registry": "${{ steps.registry.outputs.host }}",
            "username": f"${{{{ secrets.{ci.username_secret} }}}}",
            "password": f"${{{{ secrets.{ci.password_secret} }}}}",
        },
    }]


def _bake_step(single: bool) -> dict[str, Any]:
    push = "${{ github.event_name != 'pull_request' }}"
    # File times rewritten to the commit's: two runs for one commit push the same digests.
    epoch = "rewrite-timestamp=true,source-date-epoch=${{ env.SOURCE_DATE_EPOCH }}"
    if single:
        # One platform, no attestations, pushed with its tags: a plain image
        # manifest, which is what AWS Lambda accepts (not an index).
        output = f"type=image,push={push},{epoch}"
    else:
        # Pushed by digest, without tags; the merge job tags the index. store=false: no image
        # record in the builder's store (two jobs on one engine would create it at once, see ci_gitlab).
        output = (f'type=image,"name=${{{{ steps.names.outputs.image }}}}",push-by-digest=true,'
                  f'name-canonical=true,push={push},store=false,{epoch}')
    lines = ["${{ matrix.target }}.platform=${{ matrix.platform }}",
             # The input digest, set here and not in the bake file: a source edit leaves that current.
             f"${{{{ matrix.target }}}}.labels.{LABEL}=${{{{ matrix.inputs }}}}"]
    if not single:
        lines.append("${{ matrix.target }}.tags=")
    lines += [
        "${{ matrix.target }}.cache-from=${{ steps.names.outputs.cache }}",
        # Pull requests read the cache but do not write it (no registry login).
        "${{ matrix.target }}.cache-to=${{ github.event_name != 'pull_request' && "
        "format('{0},mode=max', steps.names.outputs.cache) || '' }}",
        f"${{{{ matrix.target }}}}.output={output}",
    ]
    return {
        "name": "Build ${{ matrix.target }} for ${{ matrix.platform }}",
        "id": "single" if single else "bake",
        "if": "matrix.single" if single else "!matrix.single",
        "uses": ACTIONS["bake"],
        "with": {
            "source": ".",
            "files": "./docker-bake.hcl",
            "targets": "${{ matrix.target }}",
            "set": LiteralScalarString("\n".join(lines) + "\n${{ steps.names.outputs.deps }}"),
        },
    }


def _build_steps(ci: GithubCi) -> list[dict[str, Any]]:
    return [
        {"uses": ACTIONS["checkout"]},
        {"name": "Use the commit's time for the images' times",
         "run": 'echo "SOURCE_DATE_EPOCH=$(git log -1 --pretty=%ct)" >> "$GITHUB_ENV"'},
        {"name": "Set up QEMU (no native runner for this platform)", "if": "matrix.emulate",
         "uses": ACTIONS["qemu"]},
        {"uses": ACTIONS["buildx"]},
        *_login(ci),
        {
            # bake does not expand variables in --set values: names that hold
            # ${REGISTRY} or ${TAG} (the image, registry cache refs) are expanded here.
            "name": "Resolve image and cache names",
            "id": "names",
            "env": {"IMAGE": "${{ matrix.image }}", "CACHE": "${{ matrix.cache }}", "DEPS": "${{ matrix.deps }}"},
            "run": LiteralScalarString(
                EXPAND
                + '{\n'
                '  echo "image=$(expand "$IMAGE")"\n'
                '  echo "cache=$(expand "$CACHE")"\n'
                '  printf \'deps<<BAKEGEN_END\\n%s\\nBAKEGEN_END\\n\' "$(expand "$DEPS")"\n'
                '} >> "$GITHUB_OUTPUT"\n'),
        },
        _bake_step(single=False),
        _bake_step(single=True),
        {
            "name": "Record the digest",
            "if": "github.event_name != 'pull_request' && !matrix.single",
            "env": {"METADATA": "${{ steps.bake.outputs.metadata }}", "TARGET": "${{ matrix.target }}"},
            "run": LiteralScalarString(
                'digest=$(jq -r --arg t "$TARGET" \'.[$t]["containerimage.digest"]\' <<< "$METADATA")\n'
                'mkdir -p /tmp/digests\n'
                'touch "/tmp/digests/${digest#sha256:}"\n'
            ),
        },
        {
            "name": "Upload the digest",
            "if": "github.event_name != 'pull_request' && !matrix.single",
            "uses": ACTIONS["upload"],
            "with": {
                "name": "digests-${{ matrix.target }}-${{ matrix.arch }}",
                "path": "/tmp/digests/*",
                "if-no-files-found": "error",
                "retention-days": 1,
            },
        },
    ]


# Writes one target's entry of the digest map: every tag's digest (an index, or
# one manifest), each platform's manifest, the input digest and how it came to be.
RECORD = (
    'mkdir -p /tmp/digest-map\n'
    'tags="{}"\n'
    'for tag in $TAGS; do\n'
    '  ref=$(expand "$tag")\n'
    "  manifest=$(docker buildx imagetools inspect --format '{{json .Manifest}}' \"$ref\")\n"
    '  tags=$(jq -c --arg ref "$ref" --arg digest "$(jq -r .digest <<< "$manifest")" \\\n'
    "    '. + {($ref): $digest}' <<< \"$tags\")\n"
    'done\n'
    'platforms=$(jq -c --arg platforms "$PLATFORMS" \'if .manifests then [.manifests[]\n'
    '  | select(.platform.os != "unknown") | {key: ([.platform.os, .platform.architecture,\n'
    '  .platform.variant // empty] | join("/")), value: .digest}] | from_entries\n'
    "  else {($platforms): .digest} end' <<< \"$manifest\")\n"
    'jq -n -S --arg target "$TARGET" --arg inputs "$INPUTS" --arg mode "$MODE" --argjson tags "$tags" \\\n'
    '  --argjson platforms "$platforms" \\\n'
    "  '{($target): {inputs: $inputs, built: ($mode != \"copy\"), tags: $tags, platforms: $platforms}}' \\\n"
    '  > "/tmp/digest-map/$TARGET.json"\n'
)


def _merge_steps(ci: GithubCi) -> list[dict[str, Any]]:
    env = {"TARGET": "${{ matrix.target }}", "IMAGE": "${{ matrix.image }}", "TAGS": "${{ matrix.tags }}",
           "MODE": "${{ matrix.mode }}", "SOURCE": "${{ matrix.source }}", "INPUTS": "${{ matrix.inputs }}",
           "PLATFORMS": "${{ matrix.platforms }}", "SINGLE": "${{ matrix.single }}"}
    return [
        {
            "name": "Download the digests of ${{ matrix.target }}",
            "if": "matrix.mode == 'digests'",
            "uses": ACTIONS["download"],
            "with": {"path": "/tmp/digests", "pattern": "digests-${{ matrix.target }}-*", "merge-multiple": True},
        },
        {"uses": ACTIONS["buildx"]},
        *_login(ci),
        {
            "name": "Create the tags",
            "if": "matrix.mode != 'pushed'",
            "env": env,
            "run": LiteralScalarString(
                EXPAND
                + 'image=$(expand "$IMAGE")\n'
                "args=()\n"
                'if [ "$MODE" = copy ]; then\n'
                "  # Inputs unchanged: the image the registry holds gets this run's tags, as it is\n"
                "  # (an index is copied whole; one manifest stays one manifest). One tag at a time:\n"
                "  # a registry on a file system can answer 500 to a tag read while another tag of\n"
                "  # the same manifest is written.\n"
                '  if [ "$SINGLE" = true ]; then args+=(--prefer-index=false); fi\n'
                '  for tag in $TAGS; do docker buildx imagetools create "${args[@]}" --tag "$(expand "$tag")" "$SOURCE"; done\n'
                "else\n"
                '  for tag in $TAGS; do args+=(--tag "$(expand "$tag")"); done\n'
                '  cd /tmp/digests\n'
                '  docker buildx imagetools create "${args[@]}" $(printf "$image@sha256:%s " *)\n'
                "fi\n"),
        },
        {
            "name": "Record the digests",
            "env": dict(env),  # a copy: the same dict twice would be written as a YAML alias
            "run": LiteralScalarString(EXPAND + RECORD),
        },
        {
            "name": "Upload the digests",
            "uses": ACTIONS["upload"],
            "with": {"name": "digest-map-${{ matrix.target }}", "path": "/tmp/digest-map/*.json",
                     "if-no-files-found": "error", "retention-days": 1},
        },
    ]


def _digest_map_steps() -> list[dict[str, Any]]:
    return [
        {
            "name": "Download every target's digests",
            "uses": ACTIONS["download"],
            "with": {"path": "/tmp/digest-map", "pattern": "digest-map-*", "merge-multiple": True},
        },
        {
            # For deploy and signing steps: target -> input digest, each tag's digest and
            # each platform's, as a job output (needs.digests.outputs.map) and an artifact.
            "name": "Write the digest map",
            "id": "map",
            "run": LiteralScalarString(
                "shopt -s nullglob\n"
                "parts=(/tmp/digest-map/*.json)\n"
                "jq -s -S 'add // {}' \"${parts[@]}\" < /dev/null > /tmp/digest-map.json\n"
                "cat /tmp/digest-map.json\n"
                "{ echo 'map<<BAKEGEN_END'; cat /tmp/digest-map.json; echo 'BAKEGEN_END'; } >> \"$GITHUB_OUTPUT\"\n"),
        },
        {
            "name": "Upload the digest map",
            "uses": ACTIONS["upload"],
            "with": {"name": "digest-map", "path": "/tmp/digest-map.json", "if-no-files-found": "error"},
        },
    ]


def render(plan: Plan, ci: GithubCi, registry_default: str, source: str) -> str:
    banner = (
        f"# Generated by bakegen from {source}. DO NOT EDIT: change {source} (ci.github), "
        "then run `bakegen render`.\n"
        "# Builds the pushed targets whose inputs changed, per platform on native runners, pushes\n"
        "# by digest, then creates every multi-platform tag (re-tagging images whose inputs did not change).\n"
    )
    return banner + dump_yaml(workflow(plan, ci, registry_default, source))
