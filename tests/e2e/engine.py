"""A real Docker Engine for the end-to-end suite, from Debian's packages alone.

This machine's Debian (bookworm) has no buildx and an old engine. Newer
suites on the same mirror do: their .debs are downloaded with a private apt
configuration (never touching the system's sources or package state),
unpacked into a private folder, and dockerd is started from there with its
own data root, exec root and socket, and the containerd image store (which
multi-platform builds with the default `docker` driver need).

    python tests/e2e/engine.py up      # install if needed, start, print the env
    python tests/e2e/engine.py down

Two buildx versions are installed: the current one (what Docker's packages
and CI runners ship) and 0.13.1 (Debian 13's), the oldest bakegen supports.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# What is downloaded from which suite. dockerd/CLI and buildx from sid (current
# releases), containerd from trixie (sid's needs a newer glibc than bookworm's).
PACKAGES = {
    "sid": ["docker.io", "docker-cli", "docker-buildx"],
    "trixie": ["containerd"],
}
OLD_BUILDX = ("trixie", "docker-buildx")  # buildx 0.13.1
# From the machine's own suite, by the command each provides: the engine's runc
# (newer suites' runc needs a newer glibc), debootstrap for stand-in root
# filesystems, a registry, an SSH agent for bake files that forward one, and
# jq, which the generated workflow's steps use.
SYSTEM_PACKAGES = {"runc": "runc", "debootstrap": "debootstrap", "docker-registry": "docker-registry",
                   "ssh-agent": "openssh-client", "jq": "jq"}

DAEMON_CONFIG = {
    "features": {"containerd-snapshotter": True},
    # No iptables here, so the default bridge has no way out: RUN steps that
    # download use the host network (see the harness bake file).
    "iptables": False,
    "ip6tables": False,
}


def home() -> Path:
    return Path(os.environ.get("BAKEGEN_E2E_HOME", Path.home() / ".cache" / "bakegen-e2e"))


class EngineError(RuntimeError):
    """The engine could not be installed or started; the message says why."""


def run(*args: str | os.PathLike[str], env: dict[str, str] | None = None, cwd: Path | None = None,
        check: bool = True, capture: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], env=env, cwd=cwd, text=True, timeout=timeout,
                            stdout=subprocess.PIPE if capture else None,
                            stderr=subprocess.STDOUT if capture else None)
    if check and result.returncode != 0:
        raise EngineError(f"{' '.join(map(str, args))} exited {result.returncode}:\n{result.stdout or ''}")
    return result


def debian_mirror() -> str:
    """The Debian mirror this machine already uses (never a host name written here)."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.is_file():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:") and "security" not in line:
                return line.split()[1]
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file():
        for line in legacy.read_text().splitlines():
            if line.startswith("deb ") and "security" not in line:
                return line.split()[1]
    raise EngineError("no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list")


