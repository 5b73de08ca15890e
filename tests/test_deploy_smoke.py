"""`cfmcp deploy` end to end: the fake runs the uploaded bytes and the smoke checks talk to them.

Also the secrets rule: the PAT and the signing key appear nowhere cfmcp writes (stdout, stderr,
--json, state.json, cfmcp.toml); a generated PIN appears exactly once, in its panel.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cfmcp.cli import app
from tests.fake_cloudflare.fake import FakeCloudflare
from tests.fake_cloudflare.fixtures import fake_cloudflare_workers
from tests.support.deployed import isolate, use_fake_env, write_project

PAT = "ghp_FAKEsmokePAT0123456789abcdefABCDEFxyz"
NAME = "gh-mcp"


fake = fake_cloudflare_workers  # the pytest fixture, by the name these tests use


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path)


def project(tmp_path: Path, fake: FakeCloudflare, monkeypatch, **hostname: str) -> Path:
    path = write_project(tmp_path, fake.account_id, **hostname)
    use_fake_env(monkeypatch, fake)
    monkeypatch.setenv("CFMCP_UPSTREAM_TOKEN", PAT)
    return path


def run(*args: str):
    return CliRunner().invoke(app, ["deploy", "--yes", "--smoke-timeout", "30", *args])


def test_fresh_deploy_passes_smoke_checks_and_never_leaks_secrets(fake, tmp_path, monkeypatch):
    config = project(tmp_path, fake, monkeypatch)
    result = run("--config", str(config), "--smoke-via", fake.worker_origin(NAME))
    assert result.exit_code == 0, result.output
    assert "issuer = https://gh-mcp.fake-subdomain.workers.dev" in result.stdout
    assert "POST /register accepted a client" in result.stdout
    assert "cfmcp install-client" in result.stdout

    secrets = fake.script(NAME).secrets()
    pin, signing_key = secrets["AUTH_PIN"], secrets["SIGNING_KEY"]
    assert secrets["UPSTREAM_TOKEN"] == PAT
    assert result.output.count(pin) == 1  # the PIN panel, once
    files = [config, tmp_path / ".cfmcp" / "state.json"]
    written = "".join(p.read_text() for p in files)
    for secret in (PAT, signing_key, pin, fake.token):
        assert secret not in written
    for secret in (PAT, signing_key, fake.token):
        assert secret not in result.output

    # A re-deploy sends no secret and shows no PIN.
    again = run("--config", str(config), "--json", "--smoke-via", fake.worker_origin(NAME))
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    assert data["ok"] is True and data["steps"] == [] and data["pin_generated"] is False
    assert [c["ok"] for c in data["smoke"]] == [True] * 4
    for secret in (PAT, signing_key, pin):
        assert secret not in again.output


def test_json_output_keeps_the_generated_pin_out_of_stdout(fake, tmp_path, monkeypatch):
    config = project(tmp_path, fake, monkeypatch)
    result = run("--config", str(config), "--json", "--smoke-via", fake.worker_origin(NAME))
    assert result.exit_code == 0, result.output
    pin = fake.script(NAME).secrets()["AUTH_PIN"]
    data = json.loads(result.stdout)
    assert data["pin_generated"] is True
    assert pin not in result.stdout
    assert result.stderr.count(pin) == 1
    assert PAT not in result.output


def test_given_pin_is_used_and_not_shown(fake, tmp_path, monkeypatch):
    config = project(tmp_path, fake, monkeypatch)
    monkeypatch.setenv("CFMCP_PIN", "FAKE-pin-from-env-4242")
    result = run("--config", str(config), "--skip-smoke")
    assert result.exit_code == 0, result.output
    assert fake.script(NAME).secrets()["AUTH_PIN"] == "FAKE-pin-from-env-4242"
    assert "FAKE-pin-from-env-4242" not in result.output
    assert "Your PIN" not in result.output


def test_custom_domain_issuer_checked_through_the_local_origin(fake, tmp_path, monkeypatch):
    config = project(tmp_path, fake, monkeypatch, mode="custom_domain", domain="mcp.example.com")
    result = run("--config", str(config), "--json", "--smoke-via", fake.worker_origin(NAME))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["public_url"] == "https://mcp.example.com"
    assert data["smoke"][0]["detail"] == "issuer = https://mcp.example.com"


def test_smoke_failure_exits_1_with_a_clear_message(fake, tmp_path, monkeypatch):
    config = project(tmp_path, fake, monkeypatch)
    result = CliRunner().invoke(
        app,
        [
            "deploy",
            "--yes",
            "--config",
            str(config),
            "--smoke-timeout",
            "1",
            "--smoke-via",
            "http://127.0.0.1:9",
        ],
    )
    assert result.exit_code == 1
    assert "did not answer as expected within 1s" in result.output
    assert "a smoke check failed" in result.output
    assert fake.script(NAME) is not None  # deployed; only the checks failed
