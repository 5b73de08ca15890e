"""A legacy HTTP+SSE upstream (the official SDK's SseServerTransport) through the Worker, with
the SDK's SSE client, on every host: initialize, list tools, call one, progress event by event;
the upstream sees the PAT only on its SSE and message endpoints."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.client.sse import sse_client

from cfmcp.local.demo import build_demo_server, require_bearer
from cfmcp.project.config import ProjectConfig
from cfmcp.worker.render import render_bundle
from tests.integration.running import new_pin, worker_env
from tests.integration.upstream import Recorder, ThreadedServer
from tests.support.hosts import start_worker
from tests.support.oauth import obtain_tokens_over_http


class SseUpstream(ThreadedServer):
    def __init__(self) -> None:
        self.pat = "pat-sse-" + str(time.time_ns())
        self.recorder = Recorder()
        super().__init__(
            self.recorder.wrap(require_bearer(build_demo_server().sse_app(), self.pat))
        )


@pytest.fixture(scope="module")
def sse_upstream() -> Iterator[SseUpstream]:
    server = SseUpstream()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sse_worker(worker_kind: str, sse_upstream: SseUpstream, tmp_path_factory) -> Iterator[tuple]:
    config = ProjectConfig()
    config.upstream.url = f"{sse_upstream.origin}/sse"
    config.upstream.transport = "sse"
    out: Path = tmp_path_factory.mktemp("sse-bundle")
    render_bundle(config.validate(), public_url="").write(out)
    pin = new_pin()
    with start_worker(worker_kind, out, worker_env(sse_upstream.pat, pin)) as origin:
        tokens = obtain_tokens_over_http(origin, pin)
        yield origin, tokens.access_token


def _text(result: object) -> str:
    return "".join(getattr(c, "text", "") for c in getattr(result, "content", []))


async def test_sse_client_initialize_list_call_and_progress(sse_worker, sse_upstream) -> None:
    origin, token = sse_worker
    sse_upstream.recorder.clear()
    arrivals: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        arrivals.append(time.monotonic())

    count, delay = 4, 0.5
    headers = {"Authorization": f"Bearer {token}"}
    async with Client(sse_client(f"{origin}/mcp", headers=headers), mode="legacy") as client:
        tools = await client.list_tools()
        assert {"echo", "slow_count"} <= {tool.name for tool in tools.tools}
        echoed = await client.call_tool("echo", {"text": "héllo over legacy SSE"})
        assert _text(echoed) == "héllo over legacy SSE"
        result = await client.call_tool(
            "slow_count", {"count": count, "delay": delay}, progress_callback=on_progress
        )
    assert _text(result) == f"counted to {count}"
    assert len(arrivals) == count
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) >= 0.4 * delay, f"progress arrived bunched: {gaps}"

    seen = sse_upstream.recorder.snapshot()
    assert {s.path for s in seen} == {"/sse", "/messages/"}
    for request in seen:
        assert request.headers.get("authorization") == f"Bearer {sse_upstream.pat}"
        assert all(token not in value for value in request.headers.values())


def test_message_endpoint_needs_a_token_and_a_signed_endpoint(sse_worker, sse_upstream) -> None:
    origin, token = sse_worker
    sse_upstream.recorder.clear()
    response = httpx.post(f"{origin}/mcp/message?endpoint=x", json={}, timeout=10)
    assert (
        response.status_code == 401 and "resource_metadata=" in response.headers["www-authenticate"]
    )
    auth = {"Authorization": f"Bearer {token}"}
    for query in ("endpoint=/admin", "endpoint=sse-endpoint.e30.AAAA", ""):
        response = httpx.post(f"{origin}/mcp/message?{query}", json={}, headers=auth, timeout=10)
        assert response.status_code == 404, query
    assert sse_upstream.recorder.snapshot() == []


def test_first_event_is_the_rewritten_endpoint(sse_worker) -> None:
    origin, token = sse_worker
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    with httpx.stream("GET", f"{origin}/mcp", headers=headers, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = ""
        for chunk in response.iter_text():
            text += chunk
            if "\n\n" in text.replace("\r\n", "\n"):
                break
    lines = text.replace("\r\n", "\n").split("\n")
    assert lines[0] == "event: endpoint"
    assert lines[1].startswith("data: /mcp/message?endpoint=sse-endpoint.")
    assert "session_id" not in lines[1]  # the upstream's path travels signed, not readable
