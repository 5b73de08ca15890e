"""The authorization endpoint, the consent page and the PIN."""

from __future__ import annotations

import pytest

from tests.core.conftest import ORIGIN, PIN
from tests.core.flow import (
    LOOPBACK_REDIRECT,
    authorize_query,
    body_json,
    call,
    code_form,
    get_code,
    header,
    pkce_pair,
    redirect_params,
    register,
    request_token_from,
    submit_pin,
    token_request,
)


async def _consent(app, core, client=None, **overrides):
    client = client or await register(app, core)
    _, challenge = pkce_pair()
    page = await call(
        app,
        core,
        "GET",
        "/authorize?" + authorize_query(client["client_id"], challenge, **overrides),
    )
    return client, page


async def test_consent_page_security_headers(app, core):
    _, page = await _consent(app, core)
    assert page.status == 200
    csp = header(page, "content-security-policy")
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert header(page, "x-frame-options") == "DENY"
    assert header(page, "referrer-policy") == "same-origin"  # so the POST's Origin is real
    assert header(page, "cache-control") == "no-store"
    assert header(page, "access-control-allow-origin") is None


@pytest.mark.parametrize(
    "redirect_uri,source",
    [
        (LOOPBACK_REDIRECT, "http://127.0.0.1:33418"),
        ("https://claude.ai/api/mcp/auth_callback", "https://claude.ai"),
        ("cursor://anysphere.cursor-mcp/oauth/callback", "cursor:"),
    ],
)
async def test_form_action_allows_only_self_and_the_verified_redirect(
    app, core, redirect_uri, source
):
    """Browsers apply form-action to the redirect after the POST: without the callback's
    origin Chrome blocks it (seen in headless Chromium); nothing else may be allowed."""
    client = await register(app, core, redirect_uris=[redirect_uri])
    _, page = await _consent(app, core, client, redirect_uri=redirect_uri)
    csp = header(page, "content-security-policy")
    assert f"form-action 'self' {source};" in csp
    wrong = await submit_pin(app, core, request_token_from(page.body), pin="00000000")
    assert f"form-action 'self' {source};" in header(wrong, "content-security-policy")


async def test_consent_page_escapes_client_and_server_names(app, core):
    client = await register(app, core, client_name='<script>alert("x")</script>')
    _, page = await _consent(app, core, client)
    assert b"<script>alert" not in page.body
    assert b"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page.body
    assert b"<b>MCP</b>" not in page.body and b"Acme &lt;b&gt;MCP&lt;/b&gt; &amp;" in page.body


async def test_enter_in_the_pin_field_approves_rather_than_denies(app, core):
    """Browsers submit a form on Enter with its first submit button: that must be Approve."""
    import re

    _, page = await _consent(app, core)
    buttons = re.findall(rb'<button[^>]*type="submit"[^>]*value="(\w+)"', page.body)
    assert buttons == [b"approve", b"deny"]


async def test_consent_page_shows_redirect_host_prominently(app, core):
    _, page = await _consent(app, core)
    assert b'class="host">127.0.0.1:33418<' in page.body


async def test_loopback_redirect_may_use_any_port(app, core):
    _, page = await _consent(app, core, redirect_uri="http://127.0.0.1:61000/callback")
    assert page.status == 200


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:33418/other",
        "https://evil.example.com/callback",
        "http://localhost:33418/callback",
    ],
)
async def test_unregistered_redirect_is_shown_not_redirected(app, core, redirect_uri):
    _, page = await _consent(app, core, redirect_uri=redirect_uri)
    assert page.status == 400 and header(page, "location") is None


async def test_unknown_client_is_shown_not_redirected(app, core):
    _, challenge = pkce_pair()
    page = await call(app, core, "GET", "/authorize?" + authorize_query("nope", challenge))
    assert page.status == 400 and header(page, "location") is None


@pytest.mark.parametrize(
    "overrides,error",
    [
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"resource": "https://other.example.com/mcp"}, "invalid_target"),
        ({"resource": ORIGIN + "/mcp/other"}, "invalid_target"),
    ],
)
async def test_bad_requests_are_shown_on_a_page_never_redirected(app, core, overrides, error):
    """RFC 9700 §4.11.2: before the person has acted, nothing goes to the redirect URI (a
    self-registered client would otherwise have an open redirector)."""
    _, page = await _consent(app, core, **overrides)
    assert page.status == 400 and header(page, "location") is None
    assert error.encode() in page.body


@pytest.mark.parametrize(
    "redirect_uri",
    [
        LOOPBACK_REDIRECT + "#frag",
        "http://user:pw@127.0.0.1:33418/callback",
        "http://user@127.0.0.1:33418/callback",
    ],
)
async def test_redirect_uri_with_fragment_or_userinfo_is_refused_at_authorize(
    app, core, redirect_uri
):
    """Loopback redirects match on host, path and query (any port): a fragment or userinfo
    must not slip through that match, as it cannot at registration."""
    _, page = await _consent(app, core, redirect_uri=redirect_uri)
    assert page.status == 400 and header(page, "location") is None
    assert b"redirect URI is refused" in page.body


async def test_resource_is_compared_canonically(app, core):
    _, page = await _consent(app, core, resource="HTTPS://MCP.example.com:443/mcp/")
    assert page.status == 200


@pytest.mark.parametrize("resource", [ORIGIN, ORIGIN + "/", "HTTPS://MCP.EXAMPLE.COM:443/"])
async def test_resource_in_origin_form_names_this_server(app, core, resource):
    """Some claude.ai paths send the server's origin as `resource`: accepted at /authorize
    and /token, and the token is still bound to the MCP endpoint."""
    client = await register(app, core)
    code, verifier = await get_code(app, core, client, resource=resource)
    form = code_form(client, code, verifier, resource=resource)
    response = await token_request(app, core, form)
    assert response.status == 200, response.body
    refresh = {
        "grant_type": "refresh_token",
        "client_id": client["client_id"],
        "refresh_token": body_json(response)["refresh_token"],
        "resource": resource,
    }
    assert (await token_request(app, core, refresh)).status == 200
    assert (await _mcp_status(app, core, body_json(response)["access_token"])) != 401


