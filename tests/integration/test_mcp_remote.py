"""mcp-remote (npm) completes the whole OAuth flow headlessly and lists the tools.

`BROWSER` points at a script that receives the authorize URL as $1, approves on the consent
page with the PIN, and requests the redirect Location (mcp-remote's callback server).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.running import RunningWorker

REPO = Path(__file__).resolve().parents[2]
CLIENT = REPO / "tests" / "node" / "node_modules" / ".bin" / "mcp-remote-client"

BROWSER_SCRIPT = """#!{python}
import os, sys, traceback
sys.path.insert(0, {repo!r})
import httpx
from tests.support.oauth import approve
try:
    location = approve(sys.argv[1], os.environ["CFMCP_TEST_PIN"])
    httpx.get(location, timeout=15, trust_env=False)
    with open({log!r}, "a") as log:
        log.write("approved\\n")
except Exception:
    with open({log!r}, "a") as log:
        log.write(traceback.format_exc())
    sys.exit(1)
"""


@pytest.fixture(scope="module")
def node_client() -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not CLIENT.exists():
        pytest.fail("tests/node/node_modules is missing: run `cd tests/node && npm ci`")
    return CLIENT


def run_mcp_remote_client(mcp_url: str, pin: str, tmp_path: Path) -> tuple[int, str, str]:
    """Run mcp-remote's client against `mcp_url`, approving with `pin` on the consent page;
    (exit code, its output, the browser script's log)."""
    browser_log = tmp_path / "browser.log"
    browser = tmp_path / "browser"
    browser.write_text(
        BROWSER_SCRIPT.format(python=sys.executable, repo=str(REPO), log=str(browser_log))
    )
    browser.chmod(0o700)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(
        {
            "BROWSER": str(browser),
            "MCP_REMOTE_CONFIG_DIR": str(tmp_path / "config"),
            "CFMCP_TEST_PIN": pin,
            "NO_PROXY": "*",
        }
    )
    output_path = tmp_path / "client.log"
    # stdin stays open: mcp-remote shuts down when its stdin closes.
    with open(output_path, "wb") as out:
        proc = subprocess.Popen(
            [str(CLIENT), mcp_url],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE,
        )
        try:
            proc.wait(timeout=90)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert proc.stdin is not None
            proc.stdin.close()
    output = output_path.read_text(errors="replace")
    browser_out = browser_log.read_text() if browser_log.exists() else "(browser never ran)"
    return proc.returncode, output, browser_out


def test_mcp_remote_client_connects_and_lists_tools(
    worker: RunningWorker, node_client: Path, tmp_path: Path
) -> None:
    worker.upstream.recorder.clear()
    returncode, output, browser_out = run_mcp_remote_client(worker.mcp_url, worker.pin, tmp_path)
    assert returncode == 0, f"{output[-4000:]}\nbrowser: {browser_out}"
    assert "approved" in browser_out
    assert "Connected successfully" in output
    assert '"name": "echo"' in output and '"name": "slow_count"' in output, output[-4000:]
    seen = worker.upstream.recorder.snapshot()
    assert seen and all(
        s.headers.get("authorization") == f"Bearer {worker.upstream.pat}" for s in seen
    )
