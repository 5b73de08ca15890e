"""Legacy HTTP+SSE upstreams: the `endpoint` event rewriter and POST /mcp/message."""

from __future__ import annotations

import sys
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.core.conftest import PAT, UPSTREAM
from tests.core.flow import call, full_flow

UPSTREAM_ORIGIN = "https://upstream.example.com"


@pytest.fixture
def sse_app(make_app):
    return make_app(upstream_transport="sse")


async def _bearer(app, core) -> dict[str, str]:
    token = (await full_flow(app, core))[1]["access_token"]
    return {"authorization": f"Bearer {token}"}


async def _worker_endpoint(app, core, auth, announced: bytes) -> str:
    """GET /mcp, then feed the upstream's endpoint event through the Forward's rewriter."""
    forward = await call(app, core, "GET", "/mcp", headers={**auth, "accept": "text/event-stream"})
    assert type(forward).__name__ == "Forward" and forward.url == UPSTREAM
    assert forward.rewrite is not None
    out = forward.rewrite.feed(b"event: endpoint\r\ndata: " + announced + b"\r\n\r\n")
    lines = out.decode().splitlines()
    assert lines[0] == "event: endpoint" and lines[1].startswith("data: /mcp/message?endpoint=")
    return lines[1][len("data: ") :]


async def test_streamable_http_upstreams_get_no_rewriter_and_no_message_path(app, core):
    auth = await _bearer(app, core)
    forward = await call(app, core, "GET", "/mcp", headers=auth)
    assert forward.rewrite is None
    assert (await call(app, core, "POST", "/mcp/message", headers=auth)).status == 404


async def test_message_post_reaches_only_the_announced_endpoint_with_the_pat(sse_app, core):
    auth = await _bearer(sse_app, core)
    endpoint = await _worker_endpoint(sse_app, core, auth, b"/message?sessionId=abc")
    forward = await call(sse_app, core, "POST", endpoint, headers=auth, body=b"{}")
    assert forward.url == f"{UPSTREAM_ORIGIN}/message?sessionId=abc"
    assert ("Authorization", f"Bearer {PAT}") in forward.headers
    assert forward.rewrite is None


async def test_message_post_needs_the_bearer_token(sse_app, core):
    auth = await _bearer(sse_app, core)
    endpoint = await _worker_endpoint(sse_app, core, auth, b"/message?sessionId=abc")
    response = await call(sse_app, core, "POST", endpoint, body=b"{}")
    assert (
        response.status == 401
        and "resource_metadata=" in dict(response.headers)["WWW-Authenticate"]
    )


async def test_tampered_or_unsigned_endpoints_are_refused(sse_app, core):
    auth = await _bearer(sse_app, core)
    endpoint = await _worker_endpoint(sse_app, core, auth, b"/message?sessionId=abc")
    signed = parse_qs(urlsplit(endpoint).query)["endpoint"][0]
    prefix, body, mac = signed.split(".")
    forged_body = body[:-2] + ("AA" if body[-2:] != "AA" else "BB")
    for query in (
        "",
        "endpoint=/admin",
        f"endpoint={quote(f'{prefix}.{forged_body}.{mac}')}",
        f"endpoint={quote(signed)}&endpoint={quote(signed)}",
        f"endpoint={quote(signed[:-1])}",
    ):
        response = await call(sse_app, core, "POST", f"/mcp/message?{query}", headers=auth)
        assert response.status == 404, query


async def test_the_signed_endpoint_belongs_to_the_grant_that_opened_the_stream(sse_app, core):
    auth = await _bearer(sse_app, core)
    other = await _bearer(sse_app, core)  # a second client's grant
    endpoint = await _worker_endpoint(sse_app, core, auth, b"/message?sessionId=abc")
    response = await call(sse_app, core, "POST", endpoint, headers=other, body=b"{}")
    assert response.status == 404
    forward = await call(sse_app, core, "POST", endpoint, headers=auth, body=b"{}")
    assert forward.url.endswith("/message?sessionId=abc")


async def test_endpoint_on_another_origin_is_never_signed(sse_app, core):
    auth = await _bearer(sse_app, core)
    forward = await call(sse_app, core, "GET", "/mcp", headers=auth)
    for announced in (
        b"https://evil.example/message",
        b"//evil.example/x",
        b"http://upstream.example.com/m",
    ):
        rewriter = type(forward.rewrite)(lambda url: sse_app.legacy_sse.sign_endpoint(url, "g"))
        assert rewriter.feed(b"event: endpoint\ndata: " + announced + b"\n\n") == b""


async def test_absolute_same_origin_endpoint_is_kept_on_that_origin(sse_app, core):
    auth = await _bearer(sse_app, core)
    endpoint = await _worker_endpoint(
        sse_app, core, auth, b"https://upstream.example.com/messages/?session_id=1"
    )
    forward = await call(sse_app, core, "POST", endpoint, headers=auth, body=b"{}")
    assert forward.url == f"{UPSTREAM_ORIGIN}/messages/?session_id=1"


def test_rewriter_holds_only_the_first_event_and_then_streams(core):
    legacy = sys.modules["cfmcp_worker.legacy_sse"]
    rewriter = legacy.EndpointRewriter(lambda url: "/mcp/message?endpoint=X")
    assert rewriter.feed(b"event: endpo") == b""
    assert rewriter.feed(b"int\ndata: /message?s=1\n") == b""
    out = rewriter.feed(b"\nevent: message\ndata: {}\n")
    assert out == b"event: endpoint\ndata: /mcp/message?endpoint=X\n\nevent: message\ndata: {}\n"
    assert rewriter.done
    # after the endpoint event every chunk is returned as is, even a second `endpoint` event
    later = b"event: endpoint\ndata: https://evil.example/\n\n"
    assert rewriter.feed(later) is later
    assert rewriter.flush() == b""


def test_rewriter_leaves_a_first_event_that_is_not_endpoint(core):
    legacy = sys.modules["cfmcp_worker.legacy_sse"]
    rewriter = legacy.EndpointRewriter(lambda url: "never")
    assert rewriter.feed(b"data: x\n\nevent: endpoint\ndata: /m\n\n") == (
        b"data: x\n\nevent: endpoint\ndata: /m\n\n"
    )
    assert rewriter.done


def test_rewriter_passes_keepalive_comments_before_the_endpoint_event(core):
    legacy = sys.modules["cfmcp_worker.legacy_sse"]
    rewriter = legacy.EndpointRewriter(lambda url: "/mcp/message?endpoint=X")
    assert rewriter.feed(b": ping\n\n") == b": ping\n\n"
    assert not rewriter.done
    out = rewriter.feed(b"event: endpoint\ndata: /m\n\n")
    assert out == b"event: endpoint\ndata: /mcp/message?endpoint=X\n\n"


def test_rewriter_gives_up_holding_after_a_bound(core):
    legacy = sys.modules["cfmcp_worker.legacy_sse"]
    rewriter = legacy.EndpointRewriter(lambda url: "never")
    big = b"data: " + b"x" * (legacy.MAX_HELD_BYTES + 1)
    assert rewriter.feed(big) == big and rewriter.done


def test_rewriter_crlf_split_across_chunks(core):
    legacy = sys.modules["cfmcp_worker.legacy_sse"]
    rewriter = legacy.EndpointRewriter(lambda url: f"/w?{url}")
    out = b"".join(
        rewriter.feed(part) for part in (b"event: endpoint\r\ndata: /m\r", b"\n\r", b"\nnext")
    )
    assert out == b"event: endpoint\ndata: /w?/m\n\nnext"
