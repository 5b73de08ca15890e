"""A small PAT-only MCP server for `cfmcp dev --demo` and the tests.

Built with the official `mcp` SDK (streamable HTTP). It answers only requests carrying
`Authorization: Bearer <PAT>` (401 otherwise), like the upstream servers cfmcp fronts.
Tools: `echo`, `add`, `slow_count` (a progress notification per step), all annotated
read-only, and `write_note`, which changes state (so a read-only policy has one to refuse).
"""

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations

Scope = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]
]

SERVER_NAME = "cfmcp-demo"


def build_demo_server() -> MCPServer:
    """The demo MCP server with its tools."""
    server = MCPServer(SERVER_NAME, instructions="A demo server behind cfmcp.", log_level="WARNING")
    reads = ToolAnnotations(read_only_hint=True)
    notes: list[str] = []

    @server.tool(annotations=reads)
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @server.tool(annotations=reads)
    def add(a: float, b: float) -> float:
        """Add two numbers."""
        return a + b

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
    def write_note(text: str) -> str:
        """Keep a note (in memory): the demo's one tool that writes."""
        notes.append(text)
        return f"{len(notes)} note(s) kept"

    @server.tool(annotations=reads)
    async def slow_count(ctx: Context, count: int = 3, delay: float = 0.5) -> str:
        """Count to `count`, sending a progress notification every `delay` seconds."""
        count = max(1, min(count, 50))
        delay = max(0.0, min(delay, 5.0))
        for step in range(1, count + 1):
            await anyio.sleep(delay)
            await ctx.report_progress(step, count, f"step {step} of {count}")
        return f"counted to {count}"

    return server


def require_bearer(app: ASGIApp, token: str) -> ASGIApp:
    """Wrap an ASGI app so HTTP requests need `Authorization: Bearer <token>`."""
    expected = f"Bearer {token}".encode()

    async def guarded(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers", [])).get(b"authorization", b"")
            if not hmac.compare_digest(given, expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b'Bearer realm="demo"'),
                        ],
                    }
                )
                await send(
                    {
                        "type": "http.response.body",
                        "body": b'{"error":"invalid_token","error_description":'
                        b'"this server needs its personal access token"}',
                    }
                )
                return
        await app(scope, receive, send)

    return guarded


def demo_app(token: str) -> ASGIApp:
    """The demo server's ASGI app at /mcp, guarded by `token`."""
    return require_bearer(build_demo_server().streamable_http_app(), token)
