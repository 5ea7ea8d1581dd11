"""A stand-in for docker/buildkit-syft-scanner: BuildKit's SBOM generator protocol.

BuildKit runs the generator image with the image's root filesystem mounted
read-only at $BUILDKIT_SCAN_SOURCE (other stages' at the folders under
$BUILDKIT_SCAN_SOURCE_EXTRAS, if set) and expects one in-toto statement with
an SPDX predicate per scanned root, as $BUILDKIT_SCAN_DESTINATION/<name>.spdx.json
(moby/buildkit docs/attestations/sbom-protocol.md). Syft itself cannot be
pulled here; this lists what matters for the tests: Debian packages from
dpkg's status file and Python distributions from their .dist-info folders.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

PYTHON_ROOTS = ("opt", "usr/local/lib", "usr/lib", "app")


def debian_packages(root: Path) -> list[tuple[str, str]]:
    status = root / "var/lib/dpkg/status"
    if not status.is_file():
        return []
    out = []
    for block in status.read_text(errors="replace").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line[0].isspace())
        if "Package" in fields and "installed" in fields.get("Status", "installed"):
            out.append((fields["Package"], fields.get("Version", "")))
    return out


def python_packages(root: Path) -> list[tuple[str, str]]:
    out = []
    for top in PYTHON_ROOTS:
        for folder, dirs, _ in os.walk(root / top):
            for name in [d for d in dirs if d.endswith(".dist-info")]:
                dirs.remove(name)
                meta = Path(folder) / name / "METADATA"
                if meta.is_file():
                    head = meta.read_text(errors="replace").split("\n\n", 1)[0]
                    fields = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
                    out.append((fields.get("Name", name), fields.get("Version", "")))
    return out


def document(name: str, root: Path) -> dict:
    packages = [("deb", n, v) for n, v in debian_packages(root)] + [("pypi", n, v) for n, v in python_packages(root)]
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": f"https://bakegen.invalid/e2e/sbom/{name}",
        "creationInfo": {"created": "1980-01-01T00:00:00Z", "creators": ["Tool: bakegen-e2e-sbom-stand-in"]},
        "packages": [
            {"SPDXID": f"SPDXRef-Package-{kind}-{i}", "name": n, "versionInfo": v, "downloadLocation": "NOASSERTION",
             "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                               "referenceLocator": f"pkg:{kind}/{n}@{v}"}]}
            for i, (kind, n, v) in enumerate(sorted(packages))
        ],
    }


def scan(source: Path, destination: Path) -> None:
    statement = {"_type": "https://in-toto.io/Statement/v0.1", "predicateType": "https://spdx.dev/Document",
                 "subject": [], "predicate": document(source.name, source)}
    (destination / f"{source.name}.spdx.json").write_text(json.dumps(statement))


def main() -> int:
    destination = Path(os.environ["BUILDKIT_SCAN_DESTINATION"])
    scan(Path(os.environ["BUILDKIT_SCAN_SOURCE"]), destination)
    extras = Path(os.environ.get("BUILDKIT_SCAN_SOURCE_EXTRAS") or "/nonexistent")
    if extras.is_dir():
        for root in sorted(extras.iterdir()):
            scan(root, destination)
    return 0


if __name__ == "__main__":
    sys.exit(main())
