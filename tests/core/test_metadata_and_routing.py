"""Discovery documents, CORS and routing of the Worker core."""

from __future__ import annotations

import pytest

from tests.core.conftest import ORIGIN
from tests.core.flow import body_json, call, header


def _no_nulls(value) -> bool:
    if value is None:
        return False
    if isinstance(value, dict):
        return all(_no_nulls(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nulls(v) for v in value)
    return True


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]
)
async def test_protected_resource_metadata(app, core, path):
    response = await call(app, core, "GET", path)
    data = body_json(response)
    assert response.status == 200
    assert data["resource"] == ORIGIN + "/mcp"
    assert data["authorization_servers"] == [ORIGIN]
    assert data["bearer_methods_supported"] == ["header"]
    # The generic scope, then one per policy (policy.py): the built-ins here.
    assert data["scopes_supported"] == ["mcp", "mcp:full", "mcp:read-only"]
    assert header(response, "access-control-allow-origin") == "*"


@pytest.mark.parametrize(
    "path",
    ["/.well-known/oauth-authorization-server", "/.well-known/oauth-authorization-server/mcp"],
)
async def test_authorization_server_metadata(app, core, path):
    data = body_json(await call(app, core, "GET", path))
    assert data["issuer"] == ORIGIN
    assert data["token_endpoint"] == ORIGIN + "/token"
    assert data["registration_endpoint"] == ORIGIN + "/register"
    assert data["revocation_endpoint"] == ORIGIN + "/revoke"
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert data["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert set(data["token_endpoint_auth_methods_supported"]) == {
        "none",
        "client_secret_post",
        "client_secret_basic",
    }
    assert data["client_id_metadata_document_supported"] is True
    assert data["authorization_response_iss_parameter_supported"] is True
    assert _no_nulls(data)


async def test_public_url_setting_fixes_the_issuer(make_app, core):
    app = make_app(public_url="https://configured.example.org")
    data = body_json(await call(app, core, "GET", "/.well-known/oauth-authorization-server"))
    assert data["issuer"] == "https://configured.example.org"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/repos/x/y",
        "/mcpx",
        "/mcp/",
        "/mcp/../admin",
        "/api",
        "/.well-known/openid-configuration",
        "/favicon.ico",
    ],
)
async def test_other_paths_are_404_and_never_proxied(app, core, path):
    response = await call(app, core, "GET", path, headers={"authorization": "Bearer x"})
    assert response.__class__.__name__ == "HttpResponse"
    assert response.status == 404


async def test_preflight_on_api_endpoints_but_not_on_consent(app, core):
    for path in ("/mcp", "/token", "/register", "/revoke"):
        response = await call(app, core, "OPTIONS", path)
        assert response.status == 204
        allowed = header(response, "access-control-allow-headers")
        assert "Mcp-Session-Id" in allowed and "Authorization" in allowed
        assert "Last-Event-ID" in allowed and "Mcp-Protocol-Version" in allowed
    response = await call(app, core, "OPTIONS", "/authorize")
    assert header(response, "access-control-allow-origin") is None


async def test_preflight_admits_mcp_2026_routing_headers(app, core):
    """Browser clients send Mcp-Method, Mcp-Name and Mcp-Param-* on every POST (2026-07-28):
    a preflight that did not allow them would stop the request before it is sent."""
    response = await call(app, core, "OPTIONS", "/mcp")
    allowed = [name.strip() for name in header(response, "access-control-allow-headers").split(",")]
    assert {"Mcp-Method", "Mcp-Name", "*", "Authorization"} <= set(allowed)
    assert header(response, "access-control-allow-credentials") is None  # else * is literal


async def test_wrong_methods(app, core):
    assert (await call(app, core, "GET", "/token")).status == 405
    assert (await call(app, core, "POST", "/.well-known/oauth-authorization-server")).status == 405


async def test_metadata_names_the_deployed_bundle(make_app, core):
    plain = await call(make_app(), core, "GET", "/.well-known/oauth-authorization-server")
    assert header(plain, "cfmcp-bundle") is None
    app = make_app(bundle_sha256="ab" * 32)
    named = await call(app, core, "GET", "/.well-known/oauth-authorization-server")
    assert header(named, "cfmcp-bundle") == "ab" * 32
