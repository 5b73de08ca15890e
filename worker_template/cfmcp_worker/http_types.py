"""Host-neutral HTTP values exchanged between a host and the Worker core."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class HttpRequest:
    """An incoming request as the host saw it.

    `url` is absolute (scheme, host, path, query) as the client addressed it; `headers`
    maps lower-case names to values (repeated headers joined with ", "); `body` is the whole
    request body (hosts cap its size); `client_ip` is the client's address when known
    (`CF-Connecting-IP` on Workers, the socket peer locally).
    """

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    client_ip: str | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @property
    def query(self) -> str:
        return urlsplit(self.url).query

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass(frozen=True)
class HttpResponse:
    """A complete response produced by the core."""

    status: int
    headers: Headers = field(default_factory=list)
    body: bytes = b""


@dataclass(frozen=True)
class Forward:
    """The core's decision to proxy a request to the upstream MCP server.

    The host sends `method` to `url` with exactly `headers` and `body` (the core has already
    stripped client credentials and injected the upstream's), then calls
    `WorkerApp.upstream_response` with the upstream's status and headers, and streams the
    upstream body to the client unbuffered when that returns a `PassThrough`.
    """

    method: str
    url: str
    headers: Headers
    body: bytes = b""


@dataclass(frozen=True)
class PassThrough:
    """Stream the upstream body to the client with this status and these headers."""

    status: int
    headers: Headers
