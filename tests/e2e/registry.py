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
# What a manifest request accepts: indexes and image manifests, OCI and Docker's.
MANIFEST_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.list.v2+json",
                  "application/vnd.docker.distribution.manifest.v2+json")


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

    def digest(self, repository: str, reference: str) -> str:
        """The digest of the manifest repository:reference names, as the registry computes it."""
        request = urllib.request.Request(
            f"http://{self.address}/v2/{repository}/manifests/{reference}", method="HEAD",
            headers={"Accept": ", ".join(MANIFEST_TYPES)})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers["Docker-Content-Digest"]

    def manifest(self, repository: str, reference: str) -> tuple[str, dict]:
        """(media type, manifest) of repository:reference, as the registry serves it."""
        request = urllib.request.Request(
            f"http://{self.address}/v2/{repository}/manifests/{reference}",
            headers={"Accept": ", ".join(MANIFEST_TYPES)})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
            return response.headers.get("Content-Type", body.get("mediaType", "")), body
