"""`cfmcp doctor --local` next to a real `cfmcp dev` (subprocesses, as a user runs them): found
by the URL dev recorded in .cfmcp/dev.json, no cfmcp.toml needed, all checks pass with the
demo; with dev stopped, one line and no check; a refused PAT seen by the dev Worker is
reported with `cfmcp dev` advice, never deploy advice."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cfmcp.cli import app
from cfmcp.commands.doctor import with_local_value
from cfmcp.doctor.local import find_local_target
from cfmcp.local.dev_record import DEFAULT_DEV_ORIGIN
from tests.support.deployed import isolate
from tests.support.oauth import MCP_HEADERS, obtain_tokens_over_http
from tests.support.pat_upstreams import PatUpstream

REPO = Path(__file__).resolve().parents[1]
PIN = "FAKE-local-pin-5555"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path)


def cli_env(**extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    return {**env, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "COLUMNS": "200", **extra}


def cfmcp(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cfmcp", *args],
        cwd=cwd,
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@contextlib.contextmanager
def dev(cwd: Path, *args: str, **env: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`cfmcp dev ARGS` in `cwd` on a free port; yield (process, origin) once it listens."""
    ready = cwd / "ready.json"
    log = (cwd / "dev.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cfmcp", "dev", "--port", "0", "--ready-file", str(ready), *args],
        cwd=cwd,
        env=cli_env(**env),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, (cwd / "dev.log").read_text()
            assert time.monotonic() < deadline, "cfmcp dev did not start"
            time.sleep(0.05)
        yield proc, json.loads(ready.read_text())["origin"]
    finally:
        stop(proc)
        log.close()


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_doctor_local_next_to_the_demo_passes_every_check_without_cfmcp_toml(tmp_path):
    assert not (tmp_path / "cfmcp.toml").exists()
    with dev(tmp_path, "--demo") as (_, origin):
        recorded = json.loads((tmp_path / ".cfmcp" / "dev.json").read_text())
        assert recorded["origin"] == origin and recorded["demo"] is True
        result = cfmcp(tmp_path, "doctor", "--local", "--json")
        human = cfmcp(tmp_path, "doctor", "--local")
        explicit = cfmcp(tmp_path, "doctor", "--local", origin + "/mcp", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["public_url"] == origin
    assert [c["status"] for c in report["checks"]] == ["ok"] * len(report["checks"])
    assert {c["name"] for c in report["checks"]} == {
        "dev",
        "issuer",
        "resource",
        "mcp-401",
        "upstream",
        "pat",
    }
    assert report["next_command"] == f"cfmcp install-client claude-code --url {origin}/mcp"
    assert "All 6 checks passed" in human.stdout
    assert "deploy" not in human.stdout + result.stdout
    assert "cfmcp.toml not found" not in human.stdout + human.stderr
    assert explicit.returncode == 0 and json.loads(explicit.stdout)["public_url"] == origin
    assert not (tmp_path / ".cfmcp" / "dev.json").exists()  # dev removed it when it stopped


def test_with_dev_stopped_doctor_local_says_so_in_one_line(tmp_path):
    with dev(tmp_path, "--demo") as (_, origin):
        pass  # started, then stopped
    for args in (("--local", origin), ("--local", origin, "--json")):
        result = cfmcp(tmp_path, "doctor", *args)
        assert result.returncode == 1
        said = result.stderr.strip().splitlines()
        assert said == [f"error: nothing answers at {origin} — start it with `cfmcp dev`"]
        output = result.stdout + result.stderr
        assert "Traceback" not in output and "ConnectError" not in output
        assert "cfmcp deploy" not in output and "cfmcp init" not in output
    assert json.loads(result.stdout)["code"] == "dev_not_running"


def test_a_refusal_seen_by_the_dev_worker_gets_dev_advice(tmp_path):
    with PatUpstream() as upstream:
        wrong = "FAKE-expired-local-pat-0000"
        with dev(
            tmp_path, "--upstream", upstream.url, CFMCP_UPSTREAM_TOKEN=wrong, CFMCP_PIN=PIN
        ) as (_, origin):
            started = " ".join((tmp_path / "dev.log").read_text().split())
            assert "warning: the upstream refuses this PAT (POST initialize → 401)" in started
            assert wrong not in started
            tokens = obtain_tokens_over_http(origin, PIN)
            answer = httpx.post(
                f"{origin}/mcp",
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                headers={**MCP_HEADERS, "Authorization": f"Bearer {tokens.access_token}"},
                timeout=30,
            )
            assert answer.status_code == 502
            state = Path(json.loads((tmp_path / ".cfmcp" / "dev.json").read_text())["state"])
            deadline = time.monotonic() + 10
            while not recorded_refusal(state):
                assert time.monotonic() < deadline, "the dev Worker recorded nothing"
                time.sleep(0.05)
            result = cfmcp(tmp_path, "doctor", "--local", "--json")
            human = cfmcp(tmp_path, "doctor", "--local")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    pat = next(c for c in report["checks"] if c["name"] == "pat")
    assert pat["status"] == "fail" and "refused the PAT" in pat["reason"]
    assert "restart `cfmcp dev` with a new PAT" in pat["hint"]
    assert "deploy" not in result.stdout + human.stdout
    assert wrong not in result.stdout + human.stdout + result.stderr


def recorded_refusal(state: Path) -> bool:
    with contextlib.closing(sqlite3.connect(state)) as db:
        row = db.execute("SELECT value FROM kv WHERE key = 'upstream:pat'").fetchone()
    return bool(row) and json.loads(row[0])["status"] == "refused"


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--local"], ["--local", "auto"]),
        (["--local", "--json"], ["--local", "auto", "--json"]),
        (["--json", "--local"], ["--json", "--local", "auto"]),
        (["--local", "http://127.0.0.1:9000"], ["--local", "http://127.0.0.1:9000"]),
        (["--local=http://x"], ["--local=http://x"]),
        (["--timeout", "2"], ["--timeout", "2"]),
    ],
)
def test_local_without_a_value_means_the_running_dev(args, expected):
    assert with_local_value(args) == expected


