"""The ASGI adapter: HTTP request → core `HttpRequest`, core decision → HTTP response.

A `Forward` is carried out with httpcore (httpx's own transport layer, without the client's
cookie jar, auth and redirect machinery: ~0.3 ms of CPU less per proxied request): exactly the
core's headers and body (plus Host and Content-Length, as httpx adds them), no redirects, the
response streamed as it comes (bytes untouched, SSE event by event), and the upstream response
closed as soon as the client goes away.

Only requests addressed to this server are answered (DNS rebinding): the Host header must be
`localhost` or an IP address; anything else (a name an attacker's DNS points at 127.0.0.1)
gets a 421. Any port is accepted: a rebinding page always names itself by a DNS name, and a
forwarding proxy in front (as the tests' fake Cloudflare edge is) keeps its own port in Host.
The Host also becomes the issuer locally.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
from collections.abc import AsyncIterable, Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

import httpcore

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY_BYTES = 4 * 1024 * 1024
# Connection framing is the ASGI server's job; these never go out as given.
_FRAMING_HEADERS = {"transfer-encoding", "connection", "keep-alive"}

log = logging.getLogger("cfmcp.dev")


class BodyTooLarge(Exception):
    pass


# Long reads for SSE; the rest as httpx's defaults.
UPSTREAM_TIMEOUTS = {"connect": 10.0, "read": None, "write": 30.0, "pool": 10.0}
# What httpcore raises when a request gets no response, or loses the rest of its body.
PROBE_MAX_BYTES = 16 * 1024 * 1024
UPSTREAM_ERRORS = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ProxyError,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def upstream_pool() -> httpcore.AsyncConnectionPool:
    """Keep-alive connections for upstream requests (httpx's limits; no proxies from env)."""
    return httpcore.AsyncConnectionPool(
        max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0
    )


@functools.lru_cache(maxsize=64)
def _upstream_target(url: str) -> tuple[httpcore.URL, bytes]:
    """The parsed URL and its Host header value (the port only when not the default)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return httpcore.URL(url), host.encode("ascii")


def upstream_request(forward: Any) -> httpcore.Request:
    """The core's `Forward` as an httpcore request: its headers as given, then Host and
    Content-Length when it has none (placed first, as httpx does)."""
    url, host = _upstream_target(forward.url)
    given = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in forward.headers]
    names = {k.lower() for k, _ in given}
    auto = [] if b"host" in names else [(b"Host", host)]
    if forward.body and b"content-length" not in names and b"transfer-encoding" not in names:
        auto.append((b"Content-Length", str(len(forward.body)).encode("ascii")))
    return httpcore.Request(
        forward.method,
        url,
        headers=auto + given,
        content=forward.body,
        extensions={"timeout": UPSTREAM_TIMEOUTS},
    )


def response_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """Upstream response headers with lower-case names, values byte for byte (latin-1)."""
    return [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw]


def request_url(scope: Scope, headers: dict[str, str]) -> str:
    """The absolute URL as the client addressed it (Host header, raw path, query)."""
    scheme = scope.get("scheme", "http")
    host = headers.get("host")
    if not host:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    raw_path = scope.get("raw_path") or scope.get("path", "/").encode("utf-8")
    path = raw_path.decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")


def host_is_this_server(host: str | None) -> bool:
    """Whether a Host header names this machine by address: 127.0.0.1:PORT, localhost:PORT,
    [::1]:PORT or another IP address (never a DNS name, which could be rebound)."""
    if not host:
        return False
    if host.startswith("["):
        name, bracket, port = host[1:].partition("]")
        if not bracket or (port and not port.startswith(":")):
            return False
        port = port[1:]
        if ":" not in name:
            return False
    else:
        name, _, port = host.partition(":")
    if port and not port.isdigit():
        return False
    if name.lower() == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def lower_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-case names; repeated headers joined with ", " (cookies with "; ")."""
    merged: dict[str, str] = {}
    for name_b, value_b in raw:
        name = name_b.decode("latin-1").lower()
        value = value_b.decode("latin-1")
        if name in merged:
            merged[name] += ("; " if name == "cookie" else ", ") + value
        else:
            merged[name] = value
    return merged


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None when the client went away first."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if len(body) > limit:
            raise BodyTooLarge
        if not message.get("more_body", False):
            return bytes(body)


def encode_headers(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [
        (k.lower().encode("latin-1"), v.encode("latin-1"))
        for k, v in headers
        if k.lower() not in _FRAMING_HEADERS
    ]


async def send_response(send: Send, response: Any) -> None:
    """Send a complete core `HttpResponse`."""
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": encode_headers(list(response.headers)),
        }
    )
    await send({"type": "http.response.body", "body": response.body})


