"""A real OCI registry on loopback: Debian's docker-registry (CNCF distribution).

The engine treats 127.0.0.0/8 as an insecure (plain HTTP) registry, so
pushes, push-by-digest, `imagetools create` and registry caches work against
it with no further setup.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from engine import EngineError

# BAKEGEN_E2E_REGISTRY picks another loopback port, e.g. for two suites at once.
ADDRESS = os.environ.get("BAKEGEN_E2E_REGISTRY", "127.0.0.1:5000")


class Registry:
    def __init__(self, root: Path, address: str = ADDRESS) -> None:
        self.address = address
        # One storage folder per address: registries on other ports keep their own.
        self.root = root if address == "127.0.0.1:5000" else root / address.replace(":", "-")
        self.root.mkdir(parents=True, exist_ok=True)

    def running(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.address}/v2/", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def start(self, timeout: float = 30) -> Registry:
        if self.running():
            return self
        binary = shutil.which("docker-registry")
        if binary is None:
            raise EngineError("docker-registry is not installed (apt-get install docker-registry)")
        storage = self.root / "registry"
        storage.mkdir(parents=True, exist_ok=True)
        config = self.root / "registry.yml"
        config.write_text(json.dumps({  # YAML is a superset of JSON
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
            "http": {"addr": self.address},
        }))
        log = (self.root / "registry.log").open("ab")
        subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running():
                return self
            time.sleep(0.5)
        raise EngineError(f"the registry did not answer on {self.address}; see {self.root / 'registry.log'}")

    def manifest(self, repository: str, reference: str) -> tuple[str, dict]:
        """(media type, manifest) of repository:reference, as the registry serves it."""
        request = urllib.request.Request(
            f"http://{self.address}/v2/{repository}/manifests/{reference}",
            headers={"Accept": ", ".join(INDEX_TYPES + MANIFEST_TYPES)})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
            return response.headers.get("Content-Type", body.get("mediaType", "")), body

    def digest(self, repository: str, reference: str) -> str:
        """The digest the registry gives repository:reference (its Docker-Content-Digest)."""
        request = urllib.request.Request(f"http://{self.address}/v2/{repository}/manifests/{reference}",
                                         method="HEAD", headers={"Accept": ", ".join(INDEX_TYPES + MANIFEST_TYPES)})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers["Docker-Content-Digest"]

    def tags(self, repository: str) -> list[str]:
        """Every tag of `repository`, sorted."""
        with urllib.request.urlopen(f"http://{self.address}/v2/{repository}/tags/list", timeout=10) as response:
            return sorted(json.loads(response.read()).get("tags") or [])

    def blob(self, repository: str, digest: str) -> dict:
        with urllib.request.urlopen(f"http://{self.address}/v2/{repository}/blobs/{digest}", timeout=10) as response:
            return json.loads(response.read())

    def image(self, ref: str) -> tuple[str, tuple[str, ...]]:
        """What the registry serves under `ref` (ADDRESS/repository:tag): ("index" or
        "manifest", the platforms of its images, attestation manifests left out)."""
        repository, _, tag = ref.removeprefix(self.address + "/").rpartition(":")
        media_type, body = self.manifest(repository, tag)
        if media_type in INDEX_TYPES:
            return "index", tuple(sorted(platform_of(m) for m in body["manifests"] if not is_attestation(m)))
        if media_type in MANIFEST_TYPES:
            config = self.blob(repository, body["config"]["digest"])
            return "manifest", (platform_of({"platform": config}),)
        raise AssertionError(f"{ref} is {media_type}")


INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v2+json")


def platform_of(entry: dict) -> str:
    p = entry.get("platform", {})
    return "/".join(x for x in (p.get("os"), p.get("architecture"), p.get("variant")) if x)


def is_attestation(entry: dict) -> bool:
    """An index entry that holds attestations (provenance, SBOM), not an image."""
    return entry.get("annotations", {}).get("vnd.docker.reference.type") == "attestation-manifest"
