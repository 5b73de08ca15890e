"""Run ASGI apps with uvicorn on pre-bound sockets, and report readiness.

Binding the sockets ourselves gives a clear "port in use" error before anything starts and
the real port when 0 was asked for. uvicorn's access log is off (URLs carry authorization
codes), and X-Forwarded-* headers are ignored so a client cannot choose its own IP.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import json
import os
import signal
import socket
import tempfile
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any

import uvicorn

from cfmcp.errors import CfmcpError

GRACEFUL_SHUTDOWN_SECONDS = 2


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0 = any free port)."""
    if not 0 <= port <= 65535:
        raise CfmcpError(f"invalid port {port}", hint="use 1-65535, or 0 for any free port")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio disables Nagle (TCP_NODELAY) only on accepted sockets whose
    # protocol says TCP. With Nagle on, a response written in two pieces (head, then body) waits
    # for the client's delayed ACK: ~40 ms per request. TCP_NODELAY on the listener as well
    # (accepted sockets inherit it), whatever the event loop does.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CfmcpError(
                f"port {port} on {host} is already in use",
                hint="pick another with --port, or --port 0 for any free one",
            ) from None
        raise CfmcpError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", hint="check --host and --port"
        ) from None
    sock.set_inheritable(True)
    return sock


def origin_of(sock: socket.socket) -> str:
    """The http origin a local client uses to reach this socket."""
    host, port = sock.getsockname()[:2]
    ip = ipaddress.ip_address(host)
    if ip.is_unspecified:
        host = "127.0.0.1" if ip.version == 4 else "[::1]"
    elif ip.version == 6:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def write_ready_file(path: Path, origin: str) -> None:
    """Write {"origin": ...} to `path` atomically (readers never see a partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ready-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"origin": origin}, handle)
    os.replace(tmp, path)


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `serve_apps`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _config(app: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        lifespan="on",
        ws="none",
    )


async def serve_apps(
    bound: Sequence[tuple[Any, socket.socket]], on_ready: Callable[[], None]
) -> None:
    """Serve each (app, socket) until SIGINT/SIGTERM; call `on_ready` once all listen."""
    servers = [_Server(_config(app)) for app, _ in bound]
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            if server.should_exit:
                server.force_exit = True
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop)
    tasks = [
        asyncio.create_task(server.serve(sockets=[sock]))
        for server, (_, sock) in zip(servers, bound, strict=True)
    ]
    try:
        while not all(server.started for server in servers):
            done = [task for task in tasks if task.done()]
            if done:
                stop()
                break
            await asyncio.sleep(0.01)
        else:
            on_ready()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
    for result in results:
        if isinstance(result, SystemExit):
            raise CfmcpError("the server failed to start")
        if isinstance(result, BaseException):
            raise result
