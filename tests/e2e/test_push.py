"""The push path against a real registry on loopback.

`REGISTRY=127.0.0.1:5000/<project> TAG=e2e docker buildx bake push --push`,
as the README says: every multi-platform tag is an index with exactly its
platforms, each with a provenance and an SBOM attestation (unless the
matrix turns them off); every single-manifest (Lambda) tag is one image
manifest, with no index and no attestation manifests, as AWS Lambda requires.
"""

from __future__ import annotations

import pytest
from harness import SBOM

from bakegen.pipeline import load_project

INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v2+json")
PUSHED = ["example", "deploy-policies", "go-lambda"]
PROVENANCE = "https://slsa.dev/provenance/v0.2"
SPDX = "https://spdx.dev/Document"


def platform_of(entry: dict) -> str:
    p = entry.get("platform", {})
    return "/".join(x for x in (p.get("os"), p.get("architecture"), p.get("variant")) if x)


@pytest.mark.parametrize("name", PUSHED)
def test_push_group_pushes_every_pushed_target_with_its_platforms(project, registry, name):
    p = project(name)
    build = p.bake("push", "--push")
    assert build.returncode == 0, build.failure()
    resolved, _ = load_project(p.matrix)
    pushed = [t for t in p.plan.targets if t.push]
    assert pushed and sorted(build.metadata) == sorted(t.name for t in pushed)
    for t in pushed:
        single = resolved.service(t.service).single_manifest
        for i in range(len(t.tags)):
            ref = p.tag(t, i)
            repository, _, tag = ref.removeprefix(registry.address + "/").rpartition(":")
            media_type, manifest = registry.manifest(repository, tag)
            if single:
                assert media_type in MANIFEST_TYPES, f"{ref} is {media_type}: Lambda rejects an index"
                assert manifest["config"]["mediaType"].endswith(("config.v1+json", "container.image.v1+json"))
            else:
                assert media_type in INDEX_TYPES, f"{ref} is {media_type}"
                images = [m for m in manifest["manifests"]
                          if m.get("annotations", {}).get("vnd.docker.reference.type") != "attestation-manifest"]
                assert sorted(platform_of(m) for m in images) == sorted(t.platforms), ref
                expected = {PROVENANCE, SPDX} if resolved.matrix.project.attestations and SBOM else {PROVENANCE}
                for image in images:
                    assert attestations(registry, repository, manifest, image["digest"]) == expected, ref


def attestations(registry, repository: str, index: dict, digest: str) -> set[str]:
    """The in-toto predicate types attached to the image `digest` in `index`."""
    found = set()
    for m in index["manifests"]:
        annotations = m.get("annotations", {})
        if annotations.get("vnd.docker.reference.digest") == digest:
            _, manifest = registry.manifest(repository, m["digest"])
            found |= {layer["annotations"]["in-toto.io/predicate-type"] for layer in manifest["layers"]}
    return found
