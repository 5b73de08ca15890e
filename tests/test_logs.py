"""`cfmcp logs` against the fake: a live tail of the Worker the fake runs, whose events are
made of the lines the Worker really printed for real requests; filters, `--json`, and the
tail deleted however `cfmcp logs` ends (Ctrl-C, the WebSocket closing, an error)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cfmcp.cli import app
from tests.fake_cloudflare import WORKERS_KV_EDIT, WORKERS_SCRIPTS_EDIT, FakeCloudflare
from tests.fake_cloudflare.fixtures import fake_cloudflare, fake_cloudflare_workers
from tests.support.deployed import (
    INITIALIZE,
    NAME,
    RESOURCE,
    Connection,
    connect,
    deploy_live,
    isolate,
    recording_upstream,
    use_fake_env,
    write_project,
)
from tests.support.oauth import MCP_HEADERS, http_sender, obtain_tokens, run

pytestmark = pytest.mark.integration

PIN = "FAKE-logs-pin-4444"
CLIENT_NAME = "Tail Watcher"
TAILS = f"/accounts/*/workers/scripts/{NAME}/tails"

upstream = recording_upstream  # pytest fixtures, by the names these tests use
fake = fake_cloudflare_workers
bare_fake = fake_cloudflare


@pytest.fixture
def deployed(fake, upstream, tmp_path, monkeypatch) -> Path:
    isolate(monkeypatch, tmp_path)
    return deploy_live(
        tmp_path, fake, monkeypatch, upstream_url=upstream.mcp_url, pat=upstream.pat, pin=PIN
    )


class LogsProcess:
    """`cfmcp logs` as a user runs it (the console script's code in a subprocess); its stdout
    read line by line in a thread."""

    def __init__(self, fake: FakeCloudflare, cwd: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDFLARE", "CFMCP"))}
        env.update(fake.env(), NO_COLOR="1", COLUMNS="250", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from cfmcp.cli import main; main()", "logs", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, predicate, timeout: float = 20.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while not predicate(self.lines):
            if self.proc.poll() is not None:
                self._reader.join(5)
                if predicate(self.lines):
                    break
                raise AssertionError(f"cfmcp logs exited: {self.stderr()}\n{self.lines}")
            assert time.monotonic() < deadline, self.lines
            time.sleep(0.05)
        return list(self.lines)

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=20)
        self._reader.join(5)
        return code, self.stderr()

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read() if self.proc.poll() is not None else ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def logs_process(fake, deployed) -> Iterator:
    started: list[LogsProcess] = []

    def start(*args: str) -> LogsProcess:
        process = LogsProcess(fake, deployed.parent, *args)
        started.append(process)
        fake.tails.wait_connected(NAME)
        return process

    yield start
    for process in started:
        process.kill()


def tools_call(origin: str, connection: Connection, tool: str, arguments: dict) -> None:
    """An MCP session through the Worker: initialize, initialized, one tools/call."""
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {connection.access_token}"}
    with httpx.Client(base_url=origin, headers=headers, timeout=20) as http:
        first = http.post("/mcp", json=INITIALIZE)
        assert first.status_code == 200, first.text
        session = {"Mcp-Session-Id": first.headers["mcp-session-id"]}
        http.post(
            "/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session
        )
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": tool, "arguments": arguments},
        }
        answer = http.post("/mcp", json=call, headers=session)
        assert answer.status_code == 200, answer.text


def parsed(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


def test_json_lines_of_real_requests_then_ctrl_c_exits_130_and_deletes_the_tail(
    fake, deployed, logs_process
):
    origin = fake.worker_origin(NAME)
    logs = logs_process("--json")
    tail = fake.tails.wait_connected(NAME)
    assert json.loads(tail.first_messages[0]) == {"debug": False}  # what wrangler sends
    connection = connect(origin, PIN, CLIENT_NAME)
    tools_call(origin, connection, "echo", {"text": "private words"})

    def has_tool_call(lines: list[str]) -> bool:
        return any('"tools/call"' in line and '"request"' in line for line in lines)

    objects = parsed(logs.wait_for(has_tool_call))
    requests = [o for o in objects if o.get("cfmcp") == "request"]
    paths = [(o["method"], o["path"], o["status"]) for o in requests]
    assert ("POST", "/register", 201) in paths and ("POST", "/token", 200) in paths
    call_line = next(o for o in requests if o.get("mcp_method") == "tools/call")
    assert call_line["tool"] == "echo" and call_line["client"] == CLIENT_NAME
    assert call_line["policy"] == "full" and "headers_ms" in call_line
    audit = next(o for o in objects if o.get("cfmcp") == "tools/call")
    assert audit["decision"] == "allowed" and audit["grant"] == call_line["grant"]
    assert all("at" in o for o in objects)

    code, stderr = logs.stop(signal.SIGINT)
    assert code == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert json.loads(logs.lines[-1])["code"] == "interrupted"  # the stream's last line
    assert all(t.deleted for t in fake.tails.of_script(NAME))
    assert fake.calls.count("DELETE", TAILS + "/*") == 1
    everything = "\n".join(logs.lines) + stderr
    for secret in (PIN, connection.access_token, connection.refresh_token, "private words"):
        assert secret not in everything


def test_filters_show_only_the_requests_asked_for(fake, deployed, logs_process):
    origin = fake.worker_origin(NAME)
    logs = logs_process("--json", "--status", "4xx")
    httpx.get(f"{origin}/.well-known/oauth-authorization-server", timeout=20)
    httpx.post(f"{origin}/mcp", json=INITIALIZE, timeout=20)  # no token: 401
    httpx.get(f"{origin}/favicon.ico", timeout=20)  # 404
    lines = parsed(logs.wait_for(lambda lines: len(lines) >= 2))
    time.sleep(0.5)  # nothing else may follow
    assert [(o["path"], o["status"]) for o in parsed(logs.lines)] == [
        ("/mcp", 401),
        ("/favicon.ico", 404),
    ], lines
    logs.stop()


def test_denied_shows_the_requests_whose_call_a_read_only_policy_refused(
    fake, deployed, logs_process
):
    origin = fake.worker_origin(NAME)
    logs = logs_process("--json", "--denied")
    flow = obtain_tokens(PIN, resource=RESOURCE, client_name="Careful Client", policy="read-only")
    tokens = run(flow, http_sender(origin))
    connection = Connection(tokens.client_id, tokens.access_token, str(tokens.refresh_token))
    tools_call(origin, connection, "echo", {"text": "fine"})  # read-only: allowed, not shown
    tools_call(origin, connection, "write_note", {"text": "not allowed"})
    logs.wait_for(lambda lines: len(lines) >= 2)
    time.sleep(0.5)  # nothing else may follow
    objects = parsed(logs.lines)
    assert [o["cfmcp"] for o in objects] == ["tools/call", "request"], objects
    audit, request = objects
    assert audit["decision"] == "denied" and audit["tool"] == "write_note"
    assert audit["client"] == "Careful Client" and audit["policy"] == "read-only"
    assert request["tool"] == "write_note" and request["status"] == 200
    logs.stop()


def test_client_and_denied_filters_and_other_output(fake, deployed, logs_process):
    """Events in the real shape, sent by the fake's tail: the filters decide per request,
    non-cfmcp lines and exceptions are shown (credentials masked), headers and query never."""
    logs = logs_process("--client", "claude", "--denied")
    line = {"cfmcp": "request", "method": "POST", "path": "/mcp", "status": 200, "ms": 1.0}
    denied = {"cfmcp": "tools/call", "tool": "delete_repo", "decision": "denied"}

    def event(*logged: dict | str, exceptions=()) -> dict:
        return {
            "outcome": "ok",
            "scriptName": NAME,
            "eventTimestamp": int(time.time() * 1000),
            "event": {
                "request": {
                    "url": "https://x.example/mcp?code=cfcode.SECRETCODE",
                    "method": "POST",
                    "headers": {"authorization": "Bearer cfat.SECRETTOKEN"},
                },
                "response": {"status": 200},
            },
            "logs": [
                {
                    "message": [m if isinstance(m, str) else json.dumps(m)],
                    "level": "log",
                    "timestamp": 1,
                }
                for m in logged
            ],
            "exceptions": list(exceptions),
        }

    send = lambda e: fake.tails.inject(fake.account_id, NAME, e)  # noqa: E731
    send(event({**denied, "client": "Cursor"}, {**line, "client": "Cursor"}))
    send(event({**line, "client": "Claude"}))  # not denied
    send(
        event(
            {**denied, "client": "Claude Code"},
            "some print with Bearer cfat.SECRETTOKEN in it",
            {**line, "client": "Claude Code"},
            exceptions=[{"name": "Error", "message": "boom cfrt.abc.1.SECRET", "timestamp": 2}],
        )
    )
    shown = logs.wait_for(lambda lines: any("exception" in line for line in lines))
    time.sleep(0.3)
    text = "\n".join(logs.lines)
    assert "Cursor" not in text and "  Claude  " not in text
    assert "tools/call delete_repo denied  Claude Code" in text, shown
    assert "POST /mcp  200" in text and "some print with Bearer <redacted>" in text
    assert "exception Error: boom cfrt.<redacted>" in text
    assert "SECRET" not in text and "?code" not in text
    logs.stop()


def test_the_tail_is_deleted_when_its_websocket_breaks_off(fake, deployed, logs_process):
    logs = logs_process()
    tail = fake.tails.wait_connected(NAME)
    for connection in list(tail.connections):
        connection.close(1011, "tail worker failed")
    logs.proc.wait(timeout=20)  # it ends by itself
    code, stderr = logs.stop()
    assert code == 1, stderr
    assert "\nerror: the live tail broke off" in stderr and "Traceback" not in stderr
    assert "run `cfmcp logs` again" in stderr
    assert fake.calls.count("DELETE", TAILS + "/*") == 1


def test_sigterm_stops_it_as_ctrl_c_does(fake, deployed, logs_process):
    logs = logs_process()
    code, stderr = logs.stop(signal.SIGTERM)
    assert code == 130 and "Traceback" not in stderr
    assert fake.calls.count("DELETE", TAILS + "/*") == 1


JUNK_EVENTS = [
    {"exceptions": 5},
    {"logs": [{"message": ["x"], "timestamp": 1e20}], "eventTimestamp": 1e300},
    {"event": {"request": {"url": "http://[::1", "method": "GET"}}, "logs": "no list"},
    {"event": {"request": {"url": 7}, "response": "x"}, "exceptions": [None, {"name": [1]}]},
    {"logs": [{"message": [{"cfmcp": "request", "status": "x"}], "level": {}}]},
    {"outcome": [], "event": None, "logs": [None, 3, "s"], "exceptions": {}},
]


def test_odd_events_and_other_workers_events_never_end_the_tail(fake, deployed, logs_process):
    """A small fuzz: junk in every field, through the fake's tail, then a real line."""
    logs = logs_process("--json")
    send = lambda e: fake.tails.inject(fake.account_id, NAME, e)  # noqa: E731
    for junk in JUNK_EVENTS:
        send({"scriptName": NAME, **junk})
    line = {"cfmcp": "request", "method": "GET", "path": "/theirs", "status": 200, "ms": 1.0}
    theirs = {"scriptName": "another-worker", "logs": [{"message": [json.dumps(line)]}]}
    send(theirs)
    send(
        {**theirs, "scriptName": NAME, "logs": [{"message": [json.dumps({**line, "path": "/ok"})]}]}
    )
    shown = parsed(logs.wait_for(lambda lines: any("/ok" in text for text in lines)))
    assert not any(entry.get("path") == "/theirs" for entry in shown)
    code, stderr = logs.stop()
    assert code == 130 and "Traceback" not in stderr, stderr
    assert fake.calls.count("DELETE", TAILS + "/*") == 1


def test_an_event_over_the_size_limit_ends_it_clearly(fake, deployed, logs_process):
    logs = logs_process()
    huge = {"scriptName": NAME, "logs": [{"message": ["x" * (4 * 2**20 + 1)]}]}
    fake.tails.inject(fake.account_id, NAME, huge)
    logs.proc.wait(timeout=20)
    code, stderr = logs.stop()
    assert code == 1 and "larger than 4 MiB" in stderr and "Traceback" not in stderr, stderr
    assert fake.calls.count("DELETE", TAILS + "/*") == 1


def test_sigterm_while_the_tail_is_created_deletes_the_tail_created(fake, deployed):
    fake.set_latency(1.5, "POST", TAILS)
    logs = LogsProcess(fake, deployed.parent)
    try:
        deadline = time.monotonic() + 20
        while fake.calls.count("POST", TAILS) == 0:
            assert time.monotonic() < deadline and logs.proc.poll() is None, logs.stderr()
            time.sleep(0.02)
        code, stderr = logs.stop(signal.SIGTERM)
    finally:
        logs.kill()
    assert code == 130 and "Traceback" not in stderr, stderr
    created = fake.tails.of_script(NAME)
    assert len(created) == 1 and all(tail.deleted for tail in created)
    assert fake.calls.count("DELETE", TAILS + "/*") == 1


def test_a_reader_that_goes_away_ends_it_quietly_and_deletes_the_tail(fake, deployed):
    """`cfmcp logs --json | head -1`: the pipe closes after one line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDFLARE", "CFMCP"))}
    env.update(fake.env(), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from cfmcp.cli import main; main()", "logs", "--json"],
        cwd=deployed.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        fake.tails.wait_connected(NAME)
        origin = fake.worker_origin(NAME)
        httpx.get(f"{origin}/.well-known/oauth-authorization-server", timeout=20)
        assert proc.stdout is not None
        assert b'"cfmcp":"request"' in proc.stdout.readline()
        proc.stdout.close()  # the reader is gone
        for _ in range(3):  # the next lines meet a closed pipe
            httpx.get(f"{origin}/favicon.ico", timeout=20)
        assert proc.wait(timeout=20) == 0
        assert proc.stderr is not None
        stderr = proc.stderr.read().decode()
        assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
        assert fake.calls.count("DELETE", TAILS + "/*") == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


# -- errors: one line, a hint, the --json failure on one line --------------------------------


def test_no_such_worker_says_deploy_first(bare_fake, tmp_path, monkeypatch):
    isolate(monkeypatch, tmp_path)
    config = write_project(tmp_path, bare_fake.account_id)
    use_fake_env(monkeypatch, bare_fake)
    result = CliRunner().invoke(app, ["logs", "--config", str(config), "--json"])
    assert result.exit_code == 1
    (line,) = result.stdout.splitlines()  # one JSON object on one line
    failure = json.loads(line)
    assert failure["ok"] is False and failure["code"] == "not_deployed"
    assert "cfmcp deploy" in failure["hint"]
    assert bare_fake.calls.count("POST", TAILS) == 0


def test_a_token_without_the_permission_is_named(fake, deployed, monkeypatch):
    """A deploy token (Workers Scripts, KV) without Workers Tail Read."""
    fake.add_token(
        "FAKE-cf-token-read-only-0000000000000000",
        permissions=[WORKERS_SCRIPTS_EDIT, WORKERS_KV_EDIT],
    )
    use_fake_env(monkeypatch, fake, token="FAKE-cf-token-read-only-0000000000000000")
    result = CliRunner().invoke(app, ["logs", "--config", str(deployed)])
    assert result.exit_code == 1
    said = " ".join(result.stderr.split())
    assert "lacks a permission" in said and "Workers Tail: Read" in said
    assert fake.tails.of_script(NAME) == []


def test_a_bad_status_filter_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(
        app, ["logs", "--config", str(tmp_path / "x.toml"), "--status", "abc"]
    )
    assert result.exit_code == 2 and "--status 'abc' is not a status" in result.stderr