async def _mcp_status(app, core, token) -> int:
    result = await call(app, core, "POST", "/mcp", headers={"authorization": f"Bearer {token}"})
    return getattr(result, "status", 200)  # a Forward: the token was accepted


async def test_unsupported_scopes_are_dropped_not_fatal(app, core):
    _, page = await _consent(app, core, scope="openid email profile offline_access")
    assert page.status == 200 and b'name="policy" value="full" checked' in page.body


async def test_correct_pin_redirects_with_code_state_iss(app, core):
    _, page = await _consent(app, core)
    response = await submit_pin(app, core, request_token_from(page.body))
    assert response.status == 302
    assert header(response, "location").startswith(LOOPBACK_REDIRECT + "?")
    params = redirect_params(response)
    assert params["code"] and params["state"] == "st-123" and params["iss"] == ORIGIN


async def test_wrong_pin_gives_no_code(app, core):
    _, page = await _consent(app, core)
    response = await submit_pin(app, core, request_token_from(page.body), pin="00000000")
    assert response.status == 401 and header(response, "location") is None
    assert b"Wrong PIN" in response.body


async def test_deny_redirects_access_denied(app, core):
    _, page = await _consent(app, core)
    response = await submit_pin(app, core, request_token_from(page.body), action="deny")
    assert redirect_params(response)["error"] == "access_denied"


async def test_tampered_request_token_is_refused(app, core):
    _, page = await _consent(app, core)
    token = request_token_from(page.body)
    prefix, payload, sig = token.split(".")
    forged = f"{prefix}.{payload[:-2]}xx.{sig}"
    response = await submit_pin(app, core, forged)
    assert response.status == 400 and header(response, "location") is None


async def test_request_token_expires(app, core, clock):
    _, page = await _consent(app, core)
    clock.advance(601)
    response = await submit_pin(app, core, request_token_from(page.body))
    assert response.status == 400


@pytest.mark.parametrize(
    "headers", [{"origin": "https://evil.example.com"}, {"sec-fetch-site": "cross-site"}]
)
async def test_cross_site_post_is_refused(app, core, headers):
    _, page = await _consent(app, core)
    response = await submit_pin(app, core, request_token_from(page.body), headers=headers)
    assert response.status == 403


async def test_same_origin_posts_are_accepted(app, core):
    for headers in ({"origin": ORIGIN}, {"origin": ORIGIN, "sec-fetch-site": "same-origin"}, {}):
        _, page = await _consent(app, core)
        response = await submit_pin(app, core, request_token_from(page.body), headers=headers)
        assert response.status == 302


async def test_consent_post_with_origin_null_is_refused(app, core):
    """A null origin is a sandboxed frame, a data: URL or a file, never the consent page
    (whose Referrer-Policy makes browsers send its real origin)."""
    _, page = await _consent(app, core)
    for headers in ({"origin": "null"}, {"origin": "null", "sec-fetch-site": "same-origin"}):
        response = await submit_pin(app, core, request_token_from(page.body), headers=headers)
        assert response.status == 403 and header(response, "location") is None


async def test_lockout_after_repeated_wrong_pins(app, core, clock):
    _, page = await _consent(app, core)
    token = request_token_from(page.body)
    for _ in range(5):
        assert (await submit_pin(app, core, token, pin="11111111")).status == 401
    locked = await submit_pin(app, core, token, pin=PIN)
    assert locked.status == 429 and header(locked, "location") is None
    other_ip = await submit_pin(app, core, token, pin=PIN, ip="198.51.100.9")
    assert other_ip.status == 302
    clock.advance(16 * 60)
    _, page = await _consent(app, core)
    assert (await submit_pin(app, core, request_token_from(page.body))).status == 302


async def test_global_ceiling_across_addresses(app, core, clock):
    _, page = await _consent(app, core)
    token = request_token_from(page.body)
    for i in range(60):
        await submit_pin(app, core, token, pin="11111111", ip=f"192.0.2.{i}")
    response = await submit_pin(app, core, token, pin=PIN, ip="198.51.100.200")
    assert response.status == 429


async def test_pin_comparison_uses_compare_digest(core):
    import inspect

    crypto = __import__("cfmcp_worker.crypto", fromlist=["constant_time_equals"])
    assert "compare_digest" in inspect.getsource(crypto.constant_time_equals)
    authorize = __import__("cfmcp_worker.authorize", fromlist=["x"])
    assert 'constant_time_equals(normalized_pin(form.get("pin"' in inspect.getsource(authorize)


@pytest.mark.parametrize("typed", ["24681357", "2468-1357", " 2468 1357 ", "2468\t1357"])
async def test_pin_is_compared_without_case_spaces_or_dashes(app, core, typed):
    _, page = await _consent(app, core)
    assert (await submit_pin(app, core, request_token_from(page.body), pin=typed)).status == 302


async def test_letters_in_a_pin_compare_without_case(make_app, core):
    app = make_app()
    app.authorization._pin = "k7m2x9qe4tnd"  # what a generated "k7m2-x9qe-4tnd" becomes
    _, page = await _consent(app, core)
    token = request_token_from(page.body)
    assert (await submit_pin(app, core, token, pin="K7M2-X9QE-4TND")).status == 302


async def test_the_consent_page_says_attempts_are_limited(app, core):
    _, page = await _consent(app, core)
    assert b"Wrong PINs are limited" in page.body
