"""A GitLab CI pipeline that builds every pushed target on runners of each platform's architecture.

The file is one the project's `.gitlab-ci.yml` includes (`include: local`),
or, with `ci.gitlab.file: .gitlab-ci.yml`, the whole pipeline. Its jobs:

- pushes to `ci.gitlab.branches` and `v*` tags: one build job per pushed
  target and platform, on a runner with that platform's tags, pushing by
  digest; then a merge job per target that creates its multi-platform tags
  with `docker buildx imagetools create`. Single-manifest targets (Lambda)
  are pushed directly with their tags: one platform, no index. A target
  built on another target's image (`target:` contexts) needs that target's
  job for the same platform, and reads its cache. A job in `.post` writes
  the digest map (target -> tags, platforms, digests) as an artifact.
- merge requests: a plan job runs `bakegen affected` against the merge
  request's base and writes a child pipeline (`merge_request()`) with build
  jobs for the affected pushed targets only, pushing nothing; a trigger job
  runs it. GitLab has no job matrix computed at run time (GitHub's
  `fromJSON`), and `rules: changes` compares paths, not plans: a child
  pipeline is how the set of jobs can follow what `bakegen affected` decides.

Every name that holds ${REGISTRY} or ${TAG} is a job variable: GitLab
expands those, so scripts receive final names and evaluate nothing.
Scripts are POSIX sh (docker-in-docker jobs run in the Alpine `docker`
image) and need docker with buildx, git and jq.

Input: the plan, the matrix's `ci.gitlab` settings and the bake file's
`--allow` flags; output: YAML text.
"""

from __future__ import annotations

import shlex
from typing import Any

from ruamel.yaml.scalarstring import LiteralScalarString

from ..model.plan import Plan, Target, display
from ..model.resolved import GitlabCi
from .ci_common import arch, bakegen_requirement, dependencies, dump_yaml, image_name, push_variables, registry_cache

# The pipeline file, when it is the whole pipeline rather than a file it includes.
WHOLE_FILE = ".gitlab-ci.yml"
# What GitLab has without `stages:` (.pre and .post are always there).
DEFAULT_STAGES = ("build", "test", "deploy")
# Every job's name starts with bakegen- and its kind; a target and platform follow after colons.
# The plan job's name holds no other character: gitlab-ci-local looks for a trigger's artifact
# under the job's name as written, but stores it under an escaped one.
PLAN_JOB = "bakegen-plan"
CHILD_JOB = "bakegen-merge-request"
DIGESTS_JOB = "bakegen-digests"
NOTHING_JOB = "bakegen-nothing-to-build"
# Where jobs keep what they hand on: digests, the digest map, the child pipeline.
WORK = ".bakegen-ci"
CHILD_FILE = f"{WORK}/merge-request.yml"
DIGEST_MAP = f"{WORK}/digest-map.json"
# Hidden jobs (templates) the generated jobs extend.
BASE, BUILD, SINGLE, MERGE = ".bakegen", ".bakegen-build", ".bakegen-build-single", ".bakegen-merge"


def build_job(t: Target, platform: str) -> str:
    return f"bakegen-build:{t.name}:{arch(platform)}"


def merge_job(t: Target) -> str:
    return f"bakegen-merge:{t.name}"


