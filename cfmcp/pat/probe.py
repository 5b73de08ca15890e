"""One authenticated request that proves the upstream accepts the PAT.

Streamable HTTP: POST `initialize` (what every client sends first) with the PAT as the Worker
sends it; a 2xx answer means accepted, and the session it may open is closed (DELETE with its
`Mcp-Session-Id`). Legacy SSE: GET the event stream; a 200 `text/event-stream` means accepted
(only the headers are waited for: the body never ends). 401 means refused, 403 forbidden
(cfmcp.worker.contract's status sets, the Worker's too). Anything else (no answer, 5xx, 404,
a redirect) proves nothing either way: unchecked.

An upstream that checks the PAT only on tool calls, not on `initialize`, is not caught here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

import httpx

from cfmcp.pat.verdict import EXPIRATION_HEADER, PatStatus, PatVerdict, parse_expiration
from cfmcp.project.config import UpstreamConfig
from cfmcp.transport import INITIALIZE_REQUEST, LEGACY_SSE
from cfmcp.worker.contract import PAT_FORBIDDEN_STATUSES, PAT_REFUSED_STATUSES

USER_AGENT = "cfmcp-pat-check"
MCP_ACCEPT = "application/json, text/event-stream"


def credential_headers(upstream: UpstreamConfig, token: str) -> dict[str, str]:
    """The headers the Worker injects: the static extra headers and the credential."""
    headers = dict(upstream.extra_headers)
    headers[upstream.auth_header] = upstream.auth_format.replace("{token}", token)
    return headers


def check_pat(
    upstream: UpstreamConfig,
    token: str,
    *,
    timeout: float = 10.0,
    http: httpx.Client | None = None,
) -> PatVerdict:
    """Ask the upstream whether it accepts `token`; never raises for network errors."""
    client = http or httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
    )
    try:
        if upstream.transport == LEGACY_SSE:
            return _check_sse(client, upstream, token)
        return _check_initialize(client, upstream, token)
    except httpx.HTTPError as exc:
        return PatVerdict(
            PatStatus.unchecked, f"{upstream.url} did not answer ({type(exc).__name__})"
        )
    except (UnicodeError, ValueError) as exc:  # a header that cannot be sent; it holds the PAT
        return PatVerdict(
            PatStatus.unchecked, f"the PAT cannot be sent in a header ({type(exc).__name__})"
        )
    finally:
        if http is None:
            client.close()


def _check_initialize(http: httpx.Client, upstream: UpstreamConfig, token: str) -> PatVerdict:
    headers = {**credential_headers(upstream, token), "Accept": MCP_ACCEPT}
    with http.stream("POST", upstream.url, json=INITIALIZE_REQUEST, headers=headers) as response:
        verdict = _verdict("POST initialize", response)
        session = response.headers.get("mcp-session-id")
    if verdict.status is PatStatus.accepted and session:
        _close_session(http, upstream.url, {**headers, "Mcp-Session-Id": session})
    return verdict


def _check_sse(http: httpx.Client, upstream: UpstreamConfig, token: str) -> PatVerdict:
    headers = {**credential_headers(upstream, token), "Accept": "text/event-stream"}
    with http.stream("GET", upstream.url, headers=headers) as response:
        verdict = _verdict("GET (SSE stream)", response)
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if verdict.status is PatStatus.accepted and media != "text/event-stream":
        return PatVerdict(
            PatStatus.unchecked,
            f"GET (SSE stream) → {verdict.http_status} {media or 'no content type'}, "
            "not an event stream",
            verdict.http_status,
        )
    return verdict


def _verdict(what: str, response: httpx.Response) -> PatVerdict:
    code = response.status_code
    expires_at = parse_expiration(response.headers.get(EXPIRATION_HEADER))
    if 200 <= code < 300:
        return PatVerdict(PatStatus.accepted, f"{what} → {code}", code, expires_at)
    if code in PAT_REFUSED_STATUSES:
        return PatVerdict(PatStatus.refused, f"{what} → {code}", code, expires_at)
    if code in PAT_FORBIDDEN_STATUSES:
        return PatVerdict(PatStatus.forbidden, f"{what} → {code}", code, expires_at)
    return PatVerdict(
        PatStatus.unchecked, f"{what} → {code}, which says nothing about the PAT", code
    )


def _close_session(http: httpx.Client, url: str, headers: Mapping[str, str]) -> None:
    """End the session `initialize` opened (best effort: its answer does not matter)."""
    with contextlib.suppress(httpx.HTTPError):
        http.delete(url, headers=dict(headers))
