"""FastMCP (PyPI fastmcp) as a client: `Client(url, auth="oauth")`, headless.

FastMCP's OAuth helper registers dynamically, runs PKCE, calls `webbrowser.open(url)` and
serves its own loopback callback (uvicorn on localhost). The only thing replaced is the
browser: `webbrowser.open` becomes a person who approves on the consent page with the PIN
and follows the redirect to FastMCP's callback. Everything else is FastMCP's code as shipped.
"""

from __future__ import annotations

import threading
import time
import webbrowser
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastmcp import Client

from tests.integration.running import RunningWorker
from tests.support.oauth import approve


class HeadlessBrowser:
    """Stands in for webbrowser.open: approve, then land on the client's callback."""

    def __init__(self, pin: str) -> None:
        self.pin = pin
        self.opened: list[str] = []
        self.landed: list[int] = []
        self.errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []

    def open(self, url: str, *args: object, **kwargs: object) -> bool:
        self.opened.append(url)
        thread = threading.Thread(target=self._visit, args=(url,), daemon=True)
        thread.start()
        self._threads.append(thread)
        return True

    def _visit(self, url: str) -> None:
        try:
            location = approve(url, self.pin)
            # FastMCP starts its callback server right after webbrowser.open returns.
            deadline = time.monotonic() + 20
            while True:
                try:
                    response = httpx.get(location, timeout=10, trust_env=False)
                    self.landed.append(response.status_code)
                    return
                except httpx.ConnectError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=20)


def _text(result: object) -> str:
    return "".join(getattr(c, "text", "") for c in getattr(result, "content", []))


@pytest.mark.filterwarnings("ignore:Using in-memory token storage")
async def test_fastmcp_oauth_client_lists_and_calls_tools(
    worker: RunningWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker.upstream.recorder.clear()
    browser = HeadlessBrowser(worker.pin)
    monkeypatch.setattr(webbrowser, "open", browser.open)
    text = f"hello from FastMCP via {worker.kind}"

    async with Client(worker.mcp_url, auth="oauth", timeout=30) as client:
        tools = await client.list_tools()
        echoed = await client.call_tool("echo", {"text": text})
        added = await client.call_tool("add", {"a": 2, "b": 40})
    browser.join()

    assert not browser.errors, browser.errors
    assert len(browser.opened) == 1, browser.opened
    assert browser.landed == [200]
    assert {"echo", "add", "slow_count"} <= {tool.name for tool in tools}
    assert _text(echoed) == text
    assert float(_text(added)) == 42

    query = parse_qs(urlsplit(browser.opened[0]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["resource"] == [worker.mcp_url]
    assert query["redirect_uri"][0].startswith("http://localhost:")
    assert query["redirect_uri"][0].endswith("/callback")

    seen = worker.upstream.recorder.snapshot()
    assert seen, "the upstream saw no request"
    for request in seen:
        assert request.path == "/mcp"
        assert request.headers.get("authorization") == f"Bearer {worker.upstream.pat}"
