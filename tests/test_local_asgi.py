"""The local runtime's ASGI adapter, with a stand-in core (the real one runs in subprocesses).

Checks what the host owes the core per docs/CONTRACTS.md: the request as the client sent it,
exactly the core's headers upstream, a streamed (not buffered) upstream body, upstream errors
and verdicts handed back to the core, and the upstream closed when the client goes away.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from cfmcp.local.asgi import LocalWorker
from tests.integration.upstream import ThreadedServer


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    client_ip: str | None = None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass(frozen=True)
class Forward:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    rewrite: Any = None


@dataclass(frozen=True)
class PassThrough:
    status: int
    headers: list[tuple[str, str]]


TYPES = SimpleNamespace(
    HttpRequest=HttpRequest, HttpResponse=HttpResponse, Forward=Forward, PassThrough=PassThrough
)


class FakeCore:
    """Answers /echo itself, forwards everything else to `upstream` with fixed headers."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requests: list[HttpRequest] = []
        self.verdicts: list[tuple[int, list[tuple[str, str]]]] = []
        self.errors: list[str] = []

    async def handle(self, request: HttpRequest) -> HttpResponse | Forward:
        self.requests.append(request)
        if urlsplit(request.url).path == "/echo":
            return HttpResponse(200, [("content-type", "text/plain")], b"core says hi")
        path = request.url.split("/", 3)[3]
        return Forward(
            request.method,
            f"{self.upstream}/{path}",
            [("x-injected", "pat"), ("accept", "text/event-stream")],
            request.body,
        )

    def upstream_response(
        self, request: HttpRequest, status: int, headers: list[tuple[str, str]], forward: Forward
    ) -> HttpResponse | PassThrough:
        self.verdicts.append((status, headers))
        if status == 401:
            return HttpResponse(502, [("content-type", "text/plain")], b"upstream refused")
        kept = [(k, v) for k, v in headers if k in ("content-type", "x-up")]
        return PassThrough(status, kept)

    def upstream_error(self, request: HttpRequest, reason: str, forward: Forward) -> HttpResponse:
        self.errors.append(reason)
        return HttpResponse(502, [("content-type", "text/plain")], reason.encode())


class Upstream:
    """An ASGI upstream: /sse streams events slowly, /forever never ends, /denied is 401."""

    def __init__(self) -> None:
        self.seen_headers: list[list[tuple[bytes, bytes]]] = []
        self.closed = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.seen_headers.append(list(scope["headers"]))
        path = scope["path"]
        if path == "/denied":
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b"no"})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"x-up", b"1"),
                    (b"x-dropped", b"1"),
                ],
            }
        )
        count = 3 if path == "/sse" else 10_000
        streaming = asyncio.create_task(self._events(send, count))
        if path == "/forever":
            # like any streaming server: notice the proxy hanging up, then stop
            while (await receive())["type"] != "http.disconnect":
                pass
            streaming.cancel()
            self.closed.set()
        else:
            await streaming

    @staticmethod
    async def _events(send: Any, count: int) -> None:
        for i in range(count):
            await send(
                {
                    "type": "http.response.body",
                    "more_body": True,
                    "body": f"event: message\ndata: {i}\n\n".encode(),
                }
            )
            await asyncio.sleep(0.3)
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[Upstream, str]]:
    app = Upstream()
    with ThreadedServer(app) as server:
        yield app, server.origin


@pytest.fixture
def proxied(upstream: tuple[Upstream, str]) -> Iterator[tuple[FakeCore, str]]:
    core = FakeCore(upstream[1])
    with ThreadedServer(LocalWorker(core, TYPES)) as server:
        yield core, server.origin


def test_request_as_the_client_sent_it(proxied: tuple[FakeCore, str]) -> None:
    core, origin = proxied
    response = httpx.post(
        f"{origin}/echo?x=1&y=%2F",
        content=b"payload",
        headers=[("X-Mixed-Case", "a"), ("X-Mixed-Case", "b")],
    )
    assert response.status_code == 200 and response.text == "core says hi"
    request = core.requests[-1]
    port = origin.rsplit(":", 1)[1]
    assert request.url == f"http://127.0.0.1:{port}/echo?x=1&y=%2F"
    assert request.method == "POST"
    assert request.body == b"payload"
    assert request.client_ip == "127.0.0.1"
    assert request.headers["x-mixed-case"] == "a, b"
    assert all(name == name.lower() for name in request.headers)


