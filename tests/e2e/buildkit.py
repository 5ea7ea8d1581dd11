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
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def standalone_builder(engine: Engine, name: str = "standalone") -> Iterator[dict[str, str]]:
    """The environment of a `remote`-driver builder named `name` on `engine`'s BuildKit.

    It has its own DOCKER_CONFIG, so the engine's builder list and current
    builder stay as they are for everyone else; not under /tmp, which the
    generated workflow's jobs see as their own (actions.py).
    """
    folder = engine.state / "builders" / f"{name}-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    config = folder / "docker-config"
    config.mkdir(parents=True)
    (config / "cli-plugins").symlink_to(engine.config / "cli-plugins")
    proxy = GrpcProxy(engine.socket, folder / "buildkit.sock")
    env = {**engine.env, "DOCKER_CONFIG": str(config), "BUILDX_BUILDER": name}
    try:
        engine.docker("buildx", "create", "--name", name, "--driver", "remote", f"unix://{proxy.listen}", env=env)
        engine.docker("buildx", "inspect", "--bootstrap", env=env, timeout=60)
        yield env
    finally:
        engine.docker("buildx", "rm", name, env=env, check=False)
        proxy.close()
        shutil.rmtree(folder, ignore_errors=True)
