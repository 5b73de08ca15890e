"""Refresh-token rotation with a grace window (DESIGN.md §2, POST /token)."""

from __future__ import annotations

import time

import httpx

from tests.integration.running import REFRESH_GRACE_SECONDS, RunningWorker
from tests.support.oauth import MCP_HEADERS, mcp_initialize, obtain_tokens_over_http, refresh

INITIALIZE = mcp_initialize("cfmcp-refresh-test")


def _initialize(worker: RunningWorker, access_token: str) -> httpx.Response:
    return httpx.post(
        worker.mcp_url,
        json=INITIALIZE,
        timeout=15,
        headers={**MCP_HEADERS, "Authorization": f"Bearer {access_token}"},
    )


def test_refresh_rotates_and_old_token_expires_after_grace(worker: RunningWorker) -> None:
    first = obtain_tokens_over_http(worker.origin, worker.pin)
    assert first.refresh_token, "the token response carries no refresh_token"
    assert first.raw.get("token_type", "").lower() == "bearer"

    response = refresh(worker.origin, first.client_id, first.refresh_token)
    assert response.status_code == 200, response.text
    assert response.headers.get("cache-control", "").lower() == "no-store"
    second = response.json()
    assert second["refresh_token"] != first.refresh_token, "refresh token was not rotated"
    assert _initialize(worker, second["access_token"]).status_code == 200

    # A lost response can be retried: the previous refresh token works within the grace
    # window and gets the same new token (a retry never replaces the current one).
    retry = refresh(worker.origin, first.client_id, first.refresh_token)
    assert retry.status_code == 200, retry.text
    assert retry.json()["refresh_token"] == second["refresh_token"]

    # The newest refresh token works, and its access token reaches the upstream.
    fresh = refresh(worker.origin, first.client_id, second["refresh_token"])
    assert fresh.status_code == 200, fresh.text
    assert _initialize(worker, fresh.json()["access_token"]).status_code == 200

    # Reuse of a rotated-out token after the grace window revokes the grant (RFC 9700 §4.14.2).
    time.sleep(REFRESH_GRACE_SECONDS + 1.5)
    stale = refresh(worker.origin, first.client_id, first.refresh_token)
    assert stale.status_code == 400, stale.text
    assert stale.json()["error"] == "invalid_grant"
    assert _initialize(worker, fresh.json()["access_token"]).status_code == 401
    latest = refresh(worker.origin, first.client_id, fresh.json()["refresh_token"])
    assert latest.status_code == 400, latest.text


def test_refresh_token_bound_to_its_client(worker: RunningWorker) -> None:
    mine = obtain_tokens_over_http(worker.origin, worker.pin, client_name="first app")
    other = obtain_tokens_over_http(worker.origin, worker.pin, client_name="second app")
    assert mine.client_id != other.client_id
    assert mine.refresh_token
    stolen = refresh(worker.origin, other.client_id, mine.refresh_token)
    assert stolen.status_code in (400, 401), stolen.text
    assert stolen.json()["error"] in ("invalid_grant", "invalid_client")
