"""The official MCP SDK client through the Worker: the whole OAuth flow, then MCP traffic."""

from __future__ import annotations

import itertools
import time
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

from tests.integration.running import RunningWorker
from tests.support.oauth import approve, obtain_tokens_over_http

REDIRECT = "http://127.0.0.1:9/callback"


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class HeadlessBrowser:
    """redirect_handler/callback_handler pair that approves on the consent page."""

    def __init__(self, pin: str) -> None:
        self.pin = pin
        self.location: str | None = None
        self.authorize_urls: list[str] = []

    async def redirect(self, url: str) -> None:
        self.authorize_urls.append(url)
        self.location = await anyio.to_thread.run_sync(approve, url, self.pin)

    async def callback(self) -> AuthorizationCodeResult:
        assert self.location is not None
        params = {k: v[0] for k, v in parse_qs(urlsplit(self.location).query).items()}
        return AuthorizationCodeResult(
            code=params["code"], state=params.get("state"), iss=params.get("iss")
        )


def _text(result: object) -> str:
    return "".join(getattr(c, "text", "") for c in getattr(result, "content", []))


def public_client_provider(
    mcp_url: str, browser, storage: MemoryStorage, client_name: str
) -> OAuthClientProvider:
    """The SDK's OAuth provider as a public client registering itself, its browser steps
    done by `browser` (redirect / callback)."""
    return OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name=client_name,
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=browser.redirect,
        callback_handler=browser.callback,
    )


async def test_sdk_oauth_flow_then_tools(worker: RunningWorker) -> None:
    worker.upstream.recorder.clear()
    browser = HeadlessBrowser(worker.pin)
    storage = MemoryStorage()
    provider = public_client_provider(worker.mcp_url, browser, storage, "cfmcp sdk test")
    async with (
        httpx2.AsyncClient(auth=provider, timeout=30) as http,
        Client(streamable_http_client(worker.mcp_url, http_client=http), mode="legacy") as client,
    ):
        tools = await client.list_tools()
        assert {"echo", "add", "slow_count"} <= {tool.name for tool in tools.tools}
        echoed = await client.call_tool("echo", {"text": "héllo through cfmcp"})
        assert _text(echoed) == "héllo through cfmcp"
        added = await client.call_tool("add", {"a": 2, "b": 40})
        assert float(_text(added)) == 42

    # the flow really went through discovery, DCR and the consent page
    assert len(browser.authorize_urls) == 1
    query = parse_qs(urlsplit(browser.authorize_urls[0]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert storage.client_info is not None and storage.client_info.client_id
    assert storage.tokens is not None
    access_token = storage.tokens.access_token

    seen = worker.upstream.recorder.snapshot()
    assert seen, "the upstream saw no request"
    for request in seen:
        assert request.path == "/mcp"
        assert request.headers.get("authorization") == f"Bearer {worker.upstream.pat}"
        assert "cookie" not in request.headers
        assert all(access_token not in value for value in request.headers.values())
    # the session id set by the upstream came back on later requests
    assert any("mcp-session-id" in request.headers for request in seen)


async def test_progress_notifications_stream_event_by_event(worker: RunningWorker) -> None:
    tokens = await anyio.to_thread.run_sync(obtain_tokens_over_http, worker.origin, worker.pin)
    count, delay = 4, 0.5
    arrivals: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        arrivals.append(time.monotonic())

    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(worker.mcp_url, http_client=http), mode="legacy") as client,
    ):
        started = time.monotonic()
        result = await client.call_tool(
            "slow_count", {"count": count, "delay": delay}, progress_callback=on_progress
        )
        finished = time.monotonic()
    assert _text(result) == f"counted to {count}"
    assert len(arrivals) == count
    # Buffering would deliver every notification at the end, all at once.
    spread = arrivals[-1] - arrivals[0]
    assert spread >= 0.6 * (count - 1) * delay, f"progress arrived bunched: {arrivals}"
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) >= 0.4 * delay, f"progress gaps {gaps}"
    # the first notification reached the client long before the result did
    assert finished - arrivals[0] >= 0.6 * (count - 1) * delay
    assert arrivals[0] - started < finished - started - 0.6 * (count - 1) * delay