@dataclass
class Apt:
    """apt-get with a private sources list and state: nothing of the system's changes."""

    root: Path

    def options(self) -> list[str]:
        return [
            f"-o Dir::Etc::SourceList={self.root / 'sources.list'}", "-o Dir::Etc::SourceParts=/dev/null",
            f"-o Dir::State::Lists={self.root / 'lists'}", f"-o Dir::Cache={self.root / 'cache'}",
            "-o Dir::State::status=/dev/null", "-o APT::Sandbox::User=root",
        ]

    def update(self) -> None:
        (self.root / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (self.root / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        mirror = debian_mirror()
        keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
        (self.root / "sources.list").write_text("".join(
            f"deb [signed-by={keyring}] {mirror} {suite} main\n" for suite in ("sid", "trixie")))
        self._apt("apt-get", "update")

    def download(self, suite: str, package: str, dest: Path) -> Path:
        """Download `package` as the given suite has it into `dest`; return the .deb."""
        version = self.version(suite, package)
        dest.mkdir(parents=True, exist_ok=True)
        self._apt("apt-get", "download", f"{package}={version}", cwd=dest)
        debs = sorted(dest.glob(f"{package}_*.deb"))
        if not debs:
            raise EngineError(f"apt-get download {package}={version} left no .deb in {dest}")
        return debs[-1]

    def version(self, suite: str, package: str) -> str:
        out = self._apt("apt-cache", "madison", package).stdout
        for line in out.splitlines():
            cells = [c.strip() for c in line.split("|")]
            if len(cells) == 3 and f" {suite}/" in f" {cells[2]}":
                return cells[1]
        raise EngineError(f"Debian {suite} has no package {package}:\n{out}")

    def _apt(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        words = [args[0]]
        for option in self.options():
            words += option.split(" ", 1)
        return run(*words, *args[1:], cwd=cwd)


class Engine:
    """dockerd, containerd and buildx under `root`, reached through `env`.

    The engine is shared by every suite on the machine. `Engine(instance=NAME)`
    is another dockerd from the same binaries, with its own data root, image
    store and build cache, for a test that must empty a build cache.
    """

    def __init__(self, root: Path | None = None, instance: str | None = None) -> None:
        self.root = root or home()
        self.instance = instance
        self.bin = self.root / "engine"
        # Daemon state: data root, daemon.json, log.
        self.state = self.root if instance is None else self.root / "instances" / instance
        # Sockets have a short path limit: the exec root lives under /run.
        # BAKEGEN_E2E_HOME with BAKEGEN_E2E_RUN also give a second shared engine
        # (its own data and socket; BAKEGEN_E2E_BRIDGE=none: no bridge).
        default_run = os.environ.get("BAKEGEN_E2E_RUN", "/run/bakegen-e2e")
        self.run_dir = Path(default_run if instance is None else f"{default_run}-{instance}")
        self.socket = self.run_dir / "docker.sock"
        self.config = self.root / "docker-config"
        self.old_config = self.root / "docker-config-buildx-0.13"
        self.process: subprocess.Popen[bytes] | None = None  # dockerd, when this object started it

    # -- install -------------------------------------------------------------

    def installed(self) -> bool:
        return all((self.bin / p).exists() for p in ("usr/sbin/dockerd", "usr/bin/docker", "usr/bin/containerd")) \
            and (self.config / "cli-plugins" / "docker-buildx").exists() \
            and (self.old_config / "cli-plugins" / "docker-buildx").exists()

    def install(self) -> None:
        """Download and unpack the engine (a minute, once per machine)."""
        missing = [package for command, package in SYSTEM_PACKAGES.items() if shutil.which(command) is None]
        if missing:
            run("apt-get", "install", "-y", "--no-install-recommends", *missing,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, timeout=600)
        if self.installed():
            return
        apt = Apt(self.root / "apt")
        apt.update()
        debs = self.root / "debs"
        for suite, packages in PACKAGES.items():
            for package in packages:
                run("dpkg", "-x", apt.download(suite, package, debs / suite), self.bin)
        old = self.root / "buildx-0.13"
        run("dpkg", "-x", apt.download(*OLD_BUILDX, debs / "old"), old)
        for config, source in ((self.config, self.bin), (self.old_config, old)):
            plugins = config / "cli-plugins"
            plugins.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / "usr/libexec/docker/cli-plugins/docker-buildx", plugins / "docker-buildx")

    # -- run -----------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """The environment that makes `docker` talk to this engine with current buildx."""
        path = f"{self.bin / 'usr/bin'}:{self.bin / 'usr/sbin'}:{os.environ.get('PATH', '')}"
        return {**os.environ, "PATH": path, "DOCKER_HOST": f"unix://{self.socket}",
                "DOCKER_CONFIG": str(self.config),
                "DOCKER_CLI_HINTS": "false"}

    @property
    def old_buildx_env(self) -> dict[str, str]:
        return {**self.env, "DOCKER_CONFIG": str(self.old_config)}

    def docker(self, *args: str | os.PathLike[str], check: bool = True, cwd: Path | None = None,
               env: dict[str, str] | None = None, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        return run(self.bin / "usr/bin/docker", *args, env=env or self.env, cwd=cwd, check=check, timeout=timeout)

    def running(self) -> bool:
        if not self.socket.exists():
            return False
        return self.docker("version", "--format", "{{.Server.Version}}", check=False, timeout=30).returncode == 0

    def start(self, timeout: float = 60) -> None:
        """Start dockerd in the background unless it already runs."""
        if self.running():
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.state.mkdir(parents=True, exist_ok=True)
        config = self.state / "daemon.json"
        settings = dict(DAEMON_CONFIG)
        if os.environ.get("BAKEGEN_E2E_BRIDGE"):
            settings["bridge"] = os.environ["BAKEGEN_E2E_BRIDGE"]
        config.write_text(json.dumps(settings))
        log = (self.state / "dockerd.log").open("ab")
        self.process = subprocess.Popen(
            [str(self.bin / "usr/sbin/dockerd"), "--config-file", str(config),
             "--data-root", str(self.state / "data"), "--exec-root", str(self.run_dir / "exec"),
             "--pidfile", str(self.run_dir / "dockerd.pid"), "-H", f"unix://{self.socket}"],
            env=self.env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running():
                return
            time.sleep(1)
        tail = (self.state / "dockerd.log").read_text(errors="replace").splitlines()[-20:]
        raise EngineError("dockerd did not answer within {:.0f} s; the end of its log:\n{}".format(
            timeout, "\n".join(tail)))

    def stop(self) -> None:
        pidfile = self.run_dir / "dockerd.pid"
        if pidfile.is_file():
            try:
                os.kill(int(pidfile.read_text().strip()), 15)
            except (ProcessLookupError, ValueError):
                pass

    def remove(self, timeout: float = 60) -> None:
        """Stop a private instance and delete its data (never the shared engine)."""
        if self.instance is None:
            raise EngineError("the shared engine is never removed")
        self.stop()
        if self.process is not None:
            self.process.wait(timeout)  # reaped, or it would linger as a zombie
        shutil.rmtree(self.state, ignore_errors=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def prune_build_cache(self) -> None:
        """Empty the build cache: only a private instance's, which no one else uses."""
        if self.instance is None:
            raise EngineError("never prune the shared engine's build cache: other suites' caches live there")
        self.docker("buildx", "prune", "--all", "--force", "--builder", "default", timeout=300)

    def build_records(self) -> dict[str, dict]:
        """Every build this engine's BuildKit ran that it still records, by ref: what `docker buildx
        history inspect --format json` says of it (platform, labels, steps, cache imports). The
        default builder is the engine's own BuildKit, whichever builder sent the build there."""
        listed = self.docker("buildx", "history", "ls", "--builder", "default", "--format", "json",
                             timeout=60).stdout
        records = {}
        for line in listed.splitlines():
            if line.strip():
                ref = json.loads(line)["ref"].rsplit("/", 1)[-1]
                records[ref] = json.loads(self.docker("buildx", "history", "inspect", "--builder", "default",
                                                      ref, "--format", "json", timeout=60).stdout)
        return records

    def build_log(self, ref: str) -> str:
        """The plain progress log BuildKit kept of build `ref` (`docker buildx history logs`)."""
        return self.docker("buildx", "history", "logs", "--builder", "default", ref, timeout=60).stdout

    def buildx_version(self, old: bool = False) -> str:
        out = self.docker("buildx", "version", env=self.old_buildx_env if old else self.env).stdout
        match = re.search(r"\bv?(\d+\.\d+\.\d+)", out)
        return match.group(1) if match else out.strip()

    def up(self) -> Engine:
        if not self.installed():
            self.install()
        self.start()
        return self


def main(argv: list[str]) -> int:
    engine = Engine()
    command = argv[1] if len(argv) > 1 else "up"
    if command == "up":
        engine.up()
        print(f"export DOCKER_HOST=unix://{engine.socket} DOCKER_CONFIG={engine.config}")
        print(f"export PATH={engine.bin / 'usr/bin'}:$PATH")
    elif command == "down":
        engine.stop()
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