async def send_plain(send: Send, status: int, text: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": text.encode("utf-8")})


class LocalWorker:
    """ASGI app around one `WorkerApp` of the bundle's core."""

    def __init__(
        self,
        worker_app: Any,
        core_types: Any,
        *,
        max_body: int = MAX_BODY_BYTES,
        pool_factory: Callable[[], httpcore.AsyncConnectionPool] = upstream_pool,
    ) -> None:
        self.worker_app = worker_app
        self.types = core_types
        self.max_body = max_body
        self._pool_factory = pool_factory
        self._pool: httpcore.AsyncConnectionPool | None = None
        self._background: set[asyncio.Task[None]] = set()

    @property
    def pool(self) -> httpcore.AsyncConnectionPool:
        if self._pool is None:
            self._pool = self._pool_factory()
        return self._pool

    async def send_upstream(self, forward: Any) -> tuple[int, list[tuple[str, str]], bytes]:
        """A request the core makes itself (the policy gate's tools/list): the whole answer,
        PROBE_MAX_BYTES at most. Network errors propagate to the core, which logs them."""
        response = await self.pool.handle_async_request(upstream_request(forward))
        try:
            body = bytearray()
            async for chunk in response.aiter_stream():
                body += chunk
                if len(body) > PROBE_MAX_BYTES:
                    break
            return response.status, response_headers(response.headers), bytes(body)
        finally:
            await response.aclose()

    def _run_background_work(self) -> None:
        """The core's after-response work (a KV record), as a task nobody waits for."""
        take = getattr(self.worker_app, "background_work", None)  # None: a bundle from before
        work = take() if take is not None else None
        if work is None:
            return
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)  # a reference, or the task may be collected mid-way
        task.add_done_callback(self._background.discard)

    async def aclose(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = lower_headers(scope.get("headers", []))
        if not host_is_this_server(headers.get("host")):
            await send_plain(
                send,
                421,
                "this server answers only its own address "
                "(127.0.0.1, localhost or [::1] with its port)",
            )
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            await send_plain(send, 413, "request body too large")
            return
        try:
            body = await read_body(receive, self.max_body)
        except BodyTooLarge:
            await send_plain(send, 413, "request body too large")
            return
        if body is None:
            return
        client = scope.get("client")
        request = self.types.HttpRequest(
            method=scope["method"],
            url=request_url(scope, headers),
            headers=headers,
            body=body,
            client_ip=client[0] if client else None,
        )
        result = await self.worker_app.handle(request)
        if isinstance(result, self.types.Forward):
            await self._forward(request, result, receive, send)
        else:
            await send_response(send, result)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _forward(self, request: Any, forward: Any, receive: Receive, send: Send) -> None:
        try:
            response = await self.pool.handle_async_request(upstream_request(forward))
        except UPSTREAM_ERRORS as exc:
            log.warning("upstream request failed: %s", type(exc).__name__)
            await send_response(
                send,
                self.worker_app.upstream_error(
                    request, f"upstream unreachable ({type(exc).__name__})", forward
                ),
            )
            return
        try:
            verdict = self.worker_app.upstream_response(
                request, response.status, response_headers(response.headers), forward
            )
            self._run_background_work()
            if not isinstance(verdict, self.types.PassThrough):
                await response.aclose()
                await send_response(send, verdict)
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": verdict.status,
                    "headers": encode_headers(list(verdict.headers)),
                }
            )
            chunks: AsyncIterable[bytes] = response.aiter_stream()
            rewrite = forward.rewrite  # legacy SSE's `endpoint` event, a tools/list filter
            if rewrite is not None:
                chunks = _rewritten(chunks, rewrite)
            await _stream_until_disconnect(chunks, receive, send)
        finally:
            await response.aclose()


async def _rewritten(chunks: AsyncIterable[bytes], rewrite: Any) -> AsyncIterable[bytes]:
    """The upstream chunks through the core's rewriter, each sent on as soon as it returns."""
    async for chunk in chunks:
        out = rewrite.feed(chunk)
        if out:
            yield out
    rest = rewrite.flush()
    if rest:
        yield rest


async def _stream_until_disconnect(
    chunks: AsyncIterable[bytes], receive: Receive, send: Send
) -> None:
    """Relay the upstream body chunk by chunk; stop as soon as the client disconnects.

    A watcher task waits for the disconnect and cancels the relay, also while the relay waits
    on an idle upstream (an SSE stream). Plain asyncio: an anyio task group cost ~0.1 ms of CPU
    per request. The watcher is cancelled before the body ends (uvicorn's `receive` reports a
    disconnect once the response is complete), so it never cancels anything after the relay.
    """
    relay = asyncio.current_task()
    assert relay is not None
    client_gone = False

    async def watch_disconnect() -> None:
        nonlocal client_gone
        while (await receive())["type"] != "http.disconnect":
            pass
        client_gone = True
        relay.cancel()

    watcher = asyncio.get_running_loop().create_task(watch_disconnect())
    try:
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except asyncio.CancelledError:
        if not client_gone:
            raise
        relay.uncancel()
        return
    except UPSTREAM_ERRORS as exc:
        # Headers are out already: all that is left is to end the body.
        log.warning("upstream stream broke off: %s", type(exc).__name__)
    except OSError:  # the client went away while we were sending
        return
    finally:
        watcher.cancel()
    with contextlib.suppress(OSError):
        await send({"type": "http.response.body", "body": b"", "more_body": False})
