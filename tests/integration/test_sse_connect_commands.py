"""With a legacy HTTP+SSE upstream, `cfmcp dev` tells clients to connect over SSE, and the
commands it prints work: real clients, real OAuth, a real legacy-SSE upstream.

The Worker's /mcp speaks the upstream's transport (worker_template/cfmcp_worker/app.py sends
GET /mcp to the legacy bridge and forwards every other method unchanged), so a
streamable-HTTP client's POST to /mcp reaches the upstream's SSE URL and is answered 405:
`--transport http` cannot work there (Claude Code's `--transport http`, the Inspector's
"Streamable HTTP"). mcp-remote's default, http-first, falls back to SSE after that 405;
`--transport sse-only` skips the failed POST. The panel's mcp-remote command is run as
printed; the Inspector's CLI with the transport the panel names for it, and once with `http`
to show that the old advice fails. On the `cfmcp dev` hosts (cpython, workerd), the ones that
print the panel.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.running import new_pin, worker_env
from tests.integration.test_inspector_cli import LAUNCHER, NODE22, _free_port
from tests.integration.test_legacy_sse import SseUpstream
from tests.integration.test_mcp_remote import BROWSER_SCRIPT, CLIENT
from tests.support.hosts import DevHost, _dev_worker, start_workerd, workerd_unavailable

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 45


@pytest.fixture(scope="module")
def sse_upstream() -> Iterator[SseUpstream]:
    server = SseUpstream()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["cpython", "workerd"])
def dev_host(
    request: pytest.FixtureRequest,
    sse_upstream: SseUpstream,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DevHost, str]]:
    if not (CLIENT.exists() and NODE22.exists() and LAUNCHER.exists()):
        pytest.fail("tests/node/node_modules is missing: run `cd tests/node && npm ci`")
    if request.param == "workerd" and (reason := workerd_unavailable()):
        if os.environ.get("CI"):
            pytest.fail(f"workerd host unavailable in CI: {reason}")
        pytest.skip(f"workerd host unavailable: {reason}")
    # the user's path: a cfmcp.toml that says `transport = "sse"`, rendered by `cfmcp render`
    project = tmp_path_factory.mktemp("sse-project")
    (project / "cfmcp.toml").write_text(
        f'[upstream]\nurl = "{sse_upstream.origin}/sse"\ntransport = "sse"\n'
    )
    out = project / "worker"
    subprocess.run(
        [sys.executable, "-m", "cfmcp", "render", "--out", str(out)],
        cwd=project,
        check=True,
        capture_output=True,
        timeout=60,
    )
    pin = new_pin()
    env = worker_env(sse_upstream.pat, pin)
    start = start_workerd if request.param == "workerd" else _dev_worker
    with start(out, env) as host:
        yield host, pin


def _panel_commands(host: DevHost) -> dict[str, str]:
    assert host.log_path is not None
    text = host.log_path.read_text(errors="replace")
    found = dict(re.findall(r"^  ([A-Za-z -]+): (.+)$", text, re.MULTILINE))
    assert {"mcp-remote", "Claude Code", "MCP Inspector"} <= set(found), text
    return found


def _browser(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "browser.log"
    script = tmp_path / "browser"
    script.write_text(BROWSER_SCRIPT.format(python=sys.executable, repo=str(REPO), log=str(log)))
    script.chmod(0o700)
    return script, log


def _client_env(tmp_path: Path, pin: str) -> tuple[dict[str, str], Path]:
    browser, log = _browser(tmp_path)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY") and not k.lower().endswith("_proxy")
    }
    home = tmp_path / "home"
    home.mkdir()
    env.update(
        {
            "HOME": str(home),
            "BROWSER": str(browser),
            "CFMCP_TEST_PIN": pin,
            "MCP_REMOTE_CONFIG_DIR": str(tmp_path / "mcp-remote"),
            "MCP_AUTO_OPEN_ENABLED": "true",
            "MCP_INSPECTOR_SECRET_STORE": "file",
            "NO_COLOR": "1",
        }
    )
    return env, log


def test_panel_tells_clients_to_use_sse(dev_host: tuple[DevHost, str]) -> None:
    host, _ = dev_host
    commands = _panel_commands(host)
    url = f"{host.origin}/mcp"
    assert commands["Claude Code"] == f"claude mcp add --transport sse cfmcp {url}"
    assert commands["mcp-remote"] == f"npx -y mcp-remote {url} --transport sse-only"
    assert commands["MCP Inspector"] == f"npx -y @modelcontextprotocol/inspector (SSE, {url})"
    assert "legacy HTTP+SSE" in host.log_path.read_text()  # type: ignore[union-attr]


def test_printed_mcp_remote_command_connects(
    dev_host: tuple[DevHost, str], sse_upstream: SseUpstream, tmp_path: Path
) -> None:
    host, pin = dev_host
    sse_upstream.recorder.clear()
    argv = shlex.split(_panel_commands(host)["mcp-remote"])
    assert argv[:3] == ["npx", "-y", "mcp-remote"]
    env, browser_log = _client_env(tmp_path, pin)
    output = tmp_path / "client.log"
    with open(output, "wb") as out:
        # mcp-remote-client: the same package's client, which lists the tools and exits
        proc = subprocess.Popen(
            [str(CLIENT), *argv[3:]],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE,
        )
        try:
            proc.wait(timeout=TIMEOUT_SECONDS)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert proc.stdin is not None
            proc.stdin.close()
    text = output.read_text(errors="replace")
    browser = browser_log.read_text() if browser_log.exists() else "(browser never ran)"
    assert proc.returncode == 0, f"{text[-4000:]}\nbrowser: {browser}"
    assert browser == "approved\n"
    assert "Using transport strategy: sse-only" in text
    assert '"name": "echo"' in text, text[-4000:]
    paths = {s.path for s in sse_upstream.recorder.snapshot()}
    assert paths == {"/sse", "/messages/"}, paths


def _inspector(
    host: DevHost, env: dict[str, str], transport: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(NODE22),
            str(LAUNCHER),
            "--cli",
            f"{host.origin}/mcp",
            "--transport",
            transport,
            *args,
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def test_inspector_over_sse_as_the_panel_says_and_not_over_http(
    dev_host: tuple[DevHost, str], tmp_path: Path
) -> None:
    host, pin = dev_host
    said = _panel_commands(host)["MCP Inspector"]
    transport = {"SSE": "sse", "Streamable HTTP": "http"}[said.split("(", 1)[1].split(",")[0]]
    env, browser_log = _client_env(tmp_path, pin)
    callback = ["--callback-url", f"http://127.0.0.1:{_free_port()}/oauth/callback"]

    listed = _inspector(host, env, transport, *callback, "--method", "tools/list")
    assert listed.returncode == 0, f"{listed.stdout[-3000:]}\n{listed.stderr[-3000:]}"
    assert browser_log.read_text() == "approved\n"
    assert "echo" in {tool["name"] for tool in json.loads(listed.stdout)["tools"]}

    # the same stored token over streamable HTTP: the upstream's SSE URL refuses the POST
    wrong = _inspector(host, env, "http", *callback, "--stored-auth-only", "--method", "tools/list")
    assert wrong.returncode != 0
    assert "405" in wrong.stdout + wrong.stderr, wrong.stdout + wrong.stderr
