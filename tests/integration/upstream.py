"""A real PAT-only upstream MCP server (official SDK) that records what reached it.

It runs in a thread of the test process so tests can look at every request's method, path
and headers: the upstream must see the PAT and never the client's token or cookies.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from cfmcp.local.demo import build_demo_server, require_bearer
from cfmcp.local.server import bind_socket, origin_of


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]


@dataclass
class Recorder:
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, app: Any) -> Any:
        async def recording(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                headers: dict[str, str] = {}
                for name, value in scope.get("headers", []):
                    key = name.decode("latin-1").lower()
                    headers[key] = (headers[key] + ", " if key in headers else "") + value.decode(
                        "latin-1"
                    )
                with self.lock:
                    self.seen.append(
                        Seen(
                            scope["method"],
                            scope["path"],
                            scope.get("query_string", b"").decode(),
                            headers,
                        )
                    )
            await app(scope, receive, send)

        return recording

    def snapshot(self) -> list[Seen]:
        with self.lock:
            return list(self.seen)

    def clear(self) -> None:
        with self.lock:
            self.seen.clear()


class ThreadedServer:
    """Any ASGI app served by uvicorn on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: Any) -> None:
        self._sock = bind_socket("127.0.0.1", 0)
        self.origin = origin_of(self._sock)
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                log_level="warning",
                access_log=False,
                lifespan="auto",
                ws="none",
                timeout_graceful_shutdown=1,
            )
        )
        self._thread = threading.Thread(target=self._run, name="asgi-server", daemon=True)

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def start(self) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RecordingUpstream(ThreadedServer):
    """The demo MCP server behind a bearer-PAT check, recording every request."""

    def __init__(self, *, json_response: bool = False) -> None:
        """`json_response`: answer POSTs with one JSON body instead of an SSE stream."""
        self.pat = "pat-" + secrets.token_urlsafe(24)
        self.recorder = Recorder()
        self.json_response = json_response
        app = build_demo_server().streamable_http_app(json_response=json_response)
        super().__init__(self.recorder.wrap(require_bearer(app, self.pat)))

    @property
    def mcp_url(self) -> str:
        return f"{self.origin}/mcp"

    def start(self) -> RecordingUpstream:
        super().start()
        return self
