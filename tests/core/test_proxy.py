"""The MCP endpoint: bearer checks, the forward decision and upstream response mapping."""

from __future__ import annotations

import pytest

from tests.core.conftest import ORIGIN, PAT, UPSTREAM
from tests.core.flow import body_json, call, full_flow, header, request


async def _token(app, core) -> str:
    return (await full_flow(app, core))[1]["access_token"]


async def test_no_token_gives_401_with_resource_metadata(app, core):
    response = await call(app, core, "POST", "/mcp", body=b"{}")
    assert response.status == 401
    challenge = header(response, "www-authenticate")
    expected = f'resource_metadata="{ORIGIN}/.well-known/oauth-protected-resource/mcp"'
    assert challenge.startswith("Bearer ") and expected in challenge
    assert "error=" not in challenge
    assert "WWW-Authenticate" in header(response, "access-control-expose-headers")


async def test_challenge_names_the_supported_scopes_but_not_offline_access(make_app, core):
    """MCP 2026-07-28: the challenge SHOULD carry `scope`, and SHOULD NOT offline_access."""
    app = make_app(scopes=("mcp", "offline_access"))
    for headers in ({}, {"authorization": "Bearer nope"}):
        response = await call(app, core, "POST", "/mcp", headers=headers)
        assert 'scope="mcp"' in header(response, "www-authenticate")


async def test_auth_is_checked_before_anything_else(app, core):
    # Even a GET without Accept or a bogus method must be told to authenticate first.
    for method in ("GET", "DELETE", "PUT"):
        assert (await call(app, core, method, "/mcp")).status == 401


async def test_bad_token_gives_invalid_token(app, core):
    response = await call(app, core, "POST", "/mcp", headers={"authorization": "Bearer abc"})
    assert response.status == 401
    assert 'error="invalid_token"' in header(response, "www-authenticate")


async def test_token_in_query_string_is_refused(app, core):
    token = await _token(app, core)
    response = await call(app, core, "POST", f"/mcp?access_token={token}")
    assert response.status == 400
    assert response.__class__.__name__ == "HttpResponse"


async def test_forward_injects_pat_and_strips_client_credentials(app, core):
    token = await _token(app, core)
    forward = await call(
        app,
        core,
        "POST",
        "/mcp?x=1",
        body=b'{"jsonrpc":"2.0"}',
        headers={
            "authorization": f"Bearer {token}",
            "cookie": "session=abc",
            "cf-connecting-ip": "203.0.113.7",
            "cf-ray": "123",
            "connection": "keep-alive",
            "mcp-session-id": "sess-1",
            "mcp-protocol-version": "2025-11-25",
            "last-event-id": "ev-9",
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
            "x-mcp-readonly": "false",
            "host": "mcp.example.com",
            "user-agent": "Claude-User",
        },
    )
    assert forward.__class__.__name__ == "Forward"
    assert forward.url == UPSTREAM + "?x=1"
    assert forward.body == b'{"jsonrpc":"2.0"}'
    headers = {}
    for name, value in forward.headers:
        assert name.lower() not in headers, f"duplicate header {name}"
        headers[name.lower()] = value
    assert headers["authorization"] == f"Bearer {PAT}"
    assert token not in repr(forward.headers)
    for gone in ("cookie", "cf-connecting-ip", "cf-ray", "connection", "host"):
        assert gone not in headers
    assert headers["mcp-session-id"] == "sess-1"
    assert headers["mcp-protocol-version"] == "2025-11-25"
    assert headers["last-event-id"] == "ev-9"
    assert headers["accept"] == "application/json, text/event-stream"
    assert headers["content-type"] == "application/json"
    assert headers["x-mcp-readonly"] == "true"  # the configured static header wins
    assert headers["user-agent"] == "Claude-User"


async def test_custom_credential_header_format(make_app, core):
    app = make_app(upstream_auth_header="X-API-Key", upstream_auth_format="{token}")
    token = await _token(app, core)
    forward = await call(
        app,
        core,
        "POST",
        "/mcp",
        headers={"authorization": f"Bearer {token}", "x-api-key": "client-supplied"},
    )
    headers = dict((k.lower(), v) for k, v in forward.headers)
    assert headers["x-api-key"] == PAT
    assert "authorization" not in headers


async def test_upstream_401_and_403_become_502(app, core):
    request = __import__("tests.core.flow", fromlist=["request"]).request(core, "POST", "/mcp")
    for status in (401, 403):
        response = app.upstream_response(request, status, [("WWW-Authenticate", "Bearer")])
        assert response.status == 502
        assert header(response, "www-authenticate") is None
        assert body_json(response)["error"] == "upstream_auth_failed"
        assert PAT not in response.body.decode()


async def test_pass_through_keeps_mcp_headers_and_drops_cookies(app, core):
    request = __import__("tests.core.flow", fromlist=["request"]).request(core, "POST", "/mcp")
    verdict = app.upstream_response(
        request,
        200,
        [
            ("Content-Type", "text/event-stream"),
            ("Mcp-Session-Id", "s1"),
            ("Set-Cookie", "upstream=1"),
            ("Transfer-Encoding", "chunked"),
            ("Access-Control-Allow-Origin", "https://github.com"),
        ],
    )
    assert verdict.__class__.__name__ == "PassThrough"
    names = [name.lower() for name, _ in verdict.headers]
    assert "set-cookie" not in names and "transfer-encoding" not in names
    assert ("Mcp-Session-Id", "s1") in verdict.headers
    assert dict(verdict.headers)["Access-Control-Allow-Origin"] == "*"
    assert names.count("access-control-allow-origin") == 1


