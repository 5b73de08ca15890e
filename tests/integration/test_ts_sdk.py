"""The official MCP TypeScript SDK (npm @modelcontextprotocol/sdk) as an OAuth client.

tests/node/ts_sdk_oauth_client.mjs runs the SDK's own flow (discovery, dynamic registration,
PKCE, a loopback callback server) and prints the authorize URL where a desktop client would
open a browser; this test is the browser: it approves on the consent page with the PIN and
requests the redirect, which lands on the script's callback. The script then lists the
tools and calls `echo` through the Worker to the real PAT-only upstream.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.integration.running import RunningWorker
from tests.support.oauth import approve

REPO = Path(__file__).resolve().parents[2]
NODE_DIR = REPO / "tests" / "node"
SCRIPT = NODE_DIR / "ts_sdk_oauth_client.mjs"
SDK = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "sdk" / "package.json"
TIMEOUT_SECONDS = 45


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.skip("node is not installed")
    if not SDK.exists():
        pytest.fail("tests/node/node_modules is missing: run `cd tests/node && npm ci`")
    return found


def test_typescript_sdk_oauth_flow_then_tool_call(worker: RunningWorker, node: str) -> None:
    worker.upstream.recorder.clear()
    text = f"hello from the TypeScript SDK via {worker.kind}"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.Popen(
        [node, str(SCRIPT), worker.mcp_url, text],
        cwd=NODE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    timer = threading.Timer(TIMEOUT_SECONDS, proc.kill)
    timer.start()
    events: list[dict] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            event = json.loads(line)
            events.append(event)
            if event["event"] == "authorize":
                # The person's browser: consent page, PIN, then the redirect to the callback.
                location = approve(event["url"], worker.pin)
                assert location.startswith("http://127.0.0.1:"), location
                httpx.get(location, timeout=15, trust_env=False).raise_for_status()
        proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == 0, f"exit {proc.returncode}\n{stderr[-4000:]}\nevents: {events}"

    assert [e["event"] for e in events] == ["authorize", "result"], events
    result = events[-1]
    assert {"echo", "add", "slow_count"} <= set(result["tools"])
    assert result["echo"] == text
    # the SDK registered itself (DCR) and used PKCE S256 and RFC 8707 resource
    assert result["client_id"]
    query = parse_qs(urlsplit(result["authorize_urls"][0]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["client_id"] == [result["client_id"]]
    assert query["resource"] == [worker.mcp_url]
    assert result["iss"] == worker.origin
    assert result["token_type"].lower() == "bearer"
    assert result["has_refresh_token"]

    seen = worker.upstream.recorder.snapshot()
    assert seen, "the upstream saw no request"
    for request in seen:
        assert request.path == "/mcp"
        assert request.headers.get("authorization") == f"Bearer {worker.upstream.pat}"
    assert result["session_id"] and any(
        r.headers.get("mcp-session-id") == result["session_id"] for r in seen
    )
