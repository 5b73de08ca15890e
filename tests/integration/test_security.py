"""Security rules of DESIGN.md §2 as seen over HTTP."""

from __future__ import annotations

import secrets

import httpx
import pytest

from tests.integration.running import RunningWorker, new_pin, worker_env
from tests.support.hosts import start_worker
from tests.support.oauth import (
    MCP_HEADERS,
    REDIRECT_URI,
    Tokens,
    authorize_url,
    mcp_initialize,
    obtain_tokens_over_http,
    pkce_pair,
    register,
    submit_consent,
)

INITIALIZE = mcp_initialize("cfmcp-security-test")


@pytest.fixture(scope="module")
def tokens(worker: RunningWorker) -> Tokens:
    return obtain_tokens_over_http(worker.origin, worker.pin)


def _post_mcp(url: str, token: str | None = None, **kwargs: object) -> httpx.Response:
    headers = dict(MCP_HEADERS)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    headers.update(kwargs.pop("headers", {}))  # type: ignore[arg-type]
    return httpx.post(url, json=INITIALIZE, headers=headers, timeout=15, **kwargs)  # type: ignore[arg-type]


def test_mcp_without_token_is_401_with_resource_metadata(worker: RunningWorker) -> None:
    worker.upstream.recorder.clear()
    response = _post_mcp(worker.mcp_url)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.lower().startswith("bearer ")
    expected = f'resource_metadata="{worker.origin}/.well-known/oauth-protected-resource/mcp"'
    assert expected in challenge
    assert "invalid_token" not in challenge
    metadata = httpx.get(f"{worker.origin}/.well-known/oauth-protected-resource/mcp", timeout=15)
    assert metadata.status_code == 200
    assert metadata.json()["resource"] == worker.mcp_url
    assert metadata.json()["authorization_servers"] == [worker.origin]
    assert worker.upstream.recorder.snapshot() == []


def test_mcp_with_bad_token_is_401_invalid_token(worker: RunningWorker) -> None:
    worker.upstream.recorder.clear()
    for method in ("POST", "GET", "DELETE"):
        response = httpx.request(
            method,
            worker.mcp_url,
            timeout=15,
            headers={**MCP_HEADERS, "Authorization": "Bearer not-a-real-token"},
        )
        assert response.status_code == 401, method
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert worker.upstream.recorder.snapshot() == []


def test_auth_checked_before_transport_validation(worker: RunningWorker) -> None:
    response = httpx.post(
        worker.mcp_url,
        content=b"junk",
        timeout=15,
        headers={"Content-Type": "text/plain", "Accept": "text/plain"},
    )
    assert response.status_code == 401


def test_wrong_pin_issues_no_code(worker: RunningWorker) -> None:
    client_id = register(worker.origin)
    _, challenge = pkce_pair()
    url = authorize_url(worker.origin, client_id, challenge, "st-wrong-pin")
    wrong = "0" + worker.pin[1:] if worker.pin[0] != "0" else "1" + worker.pin[1:]
    result = submit_consent(url, wrong)
    assert result.submit.status_code not in (301, 302, 303, 307, 308), result.location
    assert "code=" not in result.location
    # the consent page itself carries the protections of DESIGN.md §2
    page = result.page.headers
    csp = page.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert page.get("x-frame-options", "").upper() == "DENY"
    assert page.get("referrer-policy", "").lower() == "same-origin"
    assert "no-store" in page.get("cache-control", "")
    assert "access-control-allow-origin" not in page


def test_right_pin_redirects_with_code_state_iss(worker: RunningWorker) -> None:
    client_id = register(worker.origin)
    _, challenge = pkce_pair()
    url = authorize_url(worker.origin, client_id, challenge, "st-right-pin")
    result = submit_consent(url, worker.pin)
    assert result.submit.status_code in (302, 303)
    assert result.location.startswith(REDIRECT_URI + "?")
    assert result.params["state"] == "st-right-pin"
    assert result.params["iss"] == worker.origin
    assert result.params["code"]


def test_consent_post_without_csrf_token_is_refused(worker: RunningWorker) -> None:
    response = httpx.post(
        f"{worker.origin}/authorize", timeout=15, data={"pin": worker.pin, "action": "approve"}
    )
    assert response.status_code in (400, 403)
    assert "location" not in response.headers


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/admin",
        "/mcp/extra",
        "/mcpx",
        "/api/mcp",
        "/.env",
        "/MCP",
        "/mcp/../admin",
        "/favicon.ico",
    ],
)
def test_non_mcp_paths_are_404_and_never_proxied(
    worker: RunningWorker, tokens: Tokens, path: str
) -> None:
    worker.upstream.recorder.clear()
    for method in ("GET", "POST"):
        response = httpx.request(
            method,
            worker.origin + path,
            timeout=15,
            headers={**MCP_HEADERS, "Authorization": f"Bearer {tokens.access_token}"},
            content=b"{}",
        )
        assert response.status_code == 404, f"{method} {path}: {response.status_code}"
    assert worker.upstream.recorder.snapshot() == []


def test_token_in_query_string_is_refused(worker: RunningWorker, tokens: Tokens) -> None:
    worker.upstream.recorder.clear()
    response = httpx.post(
        f"{worker.mcp_url}?access_token={tokens.access_token}",
        json=INITIALIZE,
        headers=MCP_HEADERS,
        timeout=15,
    )
    assert response.status_code in (400, 401)
    assert "www-authenticate" in response.headers
    assert worker.upstream.recorder.snapshot() == []


def test_client_credentials_never_reach_upstream(worker: RunningWorker, tokens: Tokens) -> None:
    worker.upstream.recorder.clear()
    response = _post_mcp(
        worker.mcp_url,
        tokens.access_token,
        headers={"Cookie": "session=browser-secret", "X-Custom-Trace": "kept"},
    )
    assert response.status_code == 200, response.text
    assert "mcp-session-id" in response.headers  # set by the upstream, passed back
    seen = worker.upstream.recorder.snapshot()
    assert len(seen) == 1
    headers = seen[0].headers
    assert headers["authorization"] == f"Bearer {worker.upstream.pat}"
    assert "cookie" not in headers
    assert all(tokens.access_token not in value for value in headers.values())
    assert headers.get("accept") == MCP_HEADERS["Accept"]
    assert worker.upstream.pat not in response.text
    assert all(worker.upstream.pat not in value for value in response.headers.values())


def test_upstream_401_becomes_502(worker_kind: str, upstream: object, bundle_dir: object) -> None:
    pin = new_pin()
    env = worker_env("wrong-" + secrets.token_urlsafe(8), pin)
    with start_worker(worker_kind, bundle_dir, env) as origin:  # type: ignore[arg-type]
        tokens = obtain_tokens_over_http(origin, pin)
        response = _post_mcp(f"{origin}/mcp", tokens.access_token)
    assert response.status_code == 502, response.text
    assert "www-authenticate" not in response.headers