async def test_upstream_error_is_502_without_internal_exception_text(app, core, capsys):
    """The reason is internal (exception text, addresses): it goes to the log, not the body."""
    request = __import__("tests.core.flow", fromlist=["request"]).request(core, "POST", "/mcp")
    reason = "TypeError: fetch failed: connect ECONNREFUSED 10.0.0.7:8443"
    response = app.upstream_error(request, reason)
    assert response.status == 502 and body_json(response)["error"] == "upstream_unreachable"
    assert b"ECONNREFUSED" not in response.body and b"10.0.0.7" not in response.body
    assert reason in capsys.readouterr().out


async def test_oversized_body_is_refused(make_app, core):
    app = make_app(max_request_bytes=1024)
    token = await _token(app, core)
    response = await call(
        app, core, "POST", "/mcp", body=b"x" * 2048, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status == 413


async def _forward(app, core, path="/mcp", method="POST", body=b"", **headers):
    token = await _token(app, core)
    result = await call(
        app, core, method, path, body=body, headers={"authorization": f"Bearer {token}", **headers}
    )
    assert result.__class__.__name__ == "Forward", result
    return result, {name.lower(): value for name, value in result.headers}


async def test_client_query_never_changes_the_upstream_query(make_app, core):
    upstream = "https://upstream.example.com/mcp?toolsets=repos&read_only=1"
    app = make_app(upstream_url=upstream)
    query = "toolsets=all&TOOLSETS=all&toolset%73=all&toolsets[]=all&read_only=0&x=1;toolsets=all"
    forward, _ = await _forward(app, core, "/mcp?" + query)
    assert forward.url == upstream + "&x=1%3Btoolsets%3Dall"


async def test_forwarded_request_headers_are_an_allow_list(app, core):
    sent = {
        "x-http-method-override": "DELETE",
        "x-http-method": "DELETE",
        "x-method-override": "DELETE",
        "x-original-url": "/admin",
        "x-rewrite-url": "/admin",
        "x-original-method": "DELETE",
        "x-forwarded-for": "127.0.0.1",
        "x-forwarded-host": "internal",
        "x-forwarded-proto": "http",
        "x-forwarded-prefix": "/admin",
        "x-forwarded-uri": "/admin",
        "forwarded": "for=127.0.0.1",
        "x-real-ip": "127.0.0.1",
        "true-client-ip": "127.0.0.1",
        "x-client-ip": "127.0.0.1",
        "origin": "https://evil.example.com",
        "referer": "https://evil.example.com/",
        "cookie": "a=b",
        "content-length": "999",
        "transfer-encoding": "chunked",
        "accept-encoding": "gzip",
        "x-custom": "1",
        "mcp-session-id": "s-1",
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "last-event-id": "ev-1",
        "user-agent": "Claude-User",
    }
    _, headers = await _forward(app, core, **sent)
    allowed = {"mcp-session-id", "accept", "content-type", "last-event-id", "user-agent"}
    injected = {"authorization", "x-mcp-readonly"}
    assert set(headers) == allowed | injected
    assert all(headers[name] == sent[name] for name in allowed)


async def test_headers_named_in_connection_never_reach_the_upstream(app, core):
    """RFC 9110 §7.6.1: a proxy removes every header its `Connection` names."""
    _, headers = await _forward(
        app,
        core,
        connection="close, Mcp-Session-Id,user-agent",
        **{"mcp-session-id": "s-1", "user-agent": "x", "accept": "application/json"},
    )
    assert "mcp-session-id" not in headers and "user-agent" not in headers
    assert headers["accept"] == "application/json"


async def test_mcp_2026_routing_headers_reach_the_upstream_unchanged(app, core):
    sent = {
        "mcp-method": "tools/call",
        "mcp-name": "get_issue",
        "mcp-param-owner": "octo cat",
        "mcp-param-issue_number": "42",
        "mcp-protocol-version": "2026-07-28",
    }
    body = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_issue"}}'
    _, headers = await _forward(app, core, body=body, **sent)
    assert {name: headers.get(name) for name in sent} == sent


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_upstream_redirect_becomes_502(app, core, status):
    verdict = app.upstream_response(
        request(core, "POST", "/mcp"), status, [("Location", "https://elsewhere.example/mcp")]
    )
    assert verdict.__class__.__name__ == "HttpResponse"
    assert verdict.status == 502 and header(verdict, "location") is None
    assert body_json(verdict)["error"] == "upstream_redirect"


async def test_event_streams_carry_x_accel_buffering_no(app, core):
    """MCP 2026-07-28: SSE responses SHOULD carry `X-Accel-Buffering: no`."""
    stream = app.upstream_response(
        request(core, "POST", "/mcp"),
        200,
        [("Content-Type", "text/event-stream; charset=utf-8"), ("X-Accel-Buffering", "yes")],
    )
    buffering = [v for n, v in stream.headers if n.lower() == "x-accel-buffering"]
    assert buffering == ["no"]
    plain = app.upstream_response(
        request(core, "POST", "/mcp"), 200, [("Content-Type", "application/json")]
    )
    assert header(plain, "x-accel-buffering") is None


async def test_stateless_upstream_passes_through(app, core):
    """MCP 2026-07-28 servers have no GET stream (405) and no session id: both pass as is."""
    forward, _ = await _forward(app, core, method="GET", accept="text/event-stream")
    assert forward.method == "GET"
    get = app.upstream_response(request(core, "GET", "/mcp"), 405, [("Allow", "POST")])
    assert get.__class__.__name__ == "PassThrough" and get.status == 405
    assert ("Allow", "POST") in get.headers
    post = app.upstream_response(
        request(core, "POST", "/mcp"), 200, [("Content-Type", "application/json")]
    )
    assert post.status == 200 and header(post, "mcp-session-id") is None
