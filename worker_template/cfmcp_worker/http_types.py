"""Host-neutral HTTP values exchanged between a host and the Worker core.

Plain classes with __slots__ rather than dataclasses: creating dataclasses costs measurable
start-up time under Pyodide (they compile methods with exec), and the Worker's cold start is
paid on every new isolate.
"""

from __future__ import annotations

from urllib.parse import urlsplit

Headers = list[tuple[str, str]]
SSE = "text/event-stream"


def media_type(headers: Headers) -> str:
    """The Content-Type's media type, lower-case, without parameters ("" when none)."""
    value = next((v for n, v in headers if n.lower() == "content-type"), "")
    return value.split(";", 1)[0].strip().lower()


class HttpRequest:
    """An incoming request as the host saw it.

    `url` is absolute (scheme, host, path, query) as the client addressed it; `headers`
    maps lower-case names to values (repeated headers joined with ", "); `body` is the whole
    request body (hosts cap its size); `client_ip` is the client's address when known
    (`CF-Connecting-IP` on Workers, the socket peer locally). `line` is the request's log
    line (`log_lines.RequestLine`), set by `WorkerApp.handle`.
    """

    __slots__ = ("body", "client_ip", "headers", "line", "method", "url")

    def __init__(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        client_ip: str | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers if headers is not None else {}
        self.body = body
        self.client_ip = client_ip
        self.line = None

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

    def __repr__(self) -> str:  # no headers or body: they carry credentials
        return f"HttpRequest({self.method} {self.path})"


class HttpResponse:
    """A complete response produced by the core."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: Headers | None = None, body: bytes = b"") -> None:
        self.status = status
        self.headers = headers if headers is not None else []
        self.body = body

    def __repr__(self) -> str:  # a token response's body, a redirect's code: credentials
        names = [name for name, _ in self.headers]
        return f"HttpResponse({self.status}, headers={names}, {len(self.body)} bytes)"


class Forward:
    """The core's decision to proxy a request to the upstream MCP server.

    The host sends `method` to `url` with exactly `headers` and `body` (the core has already
    stripped client credentials and injected the upstream's), then calls
    `WorkerApp.upstream_response` with the upstream's status and headers and this Forward, and
    streams the upstream body to the client unbuffered when that returns a `PassThrough`
    (through `rewrite` when it is set).
    """

    __slots__ = ("audit", "body", "headers", "method", "rewrite", "started", "url")

    def __init__(
        self, method: str, url: str, headers: Headers, body: bytes = b"", started: float = 0.0
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        # The tools/call this request makes, logged when the upstream answers (gate.py), and
        # when the core decided to send it.
        self.audit: list = []
        self.started = started
        # None (always, for streamable-HTTP upstreams): stream the body untouched. Else an
        # object with `feed(chunk) -> bytes` and `flush() -> bytes` (legacy_sse.py): the host
        # passes every upstream chunk through it, in order, and sends what it returns.
        self.rewrite = None

    def __repr__(self) -> str:  # headers hold the upstream credential: never show them
        return f"Forward({self.method} {self.url})"


class PassThrough:
    """Stream the upstream body to the client with this status and these headers."""

    __slots__ = ("headers", "status")

    def __init__(self, status: int, headers: Headers) -> None:
        self.status = status
        self.headers = headers

    def __repr__(self) -> str:  # header values (a session id) stay out of logs
        return f"PassThrough({self.status}, headers={[name for name, _ in self.headers]})"
