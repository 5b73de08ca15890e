"""PAT-only upstreams for the PAT-custody tests: the demo MCP server behind a bearer check,
optionally naming the PAT's expiry the way GitHub does, on either transport."""

from __future__ import annotations

import secrets
from typing import Any

from cfmcp.local.demo import build_demo_server, require_bearer
from cfmcp.pat.verdict import EXPIRATION_HEADER
from tests.integration.upstream import Recorder, ThreadedServer


def with_header(app: Any, name: str, value: str) -> Any:
    """Wrap an ASGI app so every HTTP response carries `name: value`."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_header(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (name.encode(), value.encode())]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_header)

    return wrapped


def require_current_bearer(app: Any, upstream: PatUpstream) -> Any:
    """Like the demo's `require_bearer`, but for whatever `upstream.pat` is now (so a test can
    revoke the PAT a Worker was deployed with)."""

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await require_bearer(app, upstream.pat)(scope, receive, send)

    return guarded


class PatUpstream(ThreadedServer):
    """The demo server at /mcp (streamable HTTP) or /sse (legacy SSE), needing `self.pat`;
    `expires`: the value of GitHub's expiry header on every answer (also on a 401)."""

    def __init__(self, *, sse: bool = False, expires: str | None = None) -> None:
        self.pat = "FAKE-pat-" + secrets.token_urlsafe(18)
        self.recorder = Recorder()
        server = build_demo_server()
        app: Any = require_current_bearer(
            server.sse_app() if sse else server.streamable_http_app(), self
        )
        if expires is not None:
            app = with_header(app, EXPIRATION_HEADER, expires)
        self.path = "/sse" if sse else "/mcp"
        super().__init__(self.recorder.wrap(app))

    def revoke(self) -> str:
        """Refuse the current PAT from now on; return the new one it accepts instead."""
        self.pat = "FAKE-pat-" + secrets.token_urlsafe(18)
        return self.pat

    @property
    def url(self) -> str:
        return self.origin + self.path

    def start(self) -> PatUpstream:
        super().start()
        return self
