"""`cfmcp doctor` against the fake Cloudflare API, Workers it runs, and local HTTP servers.

Everything stays on 127.0.0.1: the upstream in every project is a local server answering 401,
and the live checks go through `--smoke-via` to the Worker the fake runs (or to a local server
that imitates Cloudflare's "Block AI bots" answer in front of it).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from cfmcp.account.api import CloudflareApi
from cfmcp.cli import app
from cfmcp.doctor.context import DoctorContext, DoctorOptions, Once
from cfmcp.doctor.live_checks import check_ai_bot_block
from cfmcp.doctor.model import Check, Status, ok
from cfmcp.doctor.project_checks import check_compatibility_date
from cfmcp.doctor.run import run_checks, run_one
from cfmcp.project.config import ProjectConfig, load_config, save_config
from cfmcp.worker.render import render_bundle
from tests.fake_cloudflare.fake import FakeCloudflare
from tests.fake_cloudflare.fixtures import fake_cloudflare, fake_cloudflare_workers
from tests.support.deployed import isolate, use_fake_env, write_project
from tests.support.hosts import start_worker
from tests.support.local_http import LocalHttpServer
from tests.test_deploy import PAT, deploy, kv_era_deployment

NAME = "gh-mcp"
PUBLIC = f"https://{NAME}.fake-subdomain.workers.dev"
ACCOUNT_CHECKS = ("account", "worker", "bundle", "secrets", "kv", "durable-object", "hostname")
LIVE_CHECKS = ("issuer", "resource", "mcp-401", "ai-bots")


# ----------------------------------------------------------------------------- local servers


@contextlib.contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    with LocalHttpServer(handler) as server:
        yield server.origin


class PatOnlyUpstream(BaseHTTPRequestHandler):
    """An MCP upstream that wants a PAT: 401 to everything doctor sends it."""

    def _deny(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _deny

    def log_message(self, *args: object) -> None:
        pass


def ai_bot_blocker(worker_origin: str) -> type[BaseHTTPRequestHandler]:
    """Cloudflare in front of the Worker with "Block AI bots" on: 403 to Claude-User."""

    class Blocker(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if self.headers.get("User-Agent") == "Claude-User":
                page = b"<!DOCTYPE html><title>Attention Required! | Cloudflare</title>blocked"
                self.send_response(403)
                self.send_header("Content-Type", "text/html; charset=UTF-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
                return
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in ("host", "content-length", "connection")
            }
            answer = httpx.request(
                self.command, worker_origin + self.path, headers=headers, content=body
            )
            self.send_response(answer.status_code)
            for key, value in answer.headers.items():
                if key.lower() not in (
                    "content-length",
                    "transfer-encoding",
                    "connection",
                    "content-encoding",
                ):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = _handle

        def log_message(self, *args: object) -> None:
            pass

    return Blocker


# ---------------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path)


@pytest.fixture
def upstream() -> Iterator[str]:
    with serve(PatOnlyUpstream) as origin:
        yield origin + "/mcp"


fake = fake_cloudflare  # the pytest fixtures, by the names these tests use
fake_workers = fake_cloudflare_workers


def project(tmp_path: Path, upstream: str, account_id: str = "", **hostname: str) -> Path:
    return write_project(tmp_path, account_id, name=NAME, upstream_url=upstream, **hostname)


def deployed(monkeypatch, fake: FakeCloudflare, tmp_path: Path, upstream: str) -> Path:
    config = project(tmp_path, upstream, fake.account_id)
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke")
    assert result.exit_code == 0, result.output
    monkeypatch.delenv("CFMCP_UPSTREAM_TOKEN")
    return config


def doctor(config: Path, *args: str):
    result = CliRunner().invoke(app, ["doctor", "--config", str(config), "--json", *args])
    return result, json.loads(result.stdout)


def by_name(report: dict) -> dict[str, dict]:
    return {check["name"]: check for check in report["checks"]}


# ------------------------------------------------------------------------------ end to end


def test_fresh_deploy_is_all_green_and_json_holds_no_secret(
    fake_workers, tmp_path, monkeypatch, upstream
):
    config = deployed(monkeypatch, fake_workers, tmp_path, upstream)
    fake_workers.calls.clear()
    result, report = doctor(config, "--smoke-via", fake_workers.worker_origin(NAME))
    assert result.exit_code == 0, result.output
    checks = by_name(report)
    # the PAT was deployed unchecked (this upstream refuses everything): nothing to say of it
    assert [c["status"] for c in report["checks"]] == ["ok"] * 15 + ["skip"], report
    assert set(report) == {"ok", "public_url", "counts", "next_command", "checks"}
    assert report["ok"] is True and report["public_url"] == PUBLIC
    assert report["counts"] == {"ok": 15, "warn": 0, "fail": 0, "skip": 1}
    assert report["next_command"] == "cfmcp install-client claude-ai"
    for check in report["checks"]:
        assert set(check) == {"name", "title", "status", "reason", "hint", "next_command"}
    assert checks["issuer"]["reason"] == f"issuer = {PUBLIC}"
    assert "Claude-User" in checks["ai-bots"]["reason"]
    assert "401" in checks["upstream"]["reason"]

    secrets = fake_workers.script(NAME).secrets()
    for secret in (PAT, secrets["AUTH_PIN"], secrets["SIGNING_KEY"], fake_workers.token):
        assert secret not in result.output
    # Checks share lookups: the Worker's settings are read once for five checks; no writes.
    assert fake_workers.calls.count("GET", "/accounts/*/workers/scripts/*/settings") == 1
    assert not [c for c in fake_workers.calls if c.method != "GET"]
    assert not fake_workers.unexpected_calls()


def test_human_output_has_a_table_and_one_next_command(
    fake_workers, tmp_path, monkeypatch, upstream
):
    config = deployed(monkeypatch, fake_workers, tmp_path, upstream)
    result = CliRunner().invoke(
        app, ["doctor", "--config", str(config), "--smoke-via", fake_workers.worker_origin(NAME)]
    )
    assert result.exit_code == 0, result.output
    assert "AI-bot block" in result.output and "deployed bundle" in result.output
    assert "All 15 checks that ran passed. Next: cfmcp install-client claude-ai" in result.output
    secrets = fake_workers.script(NAME).secrets()
    for secret in (PAT, secrets["AUTH_PIN"], secrets["SIGNING_KEY"], fake_workers.token):
        assert secret not in result.output


def test_ai_bot_block_in_front_of_the_worker_fails_with_the_fix(
    fake_workers, tmp_path, monkeypatch, upstream
):
    config = deployed(monkeypatch, fake_workers, tmp_path, upstream)
    with serve(ai_bot_blocker(fake_workers.worker_origin(NAME))) as blocked:
        result, report = doctor(config, "--smoke-via", blocked)
    assert result.exit_code == 1
    checks = by_name(report)
    failed = [c["name"] for c in report["checks"] if c["status"] == "fail"]
    assert failed == ["ai-bots"]
    assert checks["mcp-401"]["status"] == "ok"  # only claude.ai's User-Agent is blocked
    bots = checks["ai-bots"]
    assert "403" in bots["reason"] and "Block AI bots" in bots["reason"]
    assert "Security → Bots" in bots["hint"] and "WAF skip rule" in bots["hint"]
    assert f"{NAME}.fake-subdomain.workers.dev" in bots["hint"]
    assert report["next_command"] is None  # fixed in the dashboard, not by a cfmcp command


def test_config_changed_since_deploy_fails_with_the_deploy_hint(
    fake, tmp_path, monkeypatch, upstream
):
    config_path = deployed(monkeypatch, fake, tmp_path, upstream)
    config = load_config(config_path)
    config.oauth.server_name = "GitHub via cfmcp"
    save_config(config, config_path)
    result, report = doctor(config_path, "--smoke-via", "http://127.0.0.1:9")
    assert result.exit_code == 1
    bundle = by_name(report)["bundle"]
    assert bundle["status"] == "fail"
    assert bundle["reason"].startswith("config changed since the last deploy")
    assert bundle["next_command"] == "cfmcp deploy"
    assert report["next_command"] == "cfmcp deploy"
    assert {by_name(report)[n]["status"] for n in ("worker", "secrets", "kv", "hostname")} == {"ok"}


def test_missing_secret_fails(fake, tmp_path, monkeypatch, upstream):
    config = deployed(monkeypatch, fake, tmp_path, upstream)
    response = httpx.delete(
        f"{fake.base_url}/accounts/{fake.account_id}/workers/scripts/{NAME}/secrets/AUTH_PIN",
        headers={"Authorization": f"Bearer {fake.token}"},
    )
    assert response.status_code == 200
    result, report = doctor(config, "--smoke-via", "http://127.0.0.1:9")
    assert result.exit_code == 1
    secrets = by_name(report)["secrets"]
    assert secrets["status"] == "fail"
    assert secrets["reason"] == "missing secret: AUTH_PIN"
    assert secrets["next_command"] == "cfmcp deploy"
    assert by_name(report)["bundle"]["status"] == "ok"


def test_worker_without_the_durable_object_points_to_deploy(fake, tmp_path, monkeypatch, upstream):
    config = project(tmp_path, upstream, fake.account_id)
    kv_era_deployment(fake, config)  # deployed by a cfmcp from before the Durable Object
    use_fake_env(monkeypatch, fake)
    result, report = doctor(config, "--smoke-via", "http://127.0.0.1:9")
    assert result.exit_code == 1
    check = by_name(report)["durable-object"]
    assert check["status"] == "fail"
    assert check["reason"].startswith("the Worker has no EXACT_STATE Durable Object binding")
    assert "`cfmcp deploy` adds the binding" in check["hint"]
    assert check["next_command"] == report["next_command"] == "cfmcp deploy"
    assert by_name(report)["bundle"]["status"] == "ok"  # the same bundle: only the binding

    assert deploy(monkeypatch, fake, config, "--yes", "--skip-smoke").exit_code == 0
    _, report = doctor(config, "--smoke-via", "http://127.0.0.1:9")
    check = by_name(report)["durable-object"]
    assert check["status"] == "ok"
    assert check["reason"] == "Durable Object ExactState (SQLite) is bound as EXACT_STATE"


def test_without_a_token_account_checks_are_skipped_with_a_hint(tmp_path, upstream):
    config = project(tmp_path, upstream, "0123456789abcdef0123456789abcdef")
    result, report = doctor(config)
    assert result.exit_code == 0, result.output
    checks = by_name(report)
    assert checks["token"]["status"] == "skip"
    assert "CLOUDFLARE_API_TOKEN is not set" in checks["token"]["reason"]
    assert "CLOUDFLARE_API_TOKEN" in checks["token"]["hint"]
    for name in (*ACCOUNT_CHECKS, *LIVE_CHECKS):
        assert checks[name]["status"] == "skip", checks[name]
    assert checks["project"]["status"] == checks["upstream"]["status"] == "ok"
    assert report["next_command"].startswith("export CLOUDFLARE_API_TOKEN=")


def test_live_checks_use_the_recorded_url_without_a_token(
    fake_workers, tmp_path, monkeypatch, upstream
):
    config = deployed(monkeypatch, fake_workers, tmp_path, upstream)
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN")
    result, report = doctor(config, "--smoke-via", fake_workers.worker_origin(NAME))
    assert result.exit_code == 0, result.output
    checks = by_name(report)
    assert [checks[n]["status"] for n in LIVE_CHECKS] == ["ok"] * 4
    assert checks["worker"]["status"] == "skip"


def test_invalid_token_fails_once_and_skips_the_rest(fake, tmp_path, monkeypatch, upstream):
    config = project(tmp_path, upstream, fake.account_id)
    use_fake_env(monkeypatch, fake, "FAKE-cf-token-unknown-0000000000000000000")
    result, report = doctor(config, "--smoke-via", "http://127.0.0.1:9")
    assert result.exit_code == 1
    checks = by_name(report)
    assert checks["token"]["status"] == "fail"
    assert "invalid" in checks["token"]["reason"]
    for name in ACCOUNT_CHECKS:
        assert checks[name]["status"] == "skip"
        assert "valid Cloudflare API token" in checks[name]["reason"]


def test_not_deployed_yet_points_to_deploy(fake, tmp_path, monkeypatch, upstream):
    config = project(tmp_path, upstream, fake.account_id)
    use_fake_env(monkeypatch, fake)
    result, report = doctor(config, "--smoke-via", "http://127.0.0.1:9")
    assert result.exit_code == 1
    checks = by_name(report)
    assert checks["token"]["status"] == checks["account"]["status"] == "ok"
    assert checks["worker"]["status"] == "fail"
    assert checks["hostname"]["status"] == "fail"
    assert checks["bundle"]["status"] == checks["secrets"]["status"] == "skip"
    assert checks["issuer"]["status"] == "fail"
    assert report["next_command"] == "cfmcp deploy"
    assert not [c for c in fake.calls if c.method != "GET"]


def test_invalid_project_file_points_to_init(tmp_path):
    path = tmp_path / "cfmcp.toml"
    path.write_text('name = "Not A Valid Name"\n')
    result, report = doctor(path)
    assert result.exit_code == 1
    checks = by_name(report)
    assert checks["project"]["status"] == "fail"
    assert "invalid worker name" in checks["project"]["reason"]
    assert all(c["status"] == "skip" for c in report["checks"][1:])
    assert report["next_command"] == "cfmcp init"


def test_unreachable_upstream_is_a_warning(tmp_path):
    config = project(tmp_path, "http://127.0.0.1:9/mcp")
    result, report = doctor(config)
    upstream = by_name(report)["upstream"]
    assert upstream["status"] == "warn" and "not reachable" in upstream["reason"]
    assert result.exit_code == 0


# ------------------------------------------------------------------------------ unit checks


def context_for(tmp_path: Path, **config: object) -> DoctorContext:
    project_config = ProjectConfig(name=NAME, **config)  # type: ignore[arg-type]
    project_config.hostname.mode = "custom_domain"
    project_config.hostname.domain = "mcp.example.com"
    path = tmp_path / "cfmcp.toml"
    save_config(project_config, path)
    return DoctorContext(DoctorOptions(config_path=path, smoke_via="http://127.0.0.1:9999"), {})


@pytest.mark.parametrize(
    ("value", "status"),
    [("2026-03-01", Status.ok), ("2026-04-21", Status.warn), ("2099-01-01", Status.fail)],
)
def test_compatibility_date(tmp_path, value, status):
    ctx = context_for(tmp_path, compatibility_date=value)
    result = run_one(Check("compatibility-date", "", check_compatibility_date), ctx)
    assert result.status is status, result
    if status is Status.warn:
        assert "`workers` module" in result.reason and "2026-03-01" in result.hint


def test_ai_bot_check_recognises_a_cf_mitigated_answer(tmp_path):
    ctx = context_for(tmp_path)

    def edge(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == "http://127.0.0.1:9999/mcp"
        if request.headers["user-agent"] == "Claude-User":
            return httpx.Response(403, headers={"cf-mitigated": "challenge"}, text="{}")
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer resource_metadata="x"'})

    ctx.http = httpx.Client(transport=httpx.MockTransport(edge))
    result = run_one(Check("ai-bots", "AI-bot block", check_ai_bot_block), ctx)
    assert result.status is Status.fail
    assert "cf-mitigated: challenge" in result.reason
    assert "mcp.example.com" in result.hint


def test_checks_run_concurrently():
    """Each check waits until all have started: run one after another, the first would time
    out (BrokenBarrierError, reported as a failure) instead of passing."""
    count = 6
    barrier = threading.Barrier(count, timeout=10)
    events: list[str] = []
    lock = threading.Lock()

    def slow(index: int):
        def run(_: object):
            with lock:
                events.append(f"start {index}")
            barrier.wait()
            with lock:
                events.append(f"end {index}")
            return ok(f"check {index}")

        return run

    checks = [Check(f"c{i}", f"check {i}", slow(i)) for i in range(count)]
    results = run_checks(checks, object())
    assert [r.status for r in results] == [Status.ok] * count
    assert [r.name for r in results] == [f"c{i}" for i in range(count)]  # order kept
    starts = [i for i, e in enumerate(events) if e.startswith("start")]
    ends = [i for i, e in enumerate(events) if e.startswith("end")]
    assert max(starts) < min(ends)  # every check started before any finished


@pytest.mark.parametrize(
    "hostname",
    [
        {"mode": "custom_domain", "domain": "mcp.example.com"},
        {"mode": "route", "route": "api.example.com/mcp*", "zone": "example.com"},
    ],
)
def test_custom_domain_and_route_are_checked_on_the_account(
    fake, tmp_path, monkeypatch, upstream, hostname
):
    config = project(tmp_path, upstream, fake.account_id, **hostname)
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke")
    assert result.exit_code == 0, result.output
    _, report = doctor(config, "--smoke-via", "http://127.0.0.1:9")
    checks = by_name(report)
    assert checks["hostname"]["status"] == "ok", checks["hostname"]
    assert "this Worker" in checks["hostname"]["reason"]
    assert checks["bundle"]["status"] == "ok"
    # The zone's bot settings are asked for (the fake does not know them: not a failure).
    assert fake.calls.count("GET", f"/zones/{fake.zone_id}/bot_management") == 1
    assert checks["ai-bots"]["status"] == "skip"


def test_route_of_another_worker_fails(fake, tmp_path, monkeypatch, upstream):
    config = project(
        tmp_path,
        upstream,
        fake.account_id,
        mode="route",
        route="api.example.com/mcp*",
        zone="example.com",
    )
    assert deploy(monkeypatch, fake, config, "--yes", "--skip-smoke").exit_code == 0
    with fake.state.lock:
        for route in fake.state.routes.values():
            route.script = "someone-else"
    _, report = doctor(config, "--smoke-via", "http://127.0.0.1:9")
    hostname = by_name(report)["hostname"]
    assert hostname["status"] == "fail" and "someone-else" in hostname["reason"]


def edge_answering(claude_user: httpx.Response):
    def edge(request: httpx.Request) -> httpx.Response:
        if request.headers["user-agent"] == "Claude-User":
            return claude_user
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer resource_metadata="x"'})

    return httpx.MockTransport(edge)


def test_zone_setting_block_fails_even_when_the_local_probe_passes(tmp_path):
    ctx = context_for(tmp_path)
    ctx.http = httpx.Client(
        transport=edge_answering(
            httpx.Response(401, headers={"WWW-Authenticate": 'Bearer resource_metadata="x"'})
        )
    )
    ctx._ai_bots = Once(lambda: "block")
    result = run_one(Check("ai-bots", "AI-bot block", check_ai_bot_block), ctx)
    assert result.status is Status.fail
    assert "setting is on" in result.reason and "not through Cloudflare" in result.reason
    assert "Security → Bots" in result.hint


def test_zone_setting_is_named_when_the_probe_is_blocked(tmp_path):
    ctx = context_for(tmp_path)
    ctx.http = httpx.Client(transport=edge_answering(httpx.Response(403, text="<html>")))
    ctx._ai_bots = Once(lambda: "block")
    result = run_one(Check("ai-bots", "AI-bot block", check_ai_bot_block), ctx)
    assert result.status is Status.fail
    assert "blocked before the Worker" in result.reason and "setting is on" in result.reason


@respx.mock
def test_gateway_reads_the_ai_bots_setting():
    zone = "a0" * 16
    route = respx.get(f"https://cf.test/client/v4/zones/{zone}/bot_management").mock(
        return_value=httpx.Response(
            200,
            json={
                "success": True,
                "errors": [],
                "messages": [],
                "result": {
                    "ai_bots_protection": "block",
                    "enable_js": True,
                    "fight_mode": False,
                    "using_latest_model": True,
                },
            },
        )
    )
    with CloudflareApi(
        "FAKE-token-for-tests-0000000000",
        base_url="https://cf.test/client/v4",
        sleep=lambda _: None,
    ) as api:
        assert api.get_ai_bots_protection(zone) == "block"
    assert (
        route.calls.last.request.headers["authorization"]
        == "Bearer FAKE-token-for-tests-0000000000"
    )


def test_local_checks_a_cfmcp_dev_worker_without_the_account(tmp_path, upstream):
    config_path = project(tmp_path, upstream)
    bundle_dir = tmp_path / "bundle"
    render_bundle(load_config(config_path)).write(bundle_dir)
    env = {
        "UPSTREAM_TOKEN": PAT,
        "AUTH_PIN": "FAKE-pin-12345678",
        "SIGNING_KEY": "FAKE-signing-key-0123456789abcdef0123456789",
    }
    with start_worker("cpython", bundle_dir, env) as origin:
        result, report = doctor(config_path, "--local", origin, "--smoke-via", "http://127.0.0.1:9")
    assert result.exit_code == 0, result.output
    checks = by_name(report)
    assert report["public_url"] == origin
    assert [checks[n]["status"] for n in ("dev", "issuer", "resource", "mcp-401")] == ["ok"] * 4
    # a local Worker: no account checks, nothing Cloudflare puts in front of it
    assert not set(checks) & {"token", "ai-bots", *ACCOUNT_CHECKS}
    assert checks["upstream"]["status"] == "ok"
    for secret in env.values():
        assert secret not in result.output


def test_account_without_workers_dev_subdomain_fails_the_hostname_check(
    fake, tmp_path, monkeypatch, upstream
):
    config = project(tmp_path, upstream, fake.account_id)
    with fake.state.lock:
        fake.state.workers_subdomains.clear()
    use_fake_env(monkeypatch, fake)
    _, report = doctor(config)
    checks = by_name(report)
    assert checks["hostname"]["status"] == "fail"
    assert "no workers.dev subdomain" in checks["hostname"]["reason"]
    assert "Workers & Pages" in checks["hostname"]["hint"]
    assert checks["issuer"]["status"] == "skip"


def test_missing_account_id_fails_the_account_check(fake, tmp_path, monkeypatch, upstream):
    config = project(tmp_path, upstream)
    use_fake_env(monkeypatch, fake)
    monkeypatch.delenv("CLOUDFLARE_ACCOUNT_ID")
    result, report = doctor(config)
    assert result.exit_code == 1
    account = by_name(report)["account"]
    assert account["status"] == "fail" and "no account_id" in account["reason"]
    assert report["next_command"] == "cfmcp init"
    assert by_name(report)["worker"]["status"] == "skip"
