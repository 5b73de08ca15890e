"""`cfmcp doctor` on the upstream PAT: from the Worker's own record (the fake's live Worker
proxying to an upstream that stopped accepting its PAT), from CFMCP_UPSTREAM_TOKEN tried
directly, and from the expiry `cfmcp deploy` recorded. The PAT is in no output."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cfmcp.cli import app
from tests.fake_cloudflare.fake import FakeCloudflare
from tests.fake_cloudflare.fixtures import fake_cloudflare, fake_cloudflare_workers
from tests.support.deployed import (
    NAME,
    connect,
    deploy_live,
    isolate,
    mcp_status,
    use_fake_env,
    write_project,
)
from tests.support.pat_upstreams import PatUpstream

PIN = "FAKE-doctor-pat-pin-4444"
REPLACE = "cfmcp deploy --new-upstream-token"
fake = fake_cloudflare  # the pytest fixtures, by the names these tests use
fake_workers = fake_cloudflare_workers


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path, pat_check=True)


@pytest.fixture
def upstream() -> Iterator[PatUpstream]:
    with PatUpstream() as server:
        yield server


def doctor(config: Path, *args: str):
    result = CliRunner().invoke(app, ["doctor", "--config", str(config), "--json", *args])
    return result, json.loads(result.stdout)


def pat_check(report: dict) -> dict:
    return next(c for c in report["checks"] if c["name"] == "pat")


def wait_for_record(fake: FakeCloudflare, status: str, timeout: float = 15.0) -> None:
    namespace = fake.kv_namespace_by_title(f"{NAME}-oauth")
    deadline = time.monotonic() + timeout
    while True:
        entry = fake.kv_entries(namespace.id).get("upstream:pat")
        if entry is not None and json.loads(entry.value)["status"] == status:
            return
        assert time.monotonic() < deadline, f"no {status} record: {entry}"
        time.sleep(0.1)


def test_the_workers_record_of_a_refused_pat_fails_doctor_until_it_is_replaced(
    fake_workers, upstream, tmp_path, monkeypatch
):
    config = deploy_live(
        tmp_path, fake_workers, monkeypatch, upstream_url=upstream.url, pat=upstream.pat, pin=PIN
    )
    deployed_pat = upstream.pat
    origin = fake_workers.worker_origin(NAME)
    connection = connect(origin, PIN, "doctor pat test")
    assert mcp_status(origin, connection.access_token) == 200

    new_pat = upstream.revoke()  # the PAT expired upstream, mid-chat
    assert mcp_status(origin, connection.access_token) == 502
    wait_for_record(fake_workers, "refused")

    use_fake_env(monkeypatch, fake_workers)
    result, report = doctor(config, "--smoke-via", origin)
    assert result.exit_code == 1
    check = pat_check(report)
    assert check["status"] == "fail"
    assert check["reason"].startswith("the upstream refused the PAT at ")
    assert "(HTTP 401)" in check["reason"]
    assert check["next_command"] == REPLACE
    assert report["next_command"] == REPLACE  # the one thing to do
    assert deployed_pat not in result.output and new_pat not in result.output

    monkeypatch.setenv("CFMCP_UPSTREAM_TOKEN", new_pat)
    replaced = CliRunner().invoke(
        app, ["deploy", "--config", str(config), "--yes", "--skip-smoke", "--new-upstream-token"]
    )
    assert replaced.exit_code == 0, replaced.output
    monkeypatch.delenv("CFMCP_UPSTREAM_TOKEN")
    result, report = doctor(config, "--smoke-via", origin)
    check = pat_check(report)
    assert check["status"] == "ok", check
    assert "accepted the PAT when `cfmcp deploy` set it" in check["reason"]
    assert new_pat not in result.output


def test_doctor_tries_the_pat_in_the_environment(upstream, tmp_path, monkeypatch):
    config = write_project(tmp_path, "", upstream_url=upstream.url)
    monkeypatch.setenv("CFMCP_UPSTREAM_TOKEN", upstream.pat)
    result, report = doctor(config)
    check = pat_check(report)
    assert check["status"] == "ok", check
    assert "accepts the PAT in CFMCP_UPSTREAM_TOKEN" in check["reason"]
    assert "the deployed PAT may be another one" in check["reason"]
    assert upstream.pat not in result.output

    monkeypatch.setenv("CFMCP_UPSTREAM_TOKEN", "FAKE-not-the-pat-000")
    result, report = doctor(config)
    check = pat_check(report)
    assert result.exit_code == 1
    assert (
        check["status"] == "fail" and "refuses the PAT in CFMCP_UPSTREAM_TOKEN" in check["reason"]
    )
    assert check["next_command"] == REPLACE
    assert "FAKE-not-the-pat-000" not in result.output


def test_doctor_warns_ahead_of_the_expiry_the_upstream_names(tmp_path, monkeypatch):
    soon = (datetime.now(UTC) + timedelta(days=3, hours=1)).strftime("%Y-%m-%d %H:%M:%S UTC")
    with PatUpstream(expires=soon) as upstream:
        config = write_project(tmp_path, "", upstream_url=upstream.url)
        monkeypatch.setenv("CFMCP_UPSTREAM_TOKEN", upstream.pat)
        result, report = doctor(config)
    check = pat_check(report)
    assert result.exit_code == 0  # a warning, not a failure: it still works
    assert check["status"] == "warn", check
    assert f"the PAT expires on {soon[:10]} (in 3 days)" in check["reason"]
    assert check["next_command"] == REPLACE
    assert upstream.pat not in result.output


def test_the_expiry_deploy_recorded_is_warned_of_without_the_pat(fake, tmp_path, monkeypatch):
    soon = (datetime.now(UTC) + timedelta(days=10, hours=1)).strftime("%Y-%m-%d %H:%M:%S UTC")
    with PatUpstream(expires=soon) as upstream:
        config = write_project(tmp_path, fake.account_id, upstream_url=upstream.url)
        use_fake_env(monkeypatch, fake)
        monkeypatch.setenv("CFMCP_UPSTREAM_TOKEN", upstream.pat)
        deployed = CliRunner().invoke(
            app, ["deploy", "--config", str(config), "--yes", "--skip-smoke"]
        )
        assert deployed.exit_code == 0, deployed.output
        monkeypatch.delenv("CFMCP_UPSTREAM_TOKEN")
        result, report = doctor(config)
    check = pat_check(report)
    assert check["status"] == "warn", check
    assert "accepted the PAT when `cfmcp deploy` set it" in check["reason"]
    assert f"the PAT expires on {soon[:10]} (in 10 days)" in check["reason"]
    assert upstream.pat not in result.output + deployed.output


def test_without_any_record_doctor_says_it_did_not_check(fake, tmp_path, monkeypatch):
    config = write_project(tmp_path, fake.account_id)
    use_fake_env(monkeypatch, fake)
    deployed = CliRunner().invoke(
        app,
        ["deploy", "--config", str(config), "--yes", "--skip-smoke", "--skip-pat-check"],
        env={"CFMCP_UPSTREAM_TOKEN": "FAKE-unchecked-pat-0000"},
    )
    assert deployed.exit_code == 0, deployed.output
    _, report = doctor(config)
    check = pat_check(report)
    assert check["status"] == "skip"
    assert check["reason"].startswith("not checked")


def seed_record(fake: FakeCloudflare, record: dict) -> None:
    from tests.fake_cloudflare.model import KvEntry

    with fake.state.lock:
        namespace = fake.kv_namespace_by_title(f"{NAME}-oauth")
        fake.state.kv.put(namespace, "upstream:pat", KvEntry(json.dumps(record).encode()))


@pytest.mark.parametrize(
    "status, code, expected", [("refused", 401, "fail"), ("forbidden", 403, "warn")]
)
def test_a_record_after_a_new_pat_is_about_it_whatever_its_clock_says(
    fake, upstream, tmp_path, monkeypatch, status, code, expected
):
    config = write_project(tmp_path, fake.account_id, upstream_url=upstream.url, name=NAME)
    use_fake_env(monkeypatch, fake)
    monkeypatch.setenv("CFMCP_UPSTREAM_TOKEN", upstream.pat)
    deployed = CliRunner().invoke(app, ["deploy", "--config", str(config), "--yes", "--skip-smoke"])
    assert deployed.exit_code == 0, deployed.output
    monkeypatch.delenv("CFMCP_UPSTREAM_TOKEN")
    # the deploy cleared any record, so this one was written since, by a Worker whose clock
    # (or a cached reading's) is behind this machine's
    early = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    seed_record(fake, {"status": status, "http_status": code, "seen_at": early})
    result, report = doctor(config)
    check = pat_check(report)
    assert check["status"] == expected, check
    assert f"HTTP {code}" in check["reason"] or "403" in check["reason"]
    if expected == "warn":
        assert "rate limit" in check["reason"]
    assert upstream.pat not in result.output
