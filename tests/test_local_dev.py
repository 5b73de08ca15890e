"""`cfmcp dev` as a user runs it: one-line errors, the demo end to end, no secrets on disk."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx
import pytest

from cfmcp.local.server import bind_socket
from tests.support.oauth import obtain_tokens_over_http

pytestmark = pytest.mark.integration


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CFMCP_")}
    env.update({"NO_COLOR": "1", "COLUMNS": "200", **extra})
    return env


def run_dev(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cfmcp", "dev", *args],
        env=env or _env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert needle in result.stderr, result.stderr
    assert result.stderr.lower().startswith("error:"), result.stderr


@contextmanager
def dev_process(tmp_path: Path, *args: str, env: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """Start `cfmcp dev`, yield (origin, stdout file) once the ready file appears."""
    ready = tmp_path / "ready.json"
    out = tmp_path / "stdout.txt"
    with open(out, "wb") as handle:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cfmcp",
                "dev",
                "--port",
                "0",
                "--ready-file",
                str(ready),
                "--state",
                str(tmp_path / "state.sqlite3"),
                *args,
            ],
            env=env,
            cwd=tmp_path,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert proc.poll() is None, out.read_text()
            assert time.monotonic() < deadline, "cfmcp dev did not become ready"
            time.sleep(0.05)
        yield json.loads(ready.read_text())["origin"], out
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert proc.returncode == 0, out.read_text()


def test_bad_upstream_url(tmp_path: Path) -> None:
    result = run_dev(
        "--upstream", "ftp://example.com/mcp", cwd=tmp_path, env=_env(CFMCP_UPSTREAM_TOKEN="x")
    )
    assert_one_line_error(result, "invalid upstream URL")


def test_plain_http_to_remote_host_refused(tmp_path: Path) -> None:
    result = run_dev(
        "--upstream", "http://example.com/mcp", cwd=tmp_path, env=_env(CFMCP_UPSTREAM_TOKEN="x")
    )
    assert_one_line_error(result, "is not https")


def test_no_token_and_no_terminal(tmp_path: Path) -> None:
    result = run_dev("--upstream", "https://example.com/mcp", cwd=tmp_path)
    assert_one_line_error(result, "cannot ask 'Upstream personal access token': no terminal")
    assert result.returncode == 2
    assert "CFMCP_UPSTREAM_TOKEN" in result.stderr


def test_nothing_to_front(tmp_path: Path) -> None:
    result = run_dev(cwd=tmp_path, env=_env(CFMCP_UPSTREAM_TOKEN="x"))
    assert_one_line_error(result, "no upstream")
    assert "--demo" in result.stderr


def test_port_in_use(tmp_path: Path) -> None:
    sock = bind_socket("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        result = run_dev(
            "--demo", "--port", str(port), "--state", str(tmp_path / "s.sqlite3"), cwd=tmp_path
        )
    finally:
        sock.close()
    assert_one_line_error(result, "already in use")


def test_missing_bundle(tmp_path: Path) -> None:
    result = run_dev(
        "--bundle", str(tmp_path / "nope"), cwd=tmp_path, env=_env(CFMCP_UPSTREAM_TOKEN="x")
    )
    assert_one_line_error(result, "not found")


def test_conflicting_flags(tmp_path: Path) -> None:
    result = run_dev("--demo", "--upstream", "https://example.com/mcp", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_unreachable_upstream_is_a_warning(tmp_path: Path) -> None:
    env = _env(CFMCP_UPSTREAM_TOKEN="pat-unreachable", CFMCP_PIN="24681357")
    with dev_process(tmp_path, "--upstream", "http://127.0.0.1:9/mcp", env=env) as (origin, out):
        assert httpx.get(f"{origin}/.well-known/oauth-authorization-server").status_code == 200
        tokens = obtain_tokens_over_http(origin, "24681357")
        response = httpx.post(
            f"{origin}/mcp", json={}, headers={"Authorization": f"Bearer {tokens.access_token}"}
        )
        assert response.status_code == 502
    text = out.read_text()
    assert "warning:" in text and "not reachable" in text
    assert "pat-unreachable" not in text
    assert "a new signing key this run" in " ".join(text.split())  # no CFMCP_SIGNING_KEY


def test_demo_end_to_end_with_generated_pin(tmp_path: Path) -> None:
    env = _env(CFMCP_SIGNING_KEY="signing-key-for-this-test-0123456789")
    with dev_process(tmp_path, "--demo", env=env) as (origin, out):
        text = out.read_text()
        assert f"{origin}/mcp" in text
        assert f"npx -y mcp-remote {origin}/mcp" in text
        assert "claude mcp login cfmcp" in text
        assert "claude mcp add --transport http" in text
        assert "tokens last while CFMCP_SIGNING_KEY" in " ".join(text.split())
        pins = re.findall(r"PIN\s+([2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4})\s", text)  # generate_pin
        assert len(pins) == 1, text
        tokens = obtain_tokens_over_http(origin, pins[0])
        result = anyio.run(_call_add, f"{origin}/mcp", tokens.access_token)
        assert result == "42.0"
        unauth = httpx.post(f"{origin}/mcp", json={})
        assert unauth.status_code == 401
    # nothing secret on disk: not the PIN, not the signing key, not a token
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "stdout.txt":
            data = path.read_bytes()
            for secret in (
                pins[0],
                "signing-key-for-this-test",
                tokens.access_token,
                tokens.refresh_token or "<none>",
            ):
                assert secret.encode() not in data, f"{secret[:6]}... found in {path.name}"
    assert out.read_text().count(pins[0]) == 1, "the PIN was shown more than once"


def test_pin_from_environment_is_not_printed(tmp_path: Path) -> None:
    env = _env(CFMCP_PIN="97531864")
    with dev_process(tmp_path, "--demo", env=env) as (origin, out):
        obtain_tokens_over_http(origin, "97531864")
    text = out.read_text()
    assert "97531864" not in text
    assert "CFMCP_PIN" in text


async def _call_add(url: str, token: str) -> str:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
    ):
        result = await client.call_tool("add", {"a": 40, "b": 2})
    return "".join(getattr(c, "text", "") for c in result.content)


def test_generated_pin_is_as_strong_as_deploys(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cfmcp dev` used 8 digits (~27 bits); `deploy` generates ~59 bits (cfmcp.project.secrets)."""
    from cfmcp.local.launch import choose_pin
    from cfmcp.project.secrets import PIN_ALPHABET
    from cfmcp.project.secrets import PIN_ENV as ENV_PIN

    monkeypatch.delenv(ENV_PIN, raising=False)
    choices = [choose_pin() for _ in range(20)]
    assert all(choice.generated for choice in choices)
    pins = {choice.pin for choice in choices}
    assert len(pins) == 20
    for pin in pins:
        symbols = pin.replace("-", "")
        assert len(symbols) >= 12 and set(symbols) <= set(PIN_ALPHABET), pin


