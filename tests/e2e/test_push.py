"""The push path against a real registry on loopback.

`REGISTRY=127.0.0.1:5000/<run>/<project> TAG=e2e docker buildx bake push --push`,
as the README says (each run in a namespace of its own, so an earlier run's
tags cannot stand in for a missing push): every multi-platform tag is an index with exactly its
platforms; every single-manifest (Lambda) tag is one image manifest, with
no index and no attestation manifests, as AWS Lambda requires, and the
registry serves that same manifest under each of its tags. Each image of an
index carries a provenance and an SBOM attestation (unless the matrix turns
them off).
"""

from __future__ import annotations

import pytest
from harness import SBOM
from registry import MANIFEST_TYPES, is_attestation

from bakegen.pipeline import load_project

PUSHED = ["example", "deploy-policies", "go-lambda"]
# Layers of an image; an attestation would be an in-toto layer.
IMAGE_LAYERS = ("application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar+gzip",
                "application/vnd.docker.image.rootfs.diff.tar.gzip")
PROVENANCE = "https://slsa.dev/provenance/v0.2"
SPDX = "https://spdx.dev/Document"


@pytest.mark.parametrize("name", PUSHED)
def test_push_group_pushes_every_pushed_target_with_its_platforms(project, registry, namespace, name):
    p = project(name)
    prefix = f"{namespace}/{name}"
    build = p.bake("push", "--push", REGISTRY=prefix)
    assert build.returncode == 0, build.failure()
    resolved, _ = load_project(p.matrix)
    pushed = [t for t in p.plan.targets if t.push]
    assert pushed and sorted(build.metadata) == sorted(t.name for t in pushed)
    for t in pushed:
        single = resolved.service(t.service).single_manifest
        digests = set()
        for i in range(len(t.tags)):
            ref = p.tag(t, i, prefix)
            kind, platforms = registry.image(ref)
            assert platforms == tuple(sorted(t.platforms)), ref
            repository, _, tag = ref.removeprefix(registry.address + "/").rpartition(":")
            media_type, manifest = registry.manifest(repository, tag)
            if not single:
                assert kind == "index", ref
                expected = {PROVENANCE, SPDX} if resolved.project.attestations and SBOM else {PROVENANCE}
                for image in manifest["manifests"]:
                    if not is_attestation(image):
                        assert attestations(registry, repository, manifest, image["digest"]) == expected, ref
                continue
            assert kind == "manifest", f"{ref} is an index: Lambda rejects it"
            assert media_type in MANIFEST_TYPES
            assert manifest["config"]["mediaType"].endswith(("config.v1+json", "container.image.v1+json"))
            assert {layer["mediaType"] for layer in manifest["layers"]} <= set(IMAGE_LAYERS), ref
            digests.add(registry.digest(repository, tag))
        # Every tag of a single-manifest target serves the one manifest bake pushed.
        if single:
            assert digests == {build.metadata[t.name]["containerimage.digest"]}, t.name


def attestations(registry, repository: str, index: dict, digest: str) -> set[str]:
    """The in-toto predicate types attached to the image `digest` in `index`."""
    found = set()
    for m in index["manifests"]:
        if m.get("annotations", {}).get("vnd.docker.reference.digest") == digest:
            _, manifest = registry.manifest(repository, m["digest"])
            found |= {layer["annotations"]["in-toto.io/predicate-type"] for layer in manifest["layers"]}
    return found


def test_without_sbom_no_build_needs_the_scanner_image(project, registry, namespace):
    """A build that does not ask for the SBOM (SBOM=false, bake's default) runs no scanner:
    it needs nothing from Docker Hub but its base images, and its images still carry provenance."""
    p = project("example")
    prefix = f"{namespace}/no-sbom"
    target = "catalog-api-production"
    build = p.bake(target, "--push", REGISTRY=prefix, SBOM="false")
    assert build.returncode == 0, build.failure()
    assert "buildkit-syft-scanner" not in build.log and "generating sbom" not in build.log.lower()
    t = p.plan.target(target)
    ref = p.tag(t, 0, prefix)
    repository, _, tag = ref.removeprefix(registry.address + "/").rpartition(":")
    _, manifest = registry.manifest(repository, tag)
    for image in manifest["manifests"]:
        if not is_attestation(image):
            assert attestations(registry, repository, manifest, image["digest"]) == {PROVENANCE}, ref
