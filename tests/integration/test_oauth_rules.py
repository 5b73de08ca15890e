"""OAuth rules of DESIGN.md §2 over HTTP: codes, PKCE, revocation, metadata, CORS, PIN bound."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.integration.running import RunningWorker, new_pin, worker_env
from tests.integration.upstream import RecordingUpstream
from tests.support.hosts import start_worker
from tests.support.oauth import (
    MCP_HEADERS,
    REDIRECT_URI,
    approve,
    authorize_url,
    mcp_initialize,
    obtain_tokens_over_http,
    pkce_pair,
    register,
    submit_consent,
    token_request,
)

INITIALIZE = mcp_initialize("cfmcp-rules-test")


def _code(worker: RunningWorker, client_id: str, challenge: str) -> str:
    location = approve(authorize_url(worker.origin, client_id, challenge, "s"), worker.pin)
    return parse_qs(urlsplit(location).query)["code"][0]


def _redeem(worker: RunningWorker, client_id: str, code: str, verifier: str) -> httpx.Response:
    return token_request(
        worker.origin,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": client_id,
            "code_verifier": verifier,
            "resource": worker.mcp_url,
        },
    )


def _no_nulls(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, dict):
        return all(_no_nulls(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nulls(v) for v in value)
    return True


def test_metadata_documents(worker: RunningWorker) -> None:
    auth = httpx.get(f"{worker.origin}/.well-known/oauth-authorization-server", timeout=15)
    assert auth.status_code == 200
    meta = auth.json()
    assert meta["issuer"] == worker.origin
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert set(meta["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert _no_nulls(meta), json.dumps(meta)
    resource = httpx.get(f"{worker.origin}/.well-known/oauth-protected-resource", timeout=15)
    assert resource.status_code == 200 and _no_nulls(resource.json())
    assert resource.json()["bearer_methods_supported"] == ["header"]


def test_a_code_makes_one_grant(worker: RunningWorker) -> None:
    """An immediate second redemption (a lost response retried) names the same grant; a
    replay after the retry window revokes it (tests/core/test_tokens.py, with a clock)."""
    client_id = register(worker.origin)
    verifier, challenge = pkce_pair()
    code = _code(worker, client_id, challenge)
    first = _redeem(worker, client_id, code, verifier)
    assert first.status_code == 200
    again = _redeem(worker, client_id, code, verifier)
    assert again.status_code == 200
    assert again.json()["refresh_token"] == first.json()["refresh_token"]


def test_wrong_pkce_verifier_is_refused(worker: RunningWorker) -> None:
    client_id = register(worker.origin)
    _, challenge = pkce_pair()
    code = _code(worker, client_id, challenge)
    wrong_verifier, _ = pkce_pair()
    response = _redeem(worker, client_id, code, wrong_verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_unregistered_redirect_is_shown_not_followed(worker: RunningWorker) -> None:
    client_id = register(worker.origin)
    _, challenge = pkce_pair()
    url = authorize_url(
        worker.origin, client_id, challenge, "s", redirect_uri="https://evil.example.com/cb"
    )
    response = httpx.get(url, timeout=15)
    assert response.status_code == 400
    assert "location" not in response.headers


def test_revoked_access_token_stops_working(worker: RunningWorker) -> None:
    tokens = obtain_tokens_over_http(worker.origin, worker.pin, client_name="revoking app")
    auth = {**MCP_HEADERS, "Authorization": f"Bearer {tokens.access_token}"}
    assert httpx.post(worker.mcp_url, json=INITIALIZE, headers=auth, timeout=15).status_code == 200
    revoke = httpx.post(
        f"{worker.origin}/revoke",
        timeout=15,
        data={"token": tokens.access_token, "client_id": tokens.client_id},
    )
    assert revoke.status_code == 200
    after = httpx.post(worker.mcp_url, json=INITIALIZE, headers=auth, timeout=15)
    assert after.status_code == 401
    unknown = httpx.post(
        f"{worker.origin}/revoke",
        timeout=15,
        data={"token": "no-such-token", "client_id": tokens.client_id},
    )
    assert unknown.status_code == 200


def test_cors_preflight_on_mcp(worker: RunningWorker) -> None:
    response = httpx.options(
        worker.mcp_url,
        timeout=15,
        headers={
            "Origin": "http://localhost:6274",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, mcp-session-id",
        },
    )
    assert response.status_code in (200, 204)
    allowed = response.headers.get("access-control-allow-headers", "").lower()
    for header in ("authorization", "content-type", "mcp-session-id"):
        assert header in allowed or allowed == "*", allowed
    unauth = httpx.post(
        worker.mcp_url,
        json=INITIALIZE,
        timeout=15,
        headers={**MCP_HEADERS, "Origin": "http://localhost:6274"},
    )
    exposed = unauth.headers.get("access-control-expose-headers", "").lower()
    assert "www-authenticate" in exposed and "mcp-session-id" in exposed


def test_pin_guessing_is_bounded(
    worker_kind: str, upstream: RecordingUpstream, bundle_dir: Path
) -> None:
    """After a handful of wrong PINs from one address, even the right PIN is refused."""
    pin = new_pin()
    with start_worker(worker_kind, bundle_dir, worker_env(upstream.pat, pin)) as origin:
        client_id = register(origin)
        _, challenge = pkce_pair()
        url = authorize_url(origin, client_id, challenge, "s")
        for _ in range(10):
            result = submit_consent(url, f"{secrets.randbelow(10**8):08d}x")
            assert "code=" not in result.location
        locked = submit_consent(url, pin)
        assert "code=" not in locked.location, "the right PIN still works after 10 failures"
        assert locked.submit.status_code in (200, 400, 403, 429)