def pipeline(plan: Plan, ci: GitlabCi, allow: tuple[str, ...] = ()) -> dict[str, Any]:
    """The pipeline bakegen writes: push builds, merges, the digest map, and the merge-request plan."""
    pushed = [t for t in plan.targets if t.push]
    doc: dict[str, Any] = _stages(ci, child=False)
    doc.update(_templates(plan, ci, allow, push=True, emulated=_emulated(ci, pushed)))
    doc[PLAN_JOB] = _plan_job(plan, ci)
    doc[CHILD_JOB] = {
        "stage": ci.stage,
        "needs": [PLAN_JOB],
        "rules": _merge_request_rules(),
        "trigger": {"include": [{"artifact": CHILD_FILE, "job": PLAN_JOB}], "strategy": "depend"},
    }
    doc.update(_build_jobs(plan, ci, pushed))
    recorded = []
    for t in pushed:
        if t.single_manifest:
            recorded += [build_job(t, p) for p in t.platforms]
            continue
        doc[merge_job(t)] = {
            "extends": MERGE,
            "needs": [{"job": build_job(t, p), "artifacts": True} for p in t.platforms],
            "variables": {"TARGET": t.name, "IMAGE": image_name(t), "TAGS": _tags(t),
                          "PLATFORMS": ",".join(t.platforms)},
        }
        recorded.append(merge_job(t))
    if pushed:
        doc[DIGESTS_JOB] = {
            "stage": ".post",
            "tags": list(_runner(ci, "linux/amd64")[0]),
            "rules": _push_rules(ci),
            "dependencies": recorded,
            **({"image": ci.docker_image} if ci.docker == "dind" else {}),
            "before_script": [_TOOLS] if ci.docker == "dind" else [],
            "script": [LiteralScalarString(
                # For deploy and signing steps: every tag's digest and each platform's.
                f"mkdir -p {WORK}/digest-map\n"
                f"find {WORK}/digest-map -name '*.json' -exec cat {{}} + | jq -s -S 'add // {{}}' > {DIGEST_MAP}\n"
                f"cat {DIGEST_MAP}\n")],
            "artifacts": {"name": "digest-map", "paths": [DIGEST_MAP]},
        }
    return doc


def merge_request(plan: Plan, ci: GitlabCi, allow: tuple[str, ...], names: list[str]) -> dict[str, Any]:
    """The child pipeline of a merge request: build jobs of the pushed targets in `names`
    (the affected ones), pushing nothing and writing no cache; one job that says so when
    there are none (GitLab refuses a pipeline without jobs)."""
    chosen = [t for t in plan.targets if t.push and t.name in names]
    if not chosen:
        return {NOTHING_JOB: {"tags": list(_runner(ci, "linux/amd64")[0]),
                              "script": ["echo 'No pushed target is affected: nothing to build.'"]}}
    return {**_stages(ci, child=True), **_templates(plan, ci, allow, push=False, emulated=_emulated(ci, chosen)),
            **_build_jobs(plan, ci, chosen)}


def _stages(ci: GitlabCi, child: bool) -> dict[str, Any]:
    """`stages:` where the jobs' stage is not one GitLab has by default and the file is a
    whole pipeline (an included file's stages would replace the project's own)."""
    if (child or ci.file == WHOLE_FILE) and ci.stage not in DEFAULT_STAGES:
        return {"stages": [ci.stage]}
    return {}


def _build_jobs(plan: Plan, ci: GitlabCi, targets: list[Target]) -> dict[str, Any]:
    """One job per target in `targets` and platform; a job needs the jobs of the same
    platform that build the targets it starts from, when those are built here too."""
    here = {t.name for t in targets}
    jobs: dict[str, Any] = {}
    for t in targets:
        by_name = {d: plan.target(d) for d in dependencies(t)}
        for platform in t.platforms:
            tags, emulate = _runner(ci, platform)
            variables: dict[str, str] = {"TARGET": t.name, "PLATFORM": platform}
            if t.single_manifest:
                variables.update({"TAGS": _tags(t), "PLATFORMS": platform})
            else:
                variables["IMAGE"] = image_name(t)
            variables["CACHE"] = registry_cache(t, platform)
            if by_name:
                # Targets this one starts from build in the same bake run:
                # same platform, and their own per-platform cache.
                variables["DEPS"] = LiteralScalarString("".join(
                    f"{d}.platform={platform}\n{d}.cache-from={registry_cache(dep, platform)}\n" for d, dep in by_name.items()))
            if emulate:
                variables["EMULATE"] = arch(platform).split("-")[0]
            job: dict[str, Any] = {"extends": SINGLE if t.single_manifest else BUILD, "tags": list(tags)}
            needs = [build_job(dep, platform) for d, dep in by_name.items() if d in here and platform in dep.platforms]
            if needs:
                job["needs"] = needs
            job["variables"] = variables
            jobs[build_job(t, platform)] = job
    return jobs


def _runner(ci: GitlabCi, platform: str) -> tuple[tuple[str, ...], bool]:
    """(runner tags, whether the platform is emulated there): a platform without
    runner tags of its own builds on the linux/amd64 runner under QEMU."""
    tags = ci.runners.get(platform)
    if tags is not None:
        return tags, False
    return ci.runners.get("linux/amd64", ("saas-linux-small-amd64",)), True


