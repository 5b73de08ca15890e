"""The real rendered Worker under the Pyodide harness, and the bug class the harness exists for.

A KV binding answers a missing key with JS null, which Pyodide >= 0.28 hands to Python as
`pyodide.ffi.jsnull` — falsy, but not None. Code tested only on CPython against a fake KV that
returns None passes every test and breaks on Workers. The harness must catch that.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cfmcp.config import ProjectConfig
from cfmcp.render import render_bundle
from tests.workers_runtime.host import start_harness
from tests.workers_runtime.oauth_flow import HttpxTransport, obtain_tokens
from tests.workers_runtime.sse_upstream import GatedSse, read_events_gated

pytestmark = pytest.mark.pyodide

REPO = Path(__file__).resolve().parent.parent
PAT = "pat-for-the-harness-0000"

# JsKvStore.get in entry.py, and the bug: treating "missing" as `is None` only.
KV_NULL_CHECK = "        if _is_null(value):\n            return None\n        return str(value)\n"
KV_NONE_CHECK = "        if value is None:\n            return None\n        return str(value)\n"


@pytest.fixture(scope="module")
def sse() -> Iterator[GatedSse]:
    server = GatedSse()
    yield server
    server.close()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, sse: GatedSse) -> Path:
    config = ProjectConfig()
    config.upstream.url = sse.url
    out = tmp_path_factory.mktemp("real-bundle")
    render_bundle(config.validate()).write(out)
    return out


def worker_env(pin: str) -> dict[str, str]:
    return {"UPSTREAM_TOKEN": PAT, "AUTH_PIN": pin, "SIGNING_KEY": secrets.token_urlsafe(32)}


def new_pin() -> str:
    return f"{secrets.randbelow(10**8):08d}"


async def token_reply_over_http(origin: str, pin: str):
    async with httpx.AsyncClient(base_url=origin, timeout=30) as client:
        return await obtain_tokens(HttpxTransport(client), origin, pin)


def test_real_bundle_serves_metadata_and_asks_for_a_token(bundle: Path):
    with start_harness(bundle, worker_env(new_pin())) as info:
        origin = info.origin
        server = httpx.get(f"{origin}/.well-known/oauth-authorization-server", timeout=30)
        resource = httpx.get(f"{origin}/.well-known/oauth-protected-resource/mcp", timeout=30)
        unauthenticated = httpx.post(f"{origin}/mcp", json={}, timeout=30)
    assert server.status_code == 200
    assert server.json()["issuer"] == origin
    assert server.json()["token_endpoint"] == f"{origin}/token"
    assert resource.status_code == 200
    assert resource.json()["resource"] == f"{origin}/mcp"
    assert resource.json()["authorization_servers"] == [origin]
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{origin}/.well-known/oauth-protected-resource/mcp"'
    )


def test_sse_from_upstream_streams_through_the_worker_event_by_event(bundle: Path,
                                                                    sse: GatedSse):
    pin = new_pin()
    with start_harness(bundle, worker_env(pin)) as info:
        flow = asyncio.run(token_reply_over_http(info.origin, pin))
        assert flow.token_reply.status == 200, flow.token_reply.body
        arrived = read_events_gated(
            "POST", f"{info.origin}/mcp", sse, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"authorization": f"Bearer {flow.access_token}",
                     "accept": "application/json, text/event-stream"},
        )
    assert b"".join(chunk for chunk, _ in arrived) == b"data: one\n\ndata: two\n\n"
    assert arrived[0] == (b"data: one\n\n", False)
    method, _, headers = sse.requests[-1]
    assert method == "POST"
    assert headers["Authorization"] == f"Bearer {PAT}"  # the PAT, not the client's token


def patched_bundle(bundle: Path, destination: Path) -> Path:
    """A copy of the bundle whose KV adapter checks `value is None` instead of JS null."""
    shutil.copytree(bundle, destination)
    entry = destination / "entry.py"
    source = entry.read_text()
    assert source.count(KV_NULL_CHECK) == 1, "JsKvStore.get changed; update KV_NULL_CHECK"
    entry.write_text(source.replace(KV_NULL_CHECK, KV_NONE_CHECK))
    return destination


def run_flow_on_cpython(bundle_dir: Path, pin: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "tests.workers_runtime.cpython_entry", str(bundle_dir)],
        cwd=REPO, env={**os.environ, "CFMCP_TEST_PIN": pin},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_harness_catches_jsnull_treated_as_none(bundle: Path, tmp_path: Path):
    """The OAuth flow redeems a code; its single-use marker is a KV key that must be missing."""
    broken = patched_bundle(bundle, tmp_path / "broken")
    pin = new_pin()

    # CPython with a None-returning fake KV: the broken adapter passes, as a unit test would.
    assert run_flow_on_cpython(broken, pin) == {"token_status": 200, "token_error": None}

    # Under Pyodide the missing marker comes back as jsnull, so the fresh code looks used.
    with start_harness(broken, worker_env(pin)) as info:
        flow = asyncio.run(token_reply_over_http(info.origin, pin))
    assert flow.token_reply.status == 400
    assert flow.token_reply.json()["error"] == "invalid_grant"

    # The shipped adapter converts jsnull and completes the same flow under Pyodide.
    with start_harness(bundle, worker_env(pin)) as info:
        flow = asyncio.run(token_reply_over_http(info.origin, pin))
    assert flow.token_reply.status == 200, flow.token_reply.body
    assert flow.token_reply.json()["token_type"].lower() == "bearer"