def test_forwarded_headers_are_exactly_the_cores(
    proxied: tuple[FakeCore, str], upstream: tuple[Upstream, str]
) -> None:
    _, origin = proxied
    app, _ = upstream
    app.seen_headers.clear()
    httpx.post(
        f"{origin}/sse", content=b"{}", headers={"Authorization": "Bearer client", "Cookie": "c=1"}
    )
    names = {name.decode().lower() for name, _ in app.seen_headers[-1]}
    assert names == {"x-injected", "accept", "host", "content-length"}


def test_sse_arrives_event_by_event(proxied: tuple[FakeCore, str]) -> None:
    core, origin = proxied
    arrivals = []
    with httpx.stream("GET", f"{origin}/sse", timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["x-up"] == "1"
        assert "x-dropped" not in response.headers
        for chunk in response.iter_raw():
            if chunk:
                arrivals.append((time.monotonic(), chunk))
    body = b"".join(chunk for _, chunk in arrivals)
    assert body == b"".join(f"event: message\ndata: {i}\n\n".encode() for i in range(3))
    assert arrivals[-1][0] - arrivals[0][0] >= 0.4, "the body was buffered"
    assert core.verdicts[-1][0] == 200


def test_upstream_verdict_response_replaces_upstream(proxied: tuple[FakeCore, str]) -> None:
    _, origin = proxied
    response = httpx.get(f"{origin}/denied")
    assert response.status_code == 502
    assert response.text == "upstream refused"


def test_unreachable_upstream_goes_to_upstream_error(upstream: tuple[Upstream, str]) -> None:
    core = FakeCore("http://127.0.0.1:9")  # discard port: connection refused
    with ThreadedServer(LocalWorker(core, TYPES)) as server:
        response = httpx.get(f"{server.origin}/anything")
    assert response.status_code == 502
    assert core.errors and "ConnectError" in core.errors[0]


def test_client_disconnect_closes_upstream(
    proxied: tuple[FakeCore, str], upstream: tuple[Upstream, str]
) -> None:
    app, _ = upstream
    app.closed.clear()
    _, origin = proxied
    with httpx.stream("GET", f"{origin}/forever", timeout=10) as response:
        for chunk in response.iter_raw():
            if chunk:
                break
    assert app.closed.wait(timeout=5), "the upstream stream stayed open"


def test_body_cap(upstream: tuple[Upstream, str]) -> None:
    core = FakeCore(upstream[1])
    with ThreadedServer(LocalWorker(core, TYPES, max_body=1024)) as server:
        response = httpx.post(f"{server.origin}/echo", content=b"x" * 2048)
        chunked = httpx.post(f"{server.origin}/echo", content=iter([b"x" * 800] * 3))
    assert response.status_code == 413
    assert chunked.status_code == 413
    assert core.requests == []


def test_only_its_own_host_is_answered(proxied: tuple[FakeCore, str]) -> None:
    """DNS rebinding: a page on a name its attacker points at 127.0.0.1 reaches the socket
    but names itself in Host; only addresses and localhost (any port) are answered."""
    core, origin = proxied
    port = origin.rsplit(":", 1)[1]
    for host in (
        f"127.0.0.1:{port}",
        f"localhost:{port}",
        f"[::1]:{port}",
        f"LOCALHOST:{port}",
        "127.0.0.1:1",
        "localhost",
    ):
        response = httpx.get(f"{origin}/echo", headers={"Host": host})
        assert response.status_code == 200, host
    before = len(core.requests)
    for host in (
        f"attacker.example:{port}",
        f"127.0.0.1.nip.io:{port}",
        f"localhost.:{port}",
        f"[::1]x:{port}",
        f"127.0.0.1:{port}x",
    ):
        response = httpx.get(f"{origin}/echo", headers={"Host": host})
        assert response.status_code == 421, host
    assert len(core.requests) == before, "a misdirected request reached the core"