def _emulated(ci: GitlabCi, targets: list[Target]) -> bool:
    return any(_runner(ci, p)[1] for t in targets for p in t.platforms)


def _tags(t: Target) -> str:
    # GitLab's ${NAME} is bake's: each tag as the bake file spells it, expanded by GitLab.
    return " ".join(display(tag) for tag in t.tags)


# -- rules -----------------------------------------------------------------------

def _merge_request_rules() -> list[dict[str, Any]]:
    return [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]


def _push_rules(ci: GitlabCi) -> list[dict[str, Any]]:
    """Tags v* push with the tag's name as TAG; pushes to the branches with sha-COMMIT."""
    branches = " || ".join(f'$CI_COMMIT_BRANCH == "{b}"' for b in ci.branches)
    return [{"if": "$CI_COMMIT_TAG =~ /^v/", "variables": {"TAG": "$CI_COMMIT_TAG"}}, {"if": branches}]


# -- scripts ---------------------------------------------------------------------

# The Alpine `docker` image has neither git (the commit's time) nor jq (bake's metadata).
_TOOLS = "command -v git >/dev/null && command -v jq >/dev/null || apk add --no-cache git jq"

_EPOCH = (
    "# File times rewritten to the commit's: two pipelines for one commit push the same digests.\n"
    "SOURCE_DATE_EPOCH=$(git log -1 --pretty=%ct) && export SOURCE_DATE_EPOCH\n"
)

_BUILDER = (
    "# Push by digest needs a builder of the docker-container driver (the docker driver\n"
    "# refuses it); a runner that names one in BUILDX_BUILDER keeps its own.\n"
    'if [ -z "${BUILDX_BUILDER:-}" ]; then\n'
    "  docker buildx inspect bakegen >/dev/null 2>&1 || docker buildx create --name bakegen --driver docker-container\n"
    "  export BUILDX_BUILDER=bakegen\n"
    "fi\n"
)

_EMULATION = (
    "# No runner of this platform: its steps run under QEMU on this one.\n"
    'if [ -n "${EMULATE:-}" ]; then docker run --privileged --rm tonistiigi/binfmt --install "$EMULATE"; fi\n'
)


def _login(ci: GitlabCi, required: bool) -> str:
    """Log in to the host of REGISTRY (a namespace is no login server); `required`: else only
    when the password variable is set (merge requests only read the cache)."""
    user, password = ci.username_variable, ci.password_variable
    command = (
        # docker login keys credentials by the address given: registry.example.com/team
        # would not be found for registry.example.com, nor docker.io/team for Docker Hub.
        'first=${REGISTRY%%/*}\n'
        'case $first in *.*|*:*|localhost) host=$first ;; *) host=docker.io ;; esac\n'
        f'printf \'%s\' "${password}" | docker login "$host" --username "${user}" --password-stdin\n'
    )
    if required:
        return command
    return f'if [ -n "${{{password}:-}}" ]; then\n' + "".join(f"  {line}\n" for line in command.splitlines()) + "fi\n"


def _bake(allow: tuple[str, ...], output: str, push: bool, tags_cleared: bool) -> str:
    """The build job's bake run: one target, one platform, with the deps' settings from DEPS."""
    sets = ['--set "$TARGET.platform=$PLATFORM"']
    if tags_cleared:
        sets.append('--set "$TARGET.tags="')
    sets.append('--set "$TARGET.cache-from=$CACHE"')
    # Merge requests read the cache but do not write it.
    sets.append('--set "$TARGET.cache-to=$CACHE,mode=max"' if push else '--set "$TARGET.cache-to="')
    sets.append(f'--set "$TARGET.output={output}"')
    flags = " ".join(shlex.quote(a) for a in allow)
    return (
        # BAKEGEN_BAKE_ARGS: more bake flags from a CI/CD variable, split at spaces and never
        # expanded as patterns (set -f), e.g. --file ci.hcl --allow network.host.
        "set -f\n"
        "set --\n"
        "old_ifs=$IFS; IFS='\n'\n"
        'for value in $DEPS; do set -- "$@" --set "$value"; done\n'
        "IFS=$old_ifs\n"
        f"mkdir -p {WORK}\n"
        f"docker buildx bake --file docker-bake.hcl --metadata-file {WORK}/metadata.json {flags + ' ' if flags else ''}"
        "${BAKEGEN_BAKE_ARGS:-} \\\n  "
        + " \\\n  ".join(sets) + ' \\\n  "$@" "$TARGET"\n'
    )