def test_the_start_up_probe_does_not_wait_for_an_endless_event_stream():
    """A legacy SSE endpoint answers headers, then streams forever: it is up."""
    import threading
    from http.server import BaseHTTPRequestHandler

    from cfmcp.local.launch import probe_upstream
    from tests.support.local_http import LocalHttpServer

    stop = threading.Event()

    class Endless(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            while not stop.is_set():
                self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
                stop.wait(0.2)

        def log_message(self, *args: object) -> None:
            pass

    with LocalHttpServer(Endless) as server:
        answers: list[str | None] = []
        probe = threading.Thread(target=lambda: answers.append(probe_upstream(server.origin)))
        probe.start()
        probe.join(timeout=10)  # reading the whole body would never end
        stop.set()
        assert answers == [None]
    closed = LocalHttpServer(Endless)
    closed.close()
    assert probe_upstream(closed.origin + "/sse") == "ConnectError"


def test_every_request_is_one_readable_line_and_no_secret_is_among_them(tmp_path: Path) -> None:
    env = _env(CFMCP_PIN="86420975", CFMCP_SIGNING_KEY="signing-key-for-the-log-test-012345")
    with dev_process(tmp_path, "--demo", env=env) as (origin, out):
        httpx.get(f"{origin}/.well-known/oauth-authorization-server?x=1")
        tokens = obtain_tokens_over_http(origin, "86420975", client_name="Line Reader")
        assert anyio.run(_call_add, f"{origin}/mcp", tokens.access_token) == "42.0"
        deadline = time.monotonic() + 10
        while "tools/call add allowed" not in out.read_text():
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.05)
    text = out.read_text()
    assert re.search(r"\d\d:\d\d:\d\d  GET /.well-known/oauth-authorization-server  200  ", text)
    assert "POST /register  201" in text and "Line Reader" in text
    assert re.search(r"POST /mcp  200  [\d.]+ ms to headers  Line Reader  grant [0-9a-f]{8}", text)
    assert "tools/call add" in text and "?x=1" not in text
    for secret in ("86420975", "signing-key-for-the-log", tokens.access_token):
        assert secret not in text
    assert (tokens.refresh_token or "<none>") not in text