def test_without_a_record_the_default_dev_address_is_checked(tmp_path):
    assert find_local_target("auto").origin == DEFAULT_DEV_ORIGIN
    assert find_local_target("http://127.0.0.1:9000/mcp/").origin == "http://127.0.0.1:9000"


def test_a_local_worker_that_answers_wrongly_gets_dev_advice_not_deploy_advice(tmp_path):
    with PatUpstream() as not_a_worker:  # answers, but it is no cfmcp Worker
        result = CliRunner().invoke(app, ["doctor", "--local", not_a_worker.origin, "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    assert failed and all(c["next_command"] == "cfmcp dev" for c in failed)
    assert all("restart `cfmcp dev`" in c["hint"] for c in failed)
    assert report["next_command"] == "cfmcp dev"
    assert "deploy" not in result.stdout


class Listener:
    """An HTTP server on 127.0.0.1 that answers 200 to everything and keeps every request's
    Authorization header (a stand-in for whatever a planted dev.json names)."""

    def __init__(self) -> None:
        import http.server
        import threading

        seen: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                seen.append(self.headers.get("Authorization") or "")
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.seen = seen
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def plant_dev_record(folder: Path, **fields: object) -> None:
    record = {
        "origin": "http://127.0.0.1:9",
        "upstream_url": "http://127.0.0.1:9/steal",
        "upstream_transport": "streamable-http",
        "runtime": "python",
        "state": str(folder / "state.sqlite3"),
        "demo": False,
        "pid": os.getpid(),  # a live process of this user
        **fields,
    }
    (folder / ".cfmcp").mkdir(exist_ok=True)
    (folder / ".cfmcp" / "dev.json").write_text(json.dumps(record), encoding="utf-8")


@pytest.mark.parametrize(
    "planted",
    [
        {"pid": 1},
        {"pid": 0},
        {"pid": True},
        {"origin": "http://192.0.2.1:8787"},
        {"upstream_url": "http://192.0.2.1/steal"},  # a PAT in clear text off this machine
        {"upstream_url": "https://user:pw@example.com/mcp"},
        {"state": 7},
    ],
)
def test_a_dev_record_that_cannot_be_believed_is_ignored(tmp_path, planted):
    from cfmcp.local.dev_record import read_dev_record

    plant_dev_record(tmp_path, **planted)
    assert read_dev_record(tmp_path / ".cfmcp" / "dev.json") is None
    plant_dev_record(tmp_path)
    assert read_dev_record(tmp_path / ".cfmcp" / "dev.json") is not None


def test_a_dev_record_fronting_another_upstream_than_cfmcp_toml_is_ignored(tmp_path):
    from cfmcp.local.dev_record import read_dev_record

    plant_dev_record(tmp_path, upstream_url="https://other.example/mcp")
    path = tmp_path / ".cfmcp" / "dev.json"
    assert read_dev_record(path, project_upstream="https://api.githubcopilot.com/mcp") is None
    assert read_dev_record(path, project_upstream="https://other.example/mcp") is not None


def test_doctor_local_never_sends_the_pat_to_an_upstream_dev_json_names(tmp_path):
    listener = Listener()
    try:
        plant_dev_record(tmp_path, origin=listener.origin, upstream_url=listener.origin + "/steal")
        secret = "ghp_FAKEplantedDevJson0000000000000000000"
        result = cfmcp(tmp_path, "doctor", "--local", "--json", CFMCP_UPSTREAM_TOKEN=secret)
    finally:
        listener.close()
    assert listener.seen, "the planted origin was not even asked"
    assert not [h for h in listener.seen if secret in h]
    report = json.loads(result.stdout)
    pat = next(c for c in report["checks"] if c["name"] == "pat")
    assert pat["status"] == "skip" and "not PAT-checked" in pat["reason"], pat
    assert secret not in result.stdout + result.stderr


def test_the_dev_state_file_is_opened_read_only_whatever_its_name(tmp_path):
    from cfmcp.doctor.context import DoctorContext, DoctorOptions

    folder = tmp_path / "odd?mode=rwc#name"
    folder.mkdir()
    state = folder / "dev-state.sqlite3"
    with contextlib.closing(sqlite3.connect(state)) as db:
        db.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT, expires_at REAL)")
        record = {"status": "refused", "http_status": 401, "seen_at": "2026-12-02T10:00:00Z"}
        db.execute("INSERT INTO kv VALUES ('upstream:pat', ?, NULL)", (json.dumps(record),))
        db.commit()
    plant_dev_record(tmp_path, state=str(state), upstream_url="https://example.com/mcp")
    ctx = DoctorContext(DoctorOptions(local_url="auto"), {})
    try:
        read = ctx.pat_record()
    finally:
        ctx.close()
    assert read is not None and read.refused
    assert sorted(p.name for p in folder.iterdir()) == ["dev-state.sqlite3"]