def _record_digest() -> str:
    return (
        f"digest=$(jq -r --arg t \"$TARGET\" '.[$t][\"containerimage.digest\"]' {WORK}/metadata.json)\n"
        f'mkdir -p "{WORK}/digests/$TARGET"\n'
        f'touch "{WORK}/digests/$TARGET/${{digest#sha256:}}"\n'
    )


# Writes one target's entry of the digest map: every tag's digest (an index, or one
# manifest) and each platform's manifest.
_RECORD = (
    f"mkdir -p {WORK}/digest-map\n"
    "tags='{}'\n"
    "for tag in $TAGS; do\n"
    "  manifest=$(docker buildx imagetools inspect --format '{{json .Manifest}}' \"$tag\")\n"
    "  tags=$(printf '%s' \"$manifest\" | jq -c --arg ref \"$tag\" --argjson tags \"$tags\" '$tags + {($ref): .digest}')\n"
    "done\n"
    "platforms=$(printf '%s' \"$manifest\" | jq -c --arg platforms \"$PLATFORMS\" 'if .manifests then [.manifests[]\n"
    "  | select(.platform.os != \"unknown\") | {key: ([.platform.os, .platform.architecture,\n"
    "  .platform.variant // empty] | join(\"/\")), value: .digest}] | from_entries\n"
    "  else {($platforms): .digest} end')\n"
    "jq -n -S --arg target \"$TARGET\" --argjson tags \"$tags\" --argjson platforms \"$platforms\" \\\n"
    "  '{($target): {tags: $tags, platforms: $platforms}}' > \"" + WORK + "/digest-map/$TARGET.json\"\n"
)

_MERGE = (
    "set --\n"
    'for tag in $TAGS; do set -- "$@" --tag "$tag"; done\n'
    f'for file in {WORK}/digests/"$TARGET"/*; do set -- "$@" "$IMAGE@sha256:${{file##*/}}"; done\n'
    'docker buildx imagetools create "$@"\n'
)


def _templates(plan: Plan, ci: GitlabCi, allow: tuple[str, ...], push: bool, emulated: bool) -> dict[str, Any]:
    """The hidden jobs every build and merge job extends; `emulated`: some job's platform
    has no runner of its own."""
    base: dict[str, Any] = {
        "variables": {"REGISTRY": ci.registry, "TAG": "sha-$CI_COMMIT_SHA", "REVISION": "$CI_COMMIT_SHA",
                      **push_variables(plan)},
    }
    if push:
        base["rules"] = _push_rules(ci)
    if ci.docker == "dind":
        base["image"] = ci.docker_image
        # The service answers at tcp://docker:2376 with TLS; the docker image finds it there.
        base["services"] = [{"name": ci.dind_image, "alias": "docker"}]
        base["variables"]["DOCKER_TLS_CERTDIR"] = "/certs"
    setup = ([_TOOLS] if ci.docker == "dind" else []) + [LiteralScalarString(_EPOCH + _BUILDER)]
    if emulated:
        setup.append(LiteralScalarString(_EMULATION))
    setup.append(LiteralScalarString(_login(ci, required=push)))
    base["before_script"] = setup
    epoch = "rewrite-timestamp=true,source-date-epoch=$SOURCE_DATE_EPOCH"
    flag = "true" if push else "false"
    # Pushed by digest, without tags; the merge job tags the index. store=false: no image
    # record in the builder's store, which two platforms' jobs on one engine (shell runners)
    # would both create under one name at once ("image ...: already exists", docker/buildx#3576).
    by_digest = f'type=image,\\"name=$IMAGE\\",push-by-digest=true,name-canonical=true,push={flag},store=false,{epoch}'
    # One platform, no attestations, pushed with its tags: a plain image manifest,
    # which is what AWS Lambda accepts (not an index).
    single = f"type=image,push={flag},{epoch}"
    build: dict[str, Any] = {"extends": BASE, "stage": ci.stage, "interruptible": True,
                             "script": [LiteralScalarString(_bake(allow, by_digest, push, tags_cleared=True)
                                                            + (_record_digest() if push else ""))]}
    build_single: dict[str, Any] = {"extends": BASE, "stage": ci.stage, "interruptible": True,
                                    "script": [LiteralScalarString(_bake(allow, single, push, tags_cleared=False)
                                                                   + (_RECORD if push else ""))]}
    out: dict[str, Any] = {BASE: base, BUILD: build, SINGLE: build_single}
    if push:
        build["artifacts"] = {"paths": [f"{WORK}/digests/"], "expire_in": "1 day"}
        build_single["artifacts"] = {"paths": [f"{WORK}/digest-map/"], "expire_in": "1 day"}
        out[MERGE] = {
            "extends": BASE, "stage": ci.stage,
            "script": [LiteralScalarString(_MERGE), LiteralScalarString(_RECORD)],
            "artifacts": {"paths": [f"{WORK}/digest-map/"], "expire_in": "1 day"},
        }
    return out


