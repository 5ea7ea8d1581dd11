"""The engine's own BuildKit as a standalone builder (buildx `remote` driver).

GitHub's runners build with a `docker-container` builder, which needs the
moby/buildkit image from a registry: not reachable here. The `docker` driver
cannot stand in for it everywhere: buildx refuses `push-by-digest` on it
("currently not implemented for docker driver"). dockerd embeds BuildKit and
serves its gRPC API behind an HTTP upgrade (`POST /grpc`, `Upgrade: h2c`), the
way the docker driver reaches it. This proxy listens on a unix socket, makes
that upgrade for each connection and then passes bytes both ways, so buildx's
`remote` driver talks to the same BuildKit as a standalone builder: same
image store and build cache, and the exporters a docker-container builder has.

One builder can have a node on each of several engines (`remote_builder`):
buildx sends each platform to the node that declares it (`--platform` on
`buildx create`), and merges the nodes' images into one index when it pushes.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from engine import Engine

UPGRADE = (b"POST /grpc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n"
           b"Content-Length: 0\r\n\r\n")


class GrpcProxy:
    """unix socket `listen` -> dockerd's BuildKit behind `docker_socket`; close() stops it."""

    def __init__(self, docker_socket: Path, listen: Path) -> None:
        self.docker_socket = docker_socket
        self.listen = listen
        listen.unlink(missing_ok=True)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(listen))
        self.server.listen(64)
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(str(self.docker_socket))
            upstream.sendall(UPGRADE)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = upstream.recv(4096)
                if not chunk:
                    raise OSError("dockerd closed the connection during the upgrade")
                head += chunk
            status, _, rest = head.partition(b"\r\n\r\n")
            if b" 101 " not in status.split(b"\r\n", 1)[0]:
                raise OSError(f"dockerd refused the upgrade: {status[:200]!r}")
            if rest:
                client.sendall(rest)
        except OSError:
            client.close()
            upstream.close()
            return
        threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()
        _pipe(upstream, client)

    def close(self) -> None:
        self.closed = True
        self.server.close()
        self.listen.unlink(missing_ok=True)


def _pipe(source: socket.socket, dest: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            dest.sendall(chunk)
    except OSError:
        pass
    finally:
        for s in (source, dest):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@dataclass(frozen=True)
class Node:
    """One node of a `remote` builder: `engine`'s BuildKit, declared for `platform`
    (`buildx create --platform`; None: the platforms BuildKit reports), named `name`."""

    engine: Engine
    platform: str | None = None
    name: str | None = None


@contextmanager
def remote_builder(nodes: Sequence[Node], name: str,
                   commands: list[list[str]] | None = None) -> Iterator[dict[str, str]]:
    """The environment of a `remote`-driver builder named `name` with one node per entry.

    It has its own DOCKER_CONFIG (under the first node's engine), so the
    engines' builder lists and current builders stay as they are for everyone
    else; not under /tmp, which the generated workflow's jobs see as their own
    (actions.py). The first node is created, the others appended
    (`buildx create --append`), each on a proxy to its engine's BuildKit.
    `commands`, when given, receives the docker commands that made the builder.
    """
    first = nodes[0].engine
    folder = first.state / "builders" / f"{name}-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    config = folder / "docker-config"
    config.mkdir(parents=True)
    (config / "cli-plugins").symlink_to(first.config / "cli-plugins")
    env = {**first.env, "DOCKER_CONFIG": str(config), "BUILDX_BUILDER": name}
    proxies: list[GrpcProxy] = []
    made = [] if commands is None else commands
    try:
        for i, node in enumerate(nodes):
            socket_name = "buildkit.sock" if len(nodes) == 1 else f"buildkit-{i}.sock"
            proxies.append(GrpcProxy(node.engine.socket, folder / socket_name))
            made.append(["docker", "buildx", "create", "--name", name, *(["--append"] if i else []),
                         "--driver", "remote", *(["--platform", node.platform] if node.platform else []),
                         *(["--node", node.name] if node.name else []), f"unix://{proxies[-1].listen}"])
            first.docker(*made[-1][1:], env=env)
        made.append(["docker", "buildx", "inspect", "--bootstrap", name])
        first.docker(*made[-1][1:], env=env, timeout=60)
        yield env
    finally:
        first.docker("buildx", "rm", name, env=env, check=False)
        for proxy in proxies:
            proxy.close()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def standalone_builder(engine: Engine, name: str = "standalone") -> Iterator[dict[str, str]]:
    """The environment of a `remote`-driver builder named `name` on `engine`'s BuildKit."""
    with remote_builder([Node(engine)], name) as env:
        yield env
