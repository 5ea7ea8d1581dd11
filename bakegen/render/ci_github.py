"""A GitHub Actions workflow that builds every pushed target on native runners.

Each (target, platform) is one build job on a runner of that architecture,
pushed by digest; a merge job per target then creates its multi-platform
tags with `docker buildx imagetools create`. Single-manifest targets
(Lambda) are pushed directly with their tags: one platform, no index.
Targets that start from another target's image (`target:` contexts) build
in a later job, after the targets they start from, reading their cache.

Input: the plan and the matrix's `ci.github` settings; output: YAML text.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString

from ..model.plan import Plan, Target, display, repository
from ..model.resolved import GithubCi

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
}


def arch(platform: str) -> str:
    """A short, path-safe name for a platform: linux/arm64 -> arm64, linux/arm/v7 -> arm-v7."""
    return "-".join(platform.split("/")[1:])


def image_name(target: Target) -> str:
    """The repository of a target's first tag, for pushing by digest."""
    return repository(display(target.tags[0]))


def dependencies(target: Target) -> list[str]:
    """Targets whose image this target starts from (bake `target:` contexts)."""
    return [v.removeprefix("target:") for v in target.contexts.values() if v.startswith("target:")]


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


def workflow(plan: Plan, ci: GithubCi, registry_default: str, source: str) -> dict[str, Any]:
    pushed = [t for t in plan.targets if t.push]
    by_name = {t.name: t for t in plan.targets}
    order = levels(plan, [t.name for t in pushed])
    n_levels = max(order.values(), default=0) + 1

    env = {
        "REGISTRY": f"${{{{ vars.REGISTRY || '{registry_default}' }}}}",
        "TAG": "${{ github.ref_type == 'tag' && github.ref_name || format('sha-{0}', github.sha) }}",
        "REVISION": "${{ github.sha }}",
    }
    jobs: dict[str, Any] = {}
    previous: list[str] = []
    for level in range(n_levels):
        entries = []
        for t in pushed:
            if order[t.name] != level:
                continue
            for platform in t.platforms:
                runner = ci.runners.get(platform)
                entries.append({
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
                    "deps": "".join(
                        f"{d}.platform={platform}\n{d}.cache-from={_cache_entry(by_name[d], platform, ci)}\n"
                        for d in dependencies(by_name[t.name])
                    ),
                })
        # GitHub runs at most 256 jobs from one matrix: larger levels split.
        chunks = [entries[i:i + MAX_MATRIX] for i in range(0, len(entries), MAX_MATRIX)] or [[]]
        names = []
        for index, chunk in enumerate(chunks):
            job_name = "build" if n_levels == 1 else f"build-{level}"
            if len(chunks) > 1:
                job_name += f"-part{index + 1}"
            job: dict[str, Any] = {
                "name": "${{ matrix.target }} (${{ matrix.platform }})",
                "runs-on": "${{ matrix.runner }}",
            }
            if previous:
                job["needs"] = previous[0] if len(previous) == 1 else list(previous)
            job.update({
                "strategy": {"fail-fast": False, "matrix": {"include": chunk}},
                "steps": _build_steps(ci),
            })
            jobs[job_name] = job
            names.append(job_name)
        previous = names

    merge_targets = [t for t in pushed if not t.single_manifest]
    builds = list(jobs)
    merges = [{"target": t.name, "image": image_name(t), "tags": " ".join(display(tag) for tag in t.tags)}
              for t in merge_targets]
    chunks = [merges[i:i + MAX_MATRIX] for i in range(0, len(merges), MAX_MATRIX)]
    for index, chunk in enumerate(chunks):
        name = "merge" if len(chunks) == 1 else f"merge-part{index + 1}"
        jobs[name] = {
            "name": "tag ${{ matrix.target }}",
            "runs-on": ci.runners.get("linux/amd64", "ubuntu-24.04"),
            "needs": builds,
            "if": "github.event_name != 'pull_request'",
            "strategy": {"fail-fast": False, "matrix": {"include": chunk}},
            "steps": _merge_steps(ci),
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


def _cache_entry(t: Target, platform: str, ci: GithubCi) -> str:
    """cache-from/cache-to for one target on one platform: its own scope."""
    if ci.cache == "registry":
        ref = f"{image_name(t)}:cache-{t.stage}-{arch(platform)}"
        return f"type=registry,ref={ref}"
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
        # Pushed by digest, without tags; the merge job tags the index.
        output = (f'type=image,"name=${{{{ steps.names.outputs.image }}}}",push-by-digest=true,'
                  f'name-canonical=true,push={push},{epoch}')
    lines = ["${{ matrix.target }}.platform=${{ matrix.platform }}"]
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


def _merge_steps(ci: GithubCi) -> list[dict[str, Any]]:
    return [
        {
            "name": "Download the digests of ${{ matrix.target }}",
            "uses": ACTIONS["download"],
            "with": {"path": "/tmp/digests", "pattern": "digests-${{ matrix.target }}-*", "merge-multiple": True},
        },
        {"uses": ACTIONS["buildx"]},
        *_login(ci),
        {
            "name": "Create the multi-platform tags",
            "working-directory": "/tmp/digests",
            "env": {"IMAGE": "${{ matrix.image }}", "TAGS": "${{ matrix.tags }}"},
            "run": LiteralScalarString(
                EXPAND
                + 'image=$(expand "$IMAGE")\n'
                "args=()\n"
                'for tag in $TAGS; do args+=(--tag "$(expand "$tag")"); done\n'
                'docker buildx imagetools create "${args[@]}" $(printf "$image@sha256:%s " *)\n'
            ),
        },
    ]


def render(plan: Plan, ci: GithubCi, registry_default: str, source: str) -> str:
    data = workflow(plan, ci, registry_default, source)
    yaml = YAML(typ="rt", pure=True)
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    banner = (
        f"# Generated by bakegen from {source}. DO NOT EDIT: change {source} (ci.github), "
        "then run `bakegen render`.\n"
        "# Builds every pushed target per platform on native runners, pushes by digest,\n"
        "# then creates each multi-platform tag.\n"
    )
    return banner + buffer.getvalue()