def _plan_job(plan: Plan, ci: GitlabCi) -> dict[str, Any]:
    """The merge request's first job: which pushed targets its inputs change, as a child pipeline."""
    job: dict[str, Any] = {
        "stage": ".pre",
        "tags": list(_runner(ci, "linux/amd64")[0]),
        "rules": _merge_request_rules(),
        "interruptible": True,
        # What the job installs: this version's wheel in the repository, unless a CI/CD
        # variable BAKEGEN names another.
        "variables": {"BAKEGEN": bakegen_requirement(plan)},
    }
    if ci.docker == "dind":
        job["image"] = ci.python_image
    job["script"] = [LiteralScalarString(
        "# The merge request's base, fetched if the clone is too shallow to hold it. Written\n"
        "# outside the checkout until the end: bakegen reads the build contexts in it.\n"
        'base=${CI_MERGE_REQUEST_DIFF_BASE_SHA:-}\n'
        'if [ -n "$base" ] && ! git cat-file -e "$base^{commit}" 2>/dev/null; then\n'
        '  git fetch --no-tags --depth=1 origin "$base"\n'
        "fi\n"
        f'if ! bakegen --version 2>/dev/null | grep -qxF "bakegen, version {plan.version}"; then\n'
        '  python3 -m venv "${TMPDIR:-/tmp}/bakegen-$CI_JOB_ID"\n'
        '  "${TMPDIR:-/tmp}/bakegen-$CI_JOB_ID/bin/pip" install --quiet "$BAKEGEN"\n'
        '  PATH="${TMPDIR:-/tmp}/bakegen-$CI_JOB_ID/bin:$PATH"\n'
        "fi\n"
        'if [ -n "$base" ]; then set -- --since "$base"; else set --; fi\n'
        'child=$(mktemp)\n'
        f'bakegen affected -f {shlex.quote(plan.source)} --format gitlab "$@" > "$child"\n'
        f"mkdir -p {WORK} && mv \"$child\" {CHILD_FILE}\n")]
    job["artifacts"] = {"paths": [CHILD_FILE], "expire_in": "1 day"}
    return job


def render(plan: Plan, ci: GitlabCi, allow: tuple[str, ...], source: str) -> str:
    """The pipeline file's text, with its banner."""
    include = (f"# The project's .gitlab-ci.yml includes it:  include: [{{local: {ci.file}}}]\n"
               if ci.file != WHOLE_FILE else "")
    banner = (
        f"# Generated by bakegen from {source}. DO NOT EDIT: change {source} (ci.gitlab), "
        "then run `bakegen render`.\n"
        "# Builds the pushed targets per platform on runners of that architecture, pushes by digest,\n"
        "# then creates every multi-platform tag; merge requests build only what they change.\n"
        + include
    )
    return banner + dump_yaml(pipeline(plan, ci, allow))


def render_merge_request(plan: Plan, ci: GitlabCi, allow: tuple[str, ...], names: list[str]) -> str:
    """The merge request's child pipeline, as the plan job writes it."""
    banner = (f"# Written by `bakegen affected --format gitlab` from {plan.source}: the build jobs of the\n"
              "# pushed targets this merge request changes. Nothing is pushed.\n")
    return banner + dump_yaml(merge_request(plan, ci, allow, names))
