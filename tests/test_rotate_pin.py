"""`cfmcp rotate-pin` against the fake with run_workers: the live (local) Worker must honour
the new PIN at once, and `--revoke-all` must disconnect every client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fake_cloudflare.fixtures import fake_cloudflare_workers
from tests.support.cli import invoke
from tests.support.deployed import (
    ENV_TO_CLEAR,
    NAME,
    connect,
    consent,
    deploy_live,
    isolate,
    mcp_status,
    recording_upstream,
    use_fake_env,
    write_project,
)
from tests.support.oauth import pkce_pair, register

OLD_PIN = "FAKE-old-pin-1111"
NEW_PIN = "FAKE-new-pin-2222"

upstream = recording_upstream  # pytest fixtures, by the names these tests use
fake = fake_cloudflare_workers


@pytest.fixture
def deployed(fake, upstream, tmp_path, monkeypatch) -> Path:
    isolate(monkeypatch, tmp_path)
    return deploy_live(
        tmp_path, fake, monkeypatch, upstream_url=upstream.mcp_url, pat=upstream.pat, pin=OLD_PIN
    )


def rotate(config: Path, *args: str, input: str | None = None):
    return invoke(["rotate-pin", "--config", str(config), *args], input=input)


def approves(origin: str, pin: str) -> bool:
    """Whether the consent page accepts `pin` (a redirect with a code)."""
    client_id = register(origin, client_name="pin check")
    submit = consent(origin, client_id, pkce_pair()[1], pin)
    return submit.status_code in (302, 303) and "code=" in submit.headers.get("location", "")


def test_new_pin_from_env_replaces_the_old_one_on_the_live_worker(fake, deployed, monkeypatch):
    origin = fake.worker_origin(NAME)
    assert approves(origin, OLD_PIN)
    connection = connect(origin, OLD_PIN, "already connected")
    versions = len(fake.script(NAME).versions)
    monkeypatch.setenv("CFMCP_PIN", NEW_PIN)
    result = rotate(deployed, "--yes")
    assert result.exit_code == 0, result.output
    assert "new Worker version" in result.output
    assert NEW_PIN not in result.output and "Your new PIN" not in result.output
    assert len(fake.script(NAME).versions) == versions + 1
    assert fake.script(NAME).secrets()["AUTH_PIN"] == NEW_PIN
    assert not approves(origin, OLD_PIN)
    assert approves(origin, NEW_PIN)
    assert mcp_status(origin, connection.access_token) == 200  # connected clients keep working


def test_generated_pin_is_shown_once_on_stderr_never_in_json(fake, deployed):
    origin = fake.worker_origin(NAME)
    signing_key = fake.script(NAME).secrets()["SIGNING_KEY"]
    result = rotate(deployed, "--yes", "--json")
    assert result.exit_code == 0, result.output
    pin = fake.script(NAME).secrets()["AUTH_PIN"]
    assert pin != OLD_PIN
    data = json.loads(result.stdout)
    assert data == {
        "ok": True,
        "worker": NAME,
        "secrets_set": ["AUTH_PIN"],
        "pin_generated": True,
        "revoked_all": False,
        "new_versions": 1,
        "api_calls": data["api_calls"],
    }
    assert pin not in result.stdout
    assert result.stderr.count(pin) == 1
    for secret in (fake.token, signing_key, OLD_PIN):
        assert secret not in result.output
    assert fake.script(NAME).secrets()["SIGNING_KEY"] == signing_key
    written = "".join(p.read_text() for p in (deployed, deployed.parent / ".cfmcp" / "state.json"))
    for secret in (pin, signing_key, fake.token):
        assert secret not in written
    assert approves(origin, pin)


def test_revoke_all_disconnects_every_client(fake, deployed, monkeypatch, upstream):
    origin = fake.worker_origin(NAME)
    connection = connect(origin, OLD_PIN, "to be disconnected")
    assert mcp_status(origin, connection.access_token) == 200
    before = fake.script(NAME).secrets()
    monkeypatch.setenv("CFMCP_PIN", NEW_PIN)
    result = rotate(deployed, "--revoke-all", "--yes", "--json")
    assert result.exit_code == 0, result.output
    after = fake.script(NAME).secrets()
    assert after["SIGNING_KEY"] != before["SIGNING_KEY"]
    assert after["UPSTREAM_TOKEN"] == before["UPSTREAM_TOKEN"] == upstream.pat
    data = json.loads(result.stdout)
    assert data["secrets_set"] == ["AUTH_PIN", "SIGNING_KEY"] and data["revoked_all"] is True
    for secret in (after["SIGNING_KEY"], before["SIGNING_KEY"], NEW_PIN, upstream.pat, fake.token):
        assert secret not in result.output
    assert mcp_status(origin, connection.access_token) == 401
    # The client's registration is gone too; a fresh one works with the new PIN.
    assert mcp_status(origin, connect(origin, NEW_PIN, "reconnected").access_token) == 200


def test_confirmation_explains_revoke_all_and_no_changes_nothing(fake, deployed):
    before = fake.script(NAME).secrets()
    result = rotate(deployed, "--revoke-all", input="n\n")
    assert result.exit_code == 130
    text = " ".join(result.output.split())
    assert "every client registration, authorization code, access token" in text
    assert "new Worker version" in text
    assert fake.script(NAME).secrets() == before


def test_interactive_prompt_takes_a_typed_pin(fake, deployed):
    result = rotate(deployed, input=f"y\n{NEW_PIN}\n{NEW_PIN}\n")
    assert result.exit_code == 0, result.output
    assert fake.script(NAME).secrets()["AUTH_PIN"] == NEW_PIN
    assert NEW_PIN not in result.output


def test_too_short_pin_is_a_usage_error_and_sets_nothing(fake, deployed, monkeypatch):
    before = fake.script(NAME).secrets()
    monkeypatch.setenv("CFMCP_PIN", "short")
    result = rotate(deployed, "--yes")
    assert result.exit_code == 2
    assert "CFMCP_PIN is too short" in " ".join(result.output.split())
    assert fake.script(NAME).secrets() == before


def test_not_deployed_is_one_line_with_a_hint(fake, tmp_path, monkeypatch):
    for name in ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    use_fake_env(monkeypatch, fake)
    path = write_project(tmp_path, fake.account_id, name="never-deployed")
    result = rotate(path, "--yes")
    assert result.exit_code == 1
    assert "is not deployed" in result.output and "cfmcp deploy" in result.output
    assert "Traceback" not in result.output


def test_lost_answer_still_shows_the_generated_pin(fake, deployed):
    """The secret PUT applied but its answer was lost: the PIN may be set, so it is shown."""
    fake.inject_fault(
        "PUT",
        "/accounts/*/workers/scripts/*/secrets",
        status=500,
        times=20,
        apply=True,
        retry_after=0.01,
    )
    result = rotate(deployed, "--yes")
    assert result.exit_code == 1
    pin = fake.script(NAME).secrets()["AUTH_PIN"]
    assert pin != OLD_PIN and result.output.count(pin) == 1
    text = " ".join(result.output.split())
    assert "may not be set" in text and "setting AUTH_PIN failed" in text
    assert "re-run `cfmcp rotate-pin`" in text and "Traceback" not in result.output
