"""Per-connection policies with real clients on every Worker host, against upstreams that
answer in SSE and in JSON: what a read-only connection lists and may call, what a full one
sees, the policy's header at the upstream, the header/body cross-check, and step-up.

The bundle here defines `read-only` with an upstream header, a `careful` policy whose refused
calls ask for step-up, and makes `read-only` the default for local (loopback) clients.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult

from cfmcp.project.config import ProjectConfig
from cfmcp.worker.render import render_bundle
from tests.integration.conftest import _skip_unavailable
from tests.integration.running import RunningWorker, new_pin, worker_env
from tests.integration.test_mcp_remote import node_client, run_mcp_remote_client
from tests.integration.test_sdk_client import MemoryStorage, public_client_provider
from tests.integration.upstream import RecordingUpstream
from tests.support.hosts import KINDS, start_worker
from tests.support.oauth import (
    MCP_HEADERS,
    approve,
    mcp_initialize,
    obtain_tokens_over_http,
)

POLICY_HEADER = ("X-Demo-Readonly", "true")
__all__ = ["node_client"]  # a fixture from test_mcp_remote
READ_TOOLS = {"echo", "add", "slow_count"}


@pytest.fixture(scope="module", params=["sse", "json"])
def policy_upstream(request: pytest.FixtureRequest) -> Iterator[RecordingUpstream]:
    server = RecordingUpstream(json_response=request.param == "json").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def policy_bundle(policy_upstream: RecordingUpstream, tmp_path_factory) -> Path:
    config = ProjectConfig()
    config.upstream.url = policy_upstream.mcp_url
    config.policies = {
        "read-only": {"read_only": True, "headers": dict([POLICY_HEADER])},
        "careful": {"allow": ["echo"], "step_up": True},
    }
    config.consent.client_policies = {"loopback": "read-only"}
    out = tmp_path_factory.mktemp("policy-bundle")
    render_bundle(config.validate()).write(out)
    return out


@pytest.fixture(scope="module", params=KINDS)
def policy_worker(
    request: pytest.FixtureRequest, policy_upstream: RecordingUpstream, policy_bundle: Path
) -> Iterator[RunningWorker]:
    _skip_unavailable(request.param)
    pin = new_pin()
    env = worker_env(policy_upstream.pat, pin)
    with start_worker(request.param, policy_bundle, env) as origin:
        yield RunningWorker(request.param, origin, pin, policy_upstream)


class ChoosingBrowser:
    """Approves on the consent page, choosing `policies[n]` on the n-th visit (None: what the
    page preselects)."""

    def __init__(self, pin: str, *policies: str | None) -> None:
        self.pin = pin
        self.policies = list(policies)
        self.authorize_urls: list[str] = []
        self.location = ""

    async def redirect(self, url: str) -> None:
        self.authorize_urls.append(url)
        policy = self.policies[len(self.authorize_urls) - 1]
        self.location = await anyio.to_thread.run_sync(approve, url, self.pin, policy)

    async def callback(self) -> AuthorizationCodeResult:
        params = {k: v[0] for k, v in parse_qs(urlsplit(self.location).query).items()}
        return AuthorizationCodeResult(
            code=params["code"], state=params.get("state"), iss=params.get("iss")
        )


def sdk_session(worker: RunningWorker, browser: ChoosingBrowser):
    provider = public_client_provider(worker.mcp_url, browser, MemoryStorage(), "policy test")
    http = httpx2.AsyncClient(auth=provider, timeout=30)
    return http, Client(streamable_http_client(worker.mcp_url, http_client=http), mode="legacy")


def policy_worker_mode(worker: RunningWorker) -> str:
    return "json" if worker.upstream.json_response else "sse"


def through_worker(worker: RunningWorker) -> list:
    """What reached the upstream through the Worker (with the PAT; not the tests' own probes)."""
    pat = f"Bearer {worker.upstream.pat}"
    return [s for s in worker.upstream.recorder.snapshot() if s.headers.get("authorization") == pat]


def upstream_posts(worker: RunningWorker) -> int:
    return sum(1 for seen in through_worker(worker) if seen.method == "POST")


def test_a_call_before_any_listing_is_decided_by_asking_the_upstream(
    policy_worker: RunningWorker,
) -> None:
    """First in the module: this Worker has seen no tools/list yet, so a read-only call makes
    it ask the upstream's tools/list itself, in the client's session."""
    tokens = obtain_tokens_over_http(policy_worker.origin, policy_worker.pin)  # read-only
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {tokens.access_token}"}
    with httpx.Client(base_url=policy_worker.origin, timeout=15, trust_env=False) as http:
        started = http.post("/mcp", json=mcp_initialize("probe test"), headers=headers)
        assert started.status_code == 200, started.text
        headers["Mcp-Session-Id"] = started.headers["mcp-session-id"]
        headers["Mcp-Protocol-Version"] = "2025-06-18"
        http.post(
            "/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers
        )

        def call(tool: str, arguments: dict) -> httpx.Response:
            body = {"jsonrpc": "2.0", "id": 2, "method": "tools/call"}
            body["params"] = {"name": tool, "arguments": arguments}
            return http.post("/mcp", json=body, headers=headers)

        echoed = call("echo", {"text": "probed"})
        assert echoed.status_code == 200 and "probed" in echoed.text, echoed.text
        refused = call("write_note", {"text": "no"})
        assert refused.status_code == 200 and "not allowed for this connection" in refused.text


async def test_read_only_connection_lists_and_calls_only_read_tools(
    policy_worker: RunningWorker,
) -> None:
    policy_worker.upstream.recorder.clear()  # the upstream serves every host of one kind
    browser = ChoosingBrowser(policy_worker.pin, None)  # loopback's default: read-only
    http, client = sdk_session(policy_worker, browser)
    async with http, client:
        tools = await client.list_tools()
        assert {tool.name for tool in tools.tools} == READ_TOOLS  # write_note filtered out
        assert (await client.call_tool("echo", {"text": "read"})).content[0].text == "read"
        before = upstream_posts(policy_worker)
        with pytest.raises(Exception, match="not allowed for this connection"):
            await client.call_tool("write_note", {"text": "must not be written"})
        assert upstream_posts(policy_worker) == before  # refused at the edge
    seen = through_worker(policy_worker)
    missing = [s for s in seen if s.headers.get(POLICY_HEADER[0].lower()) != "true"]
    assert seen and not missing, missing


async def test_a_restricted_connection_still_streams_event_by_event(
    policy_worker: RunningWorker,
) -> None:
    """Only tools/list answers are rewritten: a read-only call's progress notifications
    arrive one by one, as the upstream sends them (an upstream answering in JSON has no
    stream to send them on: there the call just completes)."""
    arrivals: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        arrivals.append(time.monotonic())

    browser = ChoosingBrowser(policy_worker.pin, "read-only")
    http, client = sdk_session(policy_worker, browser)
    async with http, client:
        await client.list_tools()
        result = await client.call_tool(
            "slow_count", {"count": 3, "delay": 0.5}, progress_callback=on_progress
        )
    assert result.content[0].text == "counted to 3"
    if policy_worker_mode(policy_worker) == "sse":
        assert len(arrivals) == 3, arrivals
        assert arrivals[-1] - arrivals[0] >= 0.6, f"progress arrived bunched: {arrivals}"


async def test_full_connection_sees_and_calls_everything(policy_worker: RunningWorker) -> None:
    policy_worker.upstream.recorder.clear()
    browser = ChoosingBrowser(policy_worker.pin, "full")
    http, client = sdk_session(policy_worker, browser)
    async with http, client:
        tools = await client.list_tools()
        assert {tool.name for tool in tools.tools} == READ_TOOLS | {"write_note"}
        written = await client.call_tool("write_note", {"text": "allowed"})
        assert "note(s) kept" in written.content[0].text
    seen = through_worker(policy_worker)
    assert seen and not any(POLICY_HEADER[0].lower() in s.headers for s in seen)


async def test_step_up_widens_the_connection_after_a_new_consent(
    policy_worker: RunningWorker,
) -> None:
    """`careful` answers a refused call with 403 insufficient_scope naming `mcp:full`; the SDK
    authorizes again, the owner chooses `full` (PIN again: a client's request alone never
    checks a wider policy than its default), and the SDK retries the call."""
    browser = ChoosingBrowser(policy_worker.pin, "careful", "full")
    http, client = sdk_session(policy_worker, browser)
    async with http, client:
        assert {tool.name for tool in (await client.list_tools()).tools} == {"echo"}
        written = await client.call_tool("write_note", {"text": "after step-up"})
        assert "note(s) kept" in written.content[0].text
    assert len(browser.authorize_urls) == 2
    asked = parse_qs(urlsplit(browser.authorize_urls[1]).query)["scope"][0].split()
    assert "mcp:full" in asked


def test_mcp_headers_must_mirror_the_body(policy_worker: RunningWorker) -> None:
    tokens = obtain_tokens_over_http(policy_worker.origin, policy_worker.pin)
    before = upstream_posts(policy_worker)
    response = httpx.post(
        policy_worker.mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "write_note"}},
        headers={
            "Authorization": f"Bearer {tokens.access_token}",
            "Accept": "application/json, text/event-stream",
            "Mcp-Method": "tools/call",
            "Mcp-Name": "echo",
        },
        timeout=15,
        trust_env=False,
    )
    assert response.status_code == 400 and "Mcp-Name" in response.text
    assert upstream_posts(policy_worker) == before


def test_mcp_remote_gets_the_loopback_default_policy(
    policy_worker: RunningWorker, node_client: Path, tmp_path: Path
) -> None:
    returncode, output, browser = run_mcp_remote_client(
        policy_worker.mcp_url, policy_worker.pin, tmp_path
    )
    assert returncode == 0, f"{output[-4000:]}\nbrowser: {browser}"
    assert '"name": "echo"' in output and '"name": "write_note"' not in output, output[-4000:]
