"""Which MCP transport an upstream speaks: streamable HTTP, or the legacy HTTP+SSE transport.

A small probe (no credentials needed when the upstream answers without them):
1. POST `initialize`: a 2xx JSON or event-stream answer → "streamable-http";
2. GET with `Accept: text/event-stream`: a 200 event stream whose first event is `endpoint`
   → "sse" (the POST URL is named by that event; cfmcp's Worker rewrites it).
Neither (e.g. both answer 401 without the PAT) → None; `guess_from_url` then decides by the
URL's path (a path ending in `/sse` is legacy SSE, anything else streamable HTTP).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

STREAMABLE_HTTP = "streamable-http"
LEGACY_SSE = "sse"
TRANSPORTS = (STREAMABLE_HTTP, LEGACY_SSE)
INITIALIZE_REQUEST = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "cfmcp-probe", "version": "1"},
    },
}
_MAX_FIRST_EVENT_BYTES = 16 * 1024


def guess_from_url(url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    return LEGACY_SSE if path.endswith("/sse") else STREAMABLE_HTTP


def probe_transport(
    http: httpx.Client, url: str, headers: dict[str, str] | None = None
) -> str | None:
    """The transport `url` answers with, None when the probe cannot tell (or no answer)."""
    headers = dict(headers or {})
    try:
        response = http.post(
            url,
            json=INITIALIZE_REQUEST,
            headers={**headers, "Accept": "application/json, text/event-stream"},
        )
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if 200 <= response.status_code < 300 and media in ("application/json", "text/event-stream"):
            return STREAMABLE_HTTP
        with http.stream("GET", url, headers={**headers, "Accept": "text/event-stream"}) as sse:
            media = sse.headers.get("content-type", "").split(";")[0].strip().lower()
            if sse.status_code != 200 or media != "text/event-stream":
                return None
            return LEGACY_SSE if _first_event_is_endpoint(sse) else None
    except httpx.HTTPError:
        return None


def _first_event_is_endpoint(response: httpx.Response) -> bool:
    text = ""
    for chunk in response.iter_text():
        text += chunk.replace("\r\n", "\n").replace("\r", "\n")
        while "\n\n" in text:
            block, text = text.split("\n\n", 1)
            lines = [line for line in block.split("\n") if line and not line.startswith(":")]
            if lines:
                return "event: endpoint" in lines or "event:endpoint" in lines
        if len(text) > _MAX_FIRST_EVENT_BYTES:
            return False
    return False


def detect_transport(url: str, headers: dict[str, str] | None = None, timeout: float = 5.0) -> str:
    """The probed transport, else the URL's guess."""
    with httpx.Client(timeout=timeout, follow_redirects=False) as http:
        found = probe_transport(http, url, headers)
    return found or guess_from_url(url)
