"""The Worker records an upstream's refusal of the PAT in KV from every runtime host: the
record runs after the response (ctx.waitUntil in Pyodide and workerd, a task on CPython), a
refusal storm writes once, and the client gets the 502 that says the PAT needs replacing."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cfmcp.project.config import ProjectConfig
from cfmcp.worker.render import render_bundle
from tests.support.hosts import start_workerd, workerd_unavailable
from tests.support.oauth import MCP_HEADERS, obtain_tokens_over_http
from tests.support.pat_upstreams import PatUpstream

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


@pytest.fixture(scope="module")
def refusing_upstream() -> Iterator[PatUpstream]:
    with PatUpstream() as server:  # its PAT is not the one the Worker is given
        yield server


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, refusing_upstream: PatUpstream) -> Path:
    config = ProjectConfig()
    config.upstream.url = refusing_upstream.url
    out = tmp_path_factory.mktemp("pat-watch-bundle")
    render_bundle(config.validate()).write(out)
    return out


def worker_env() -> dict[str, str]:
    return {
        "UPSTREAM_TOKEN": "FAKE-expired-pat-" + secrets.token_urlsafe(8),
        "AUTH_PIN": f"{secrets.randbelow(10**8):08d}",
        "SIGNING_KEY": secrets.token_urlsafe(32),
    }


def call_mcp(origin: str, access_token: str) -> httpx.Response:
    return httpx.post(
        f"{origin}/mcp",
        json=PING,
        timeout=30,
        headers={**MCP_HEADERS, "Authorization": f"Bearer {access_token}"},
    )


def wait_for(condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.pyodide
def test_pyodide_records_a_refusal_once(bundle: Path) -> None:
    from tests.workers_runtime.host import start_harness

    env = worker_env()
    with start_harness(bundle, env, control=True) as info:
        tokens = obtain_tokens_over_http(info.origin, env["AUTH_PIN"])

        def writes() -> int:
            return int(httpx.get(f"{info.origin}/__harness__/stats").json()["kv"]["writes"])

        before = writes()
        first = call_mcp(info.origin, tokens.access_token)
        assert first.status_code == 502, first.text
        assert "replace the PAT" in first.json()["error_description"]
        wait_for(lambda: writes() == before + 1, "the refusal was not recorded")
        for _ in range(5):
            assert call_mcp(info.origin, tokens.access_token).status_code == 502
        time.sleep(0.3)
        assert writes() == before + 1  # a storm writes once
        assert env["UPSTREAM_TOKEN"] not in first.text


def test_workerd_records_a_refusal_once(bundle: Path) -> None:
    reason = workerd_unavailable()
    if reason:
        pytest.skip(reason)
    env = worker_env()
    with start_workerd(bundle, env, count_ops=True) as host:
        tokens = obtain_tokens_over_http(host.origin, env["AUTH_PIN"])
        host.reset_ops()
        first = call_mcp(host.origin, tokens.access_token)
        assert first.status_code == 502, first.text
        wait_for(lambda: host.ops()["kv_put"] == 1, f"not recorded: {host.ops()}")
        for _ in range(5):
            assert call_mcp(host.origin, tokens.access_token).status_code == 502
        time.sleep(0.3)
        assert host.ops()["kv_put"] == 1, host.ops()
