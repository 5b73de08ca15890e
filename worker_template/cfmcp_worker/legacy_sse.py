"""Legacy HTTP+SSE upstreams (MCP 2024-11-05): a GET stream whose first event, `endpoint`,
names the URL the client POSTs its messages to (e.g. `/message?sessionId=…`).

Only used when the deployment says `upstream_transport = "sse"`; streamable-HTTP upstreams
never reach this module (the /mcp hot path gains one attribute check).

- GET /mcp is forwarded to the upstream's SSE URL with an `EndpointRewriter` on the Forward:
  the host feeds it the upstream body chunk by chunk. It holds back bytes only until the
  `endpoint` event is complete, replaces that event's URL by a Worker URL
  (`/mcp/message?endpoint=<signed>`), and from then on returns every chunk unchanged (events
  keep streaming one by one).
- The signed value carries the path and query the upstream announced, resolved against the
  upstream URL; an endpoint on another origin is never signed (the event is dropped). So
  POST /mcp/message can only reach a message endpoint the upstream itself named, on its own
  origin: a client cannot aim the PAT at another path or host (a tampered value fails the
  HMAC check and is refused with 404).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urljoin, urlsplit

from cfmcp_worker import log_lines
from cfmcp_worker.crypto import Signer
from cfmcp_worker.http_types import Forward, HttpRequest, HttpResponse
from cfmcp_worker.responses import json_response

MESSAGE_PATH = "/mcp/message"
ENDPOINT_PARAM = "endpoint"
SIGN_PREFIX = "sse-endpoint"
# An endpoint event longer than this is not an endpoint event: stop holding bytes back.
MAX_HELD_BYTES = 16 * 1024


class LegacySse:
    def __init__(self, signer: Signer, upstream_url: str) -> None:
        self._signer = signer
        parts = urlsplit(upstream_url)
        self._upstream_url = upstream_url
        self._origin = f"{parts.scheme}://{parts.netloc}"

    def stream(self, forward: Forward | HttpResponse, grant_id: str) -> Forward | HttpResponse:
        """The GET /mcp Forward (to the upstream's SSE URL), told to rewrite `endpoint` into a
        Worker URL only this grant's tokens can post to."""
        if isinstance(forward, Forward):
            forward.rewrite = EndpointRewriter(lambda url: self.sign_endpoint(url, grant_id))
        return forward

    def sign_endpoint(self, announced: str, grant_id: str) -> str | None:
        """The Worker URL for an upstream-announced endpoint, None when not on its origin."""
        target = urljoin(self._upstream_url, announced.strip())
        parts = urlsplit(target)
        if f"{parts.scheme}://{parts.netloc}" != self._origin or parts.fragment:
            log_lines.note(
                "the upstream announced a message endpoint on another origin; not forwarded"
            )
            return None
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        signed = self._signer.sign(SIGN_PREFIX, {"p": path, "g": grant_id})
        return f"{MESSAGE_PATH}?{ENDPOINT_PARAM}={quote(signed, safe='')}"

    def message_url(self, request: HttpRequest, grant_id: str) -> str | None:
        """The upstream message URL a POST /mcp/message may reach, None when not signed (or
        signed for another grant's stream)."""
        values = [v for k, v in parse_qsl(request.query) if k == ENDPOINT_PARAM]
        if len(values) != 1:
            return None
        payload = self._signer.verify(SIGN_PREFIX, values[0])
        if not payload or payload.get("g") != grant_id:
            return None
        path = payload.get("p")
        if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
            return None
        return self._origin + path

    @staticmethod
    def refused() -> HttpResponse:
        return json_response(
            404,
            {
                "error": "unknown_endpoint",
                "error_description": "not a message endpoint this server's upstream announced",
            },
        )


class EndpointRewriter:
    """Stateful SSE rewriter: `feed(chunk)` returns the bytes to send on now.

    Until the first event is complete it holds bytes back; that event, when it is `endpoint`,
    gets its data replaced; afterwards every chunk is returned as is (`done` is True).
    """

    __slots__ = ("_held", "_sign", "done")

    def __init__(self, sign) -> None:
        self._sign = sign
        self._held = b""
        self.done = False

    def feed(self, chunk: bytes) -> bytes:
        if self.done:
            return chunk
        self._held += chunk
        # A CR at the very end may be half of a CRLF: keep it raw until the next chunk.
        tail = b"\r" if self._held.endswith(b"\r") else b""
        held = self._held[:-1] if tail else self._held
        data = held.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        out = b""
        while True:
            end = data.find(b"\n\n")
            if end < 0:
                if len(data) > MAX_HELD_BYTES:
                    self.done = True
                    self._held = b""
                    return out + data + tail
                self._held = data + tail
                return out
            block, data = data[: end + 2], data[end + 2 :]
            if not _has_fields(block):  # comments (keep-alives) before the first event
                out += block
                continue
            self.done = True
            self._held = b""
            return out + self._rewrite(block) + data + tail

    def flush(self) -> bytes:
        """What is still held when the upstream body ends."""
        out, self._held = self._held, b""
        self.done = True
        return out

    def _rewrite(self, event: bytes) -> bytes:
        lines = event.rstrip(b"\n").split(b"\n")
        name = b"message"
        data: list[bytes] = []
        for line in lines:
            field, _, value = line.partition(b":")
            value = value[1:] if value.startswith(b" ") else value
            if field == b"event":
                name = value
            elif field == b"data":
                data.append(value)
        if name != b"endpoint":
            return event
        signed = self._sign(b"\n".join(data).decode("utf-8", "replace"))
        if signed is None:
            return b""
        return b"event: endpoint\ndata: " + signed.encode("ascii") + b"\n\n"


def _has_fields(block: bytes) -> bool:
    """Whether an SSE block has a field line (not only comments and blank lines)."""
    return any(line and not line.startswith(b":") for line in block.split(b"\n"))
