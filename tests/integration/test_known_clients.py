"""How claude.ai and Claude Code connect: a confidential DCR client and a metadata document.

claude.ai registers a confidential client (`client_secret_post`, its https callback) and sends
MCP traffic as `Claude-User`; Claude Code can use a Client ID Metadata Document as its client
id, which the Worker serves from its pinned copy (no fetch).
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata

from tests.integration.running import RunningWorker
from tests.integration.test_sdk_client import HeadlessBrowser, MemoryStorage
from tests.support.oauth import MCP_HEADERS, approve, authorize_url, mcp_initialize, pkce_pair

CLAUDE_CALLBACK = "https://claude.ai/api/mcp/auth_callback"
CLAUDE_CODE_METADATA = "https://claude.ai/oauth/claude-code-client-metadata"


def test_claude_ai_style_confidential_client(worker: RunningWorker) -> None:
    registered = httpx.post(
        f"{worker.origin}/register",
        timeout=15,
        json={
            "client_name": "Claude",
            "redirect_uris": [CLAUDE_CALLBACK],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_post",
        },
    )
    assert registered.status_code == 201, registered.text
    client = registered.json()
    assert client["client_secret"]
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(12)
    location = approve(
        authorize_url(
            worker.origin, client["client_id"], challenge, state, redirect_uri=CLAUDE_CALLBACK
        ),
        worker.pin,
    )
    assert location.startswith(CLAUDE_CALLBACK + "?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert params["state"] == state and params["iss"] == worker.origin
    form = {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": CLAUDE_CALLBACK,
        "client_id": client["client_id"],
        "code_verifier": verifier,
    }
    without_secret = httpx.post(f"{worker.origin}/token", data=form, timeout=15)
    assert without_secret.status_code == 401  # claude.ai re-registers on invalid_client
    assert without_secret.json()["error"] == "invalid_client"
    tokens = httpx.post(
        f"{worker.origin}/token",
        timeout=15,
        data={**form, "client_secret": client["client_secret"]},
    )
    assert tokens.status_code == 200, tokens.text
    worker.upstream.recorder.clear()
    reply = httpx.post(
        worker.mcp_url,
        json=mcp_initialize("claude.ai"),
        timeout=15,
        headers={
            **MCP_HEADERS,
            "Authorization": f"Bearer {tokens.json()['access_token']}",
            "User-Agent": "Claude-User",
        },
    )
    assert reply.status_code == 200, reply.text
    seen = worker.upstream.recorder.snapshot()
    assert seen and seen[-1].headers["authorization"] == f"Bearer {worker.upstream.pat}"
    assert seen[-1].headers.get("user-agent") == "Claude-User"


async def test_sdk_with_a_client_id_metadata_document(worker: RunningWorker) -> None:
    """The SDK uses the metadata document URL as client_id (no registration) when advertised."""
    browser = HeadlessBrowser(worker.pin)
    storage = MemoryStorage()
    provider = OAuthClientProvider(
        server_url=worker.mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name="Claude Code",
            redirect_uris=["http://localhost:9/callback"],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=browser.redirect,
        callback_handler=browser.callback,
        client_metadata_url=CLAUDE_CODE_METADATA,
    )
    async with (
        httpx2.AsyncClient(auth=provider, timeout=30) as http,
        Client(streamable_http_client(worker.mcp_url, http_client=http), mode="legacy") as client,
    ):
        tools = await client.list_tools()
        assert "echo" in {tool.name for tool in tools.tools}
    query = parse_qs(urlsplit(browser.authorize_urls[0]).query)
    assert query["client_id"] == [CLAUDE_CODE_METADATA]
    assert storage.tokens is not None