def test_json_logs_are_the_workers_own_lines_on_stdout(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    with open(tmp_path / "out.txt", "wb") as stdout, open(tmp_path / "err.txt", "wb") as stderr:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "cfmcp", "dev", "--demo", "--json-logs", "--port", "0"),
                *("--ready-file", str(ready), "--state", str(tmp_path / "state.sqlite3")),
            ],
            env=_env(CFMCP_PIN="86420975"),
            cwd=tmp_path,
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        origin = json.loads(ready.read_text())["origin"]
        httpx.get(f"{origin}/.well-known/oauth-authorization-server")
        httpx.post(f"{origin}/mcp", json={})
        deadline = time.monotonic() + 10
        while (tmp_path / "out.txt").read_text().count("\n") < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    lines = [json.loads(line) for line in (tmp_path / "out.txt").read_text().splitlines()]
    assert [(line["cfmcp"], line["path"], line["status"]) for line in lines] == [
        ("request", "/.well-known/oauth-authorization-server", 200),
        ("request", "/mcp", 401),
    ]
    assert "MCP URL" in (tmp_path / "err.txt").read_text()  # the panel went to stderr


def test_dev_refuses_a_pat_that_cannot_travel_in_a_header_without_quoting_it(monkeypatch):
    from cfmcp.errors import UsageError
    from cfmcp.local.launch import upstream_token

    monkeypatch.setenv("CFMCP_UPSTREAM_TOKEN", "ghp_SECRET\u200bzero")
    with pytest.raises(UsageError) as raised:
        upstream_token(demo=False)
    assert "SECRET" not in str(raised.value.message) + str(raised.value.hint)
    assert "CFMCP_UPSTREAM_TOKEN" in raised.value.message


def test_dev_warns_when_the_upstream_answers_403_to_its_pat(monkeypatch, tmp_path):
    from cfmcp.local import launch, runtime
    from cfmcp.pat import probe
    from cfmcp.pat.verdict import PatStatus, PatVerdict
    from cfmcp.project.config import UpstreamConfig

    upstream = UpstreamConfig(url="https://example.com/mcp")
    monkeypatch.setattr(runtime, "upstream_config_of", lambda bundle: upstream)
    monkeypatch.setattr(
        probe,
        "check_pat",
        lambda *a, **k: PatVerdict(PatStatus.forbidden, "POST initialize → 403", 403),
    )
    problem = launch.pat_problem(tmp_path, "FAKE-pat")
    assert problem is not None and "403" in problem and "rate limit" in problem
