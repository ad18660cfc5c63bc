"""Serving an ASGI app (the console, the development issuer) with uvicorn on a socket we bind.

Binding the socket ourselves lets a service take port 0 and publish the port it got, as the
gRPC services do (`HOME/run/<name>.port`).
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

from mash.grpc_server import write_port_file


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0: any free port), handed to uvicorn."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve_http(app: Callable[..., Awaitable[None]], sock: socket.socket, port_file: Path) -> None:
    """Serve `app` (an ASGI application) on `sock` until SIGTERM/SIGINT, publishing the port
    in `port_file` first."""
    import uvicorn

    write_port_file(port_file, sock.getsockname()[1])
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            server_header=False)
    uvicorn.Server(config).run(sockets=[sock])
