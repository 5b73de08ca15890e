"""`cfmcp deploy` tries the PAT upstream before it writes anything: against the fake Cloudflare
API and real PAT-only MCP servers on 127.0.0.1. A refused or uncheckable PAT changes nothing
on the account; an accepted one is deployed (and its expiry said); a deploy that sends no PAT
says it did not check the one the Worker keeps. The PAT is in no output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cfmcp.cli import app
from cfmcp.local.server import bind_socket, origin_of
from cfmcp.project.state import load_state, state_path
from tests.fake_cloudflare.fake import FakeCloudflare
from tests.fake_cloudflare.fixtures import fake_cloudflare
from tests.support.deployed import isolate, use_fake_env, write_project
from tests.support.pat_upstreams import PatUpstream

WRITES = ("POST", "PUT", "PATCH", "DELETE")
WRONG_PAT = "FAKE-wrong-pat-0123456789abcdef"
fake = fake_cloudflare  # the pytest fixture, by the name these tests use


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path, pat_check=True)


@pytest.fixture(scope="module")
def upstream() -> Iterator[PatUpstream]:
    with PatUpstream() as server:
        yield server


def deploy(monkeypatch, fake: FakeCloudflare, config: Path, *args: str, pat: str | None):
    use_fake_env(monkeypatch, fake)
    if pat is None:
        monkeypatch.delenv("CFMCP_UPSTREAM_TOKEN", raising=False)
    else:
        monkeypatch.setenv("CFMCP_UPSTREAM_TOKEN", pat)
    return CliRunner().invoke(app, ["deploy", "--config", str(config), "--yes", *args])


def writes(fake: FakeCloudflare) -> list[str]:
    return [f"{c.method} {c.path}" for c in fake.calls if c.method in WRITES]


def everything(result) -> str:
    return result.stdout + result.stderr


def said(text: str) -> str:
    """Terminal output with Rich's line wrapping undone."""
    return " ".join(text.split())


def test_a_refused_pat_stops_the_deploy_before_any_write(fake, upstream, tmp_path, monkeypatch):
    config = write_project(tmp_path, fake.account_id, upstream_url=upstream.url)
    result = deploy(monkeypatch, fake, config, "--skip-smoke", pat=WRONG_PAT)
    assert result.exit_code == 1, everything(result)
    assert f"the upstream {upstream.url} refused the PAT (POST initialize → 401)" in said(
        result.stderr
    )
    assert "nothing was changed on Cloudflare" in said(result.stderr)
    assert writes(fake) == []
    assert fake.script("gh-mcp") is None
    assert not state_path(tmp_path).exists()
    assert WRONG_PAT not in everything(result)


def test_a_refused_pat_in_json(fake, upstream, tmp_path, monkeypatch):
    config = write_project(tmp_path, fake.account_id, upstream_url=upstream.url)
    result = deploy(monkeypatch, fake, config, "--skip-smoke", "--json", pat=WRONG_PAT)
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["code"] == "pat_refused"
    assert "CFMCP_UPSTREAM_TOKEN" in data["hint"]
    assert writes(fake) == []
    assert WRONG_PAT not in everything(result)


def test_an_accepted_pat_is_deployed(fake, upstream, tmp_path, monkeypatch):
    config = write_project(tmp_path, fake.account_id, upstream_url=upstream.url)
    upstream.recorder.clear()
    result = deploy(monkeypatch, fake, config, "--skip-smoke", "--json", pat=upstream.pat)
    assert result.exit_code == 0, everything(result)
    data = json.loads(result.stdout)
    assert data["pat"]["outcome"] == "checked"
    assert data["pat"]["http_status"] == 200
    assert data["pat"]["expires_at"] is None  # this upstream names no expiry
    assert fake.script("gh-mcp").secrets()["UPSTREAM_TOKEN"] == upstream.pat
    assert upstream.recorder.snapshot()[0].method == "POST"  # the initialize
    assert load_state(state_path(tmp_path)).pat_set_at
    assert upstream.pat not in everything(result)


def test_the_expiry_the_upstream_names_is_said_and_recorded(fake, tmp_path, monkeypatch):
    soon = (datetime.now(UTC) + timedelta(days=5, hours=1)).strftime("%Y-%m-%d %H:%M:%S UTC")
    with PatUpstream(expires=soon) as upstream:
        config = write_project(tmp_path, fake.account_id, upstream_url=upstream.url)
        result = deploy(monkeypatch, fake, config, "--skip-smoke", pat=upstream.pat)
    assert result.exit_code == 0, everything(result)
    out = said(result.stdout)
    assert f"the PAT expires on {soon[:10]} (in 5 days)" in out
    assert "replace it before then with `cfmcp deploy --new-upstream-token`" in out
    assert load_state(state_path(tmp_path)).pat_expires_at.startswith(soon[:10])
    assert upstream.pat not in everything(result)


def test_an_upstream_that_does_not_answer_stops_the_deploy(fake, tmp_path, monkeypatch):
    sock = bind_socket("127.0.0.1", 0)
    url = origin_of(sock) + "/mcp"
    sock.close()
    config = write_project(tmp_path, fake.account_id, upstream_url=url)
    result = deploy(monkeypatch, fake, config, "--skip-smoke", pat=WRONG_PAT)
    assert result.exit_code == 1
    assert f"could not check the PAT with {url}" in said(result.stderr)
    assert "--skip-pat-check" in said(result.stderr)
    assert writes(fake) == []

    skipped = deploy(monkeypatch, fake, config, "--skip-smoke", "--skip-pat-check", pat=WRONG_PAT)
    assert skipped.exit_code == 0, everything(skipped)
    assert "the PAT was not checked (--skip-pat-check)" in said(skipped.stdout)


def test_a_redeploy_that_keeps_the_pat_says_it_did_not_check_it(
    fake, upstream, tmp_path, monkeypatch
):
    config = write_project(tmp_path, fake.account_id, upstream_url=upstream.url)
    assert deploy(monkeypatch, fake, config, "--skip-smoke", pat=upstream.pat).exit_code == 0
    upstream.recorder.clear()
    again = deploy(monkeypatch, fake, config, "--skip-smoke", "--json", pat=None)
    assert again.exit_code == 0, everything(again)
    pat = json.loads(again.stdout)["pat"]
    assert pat["outcome"] == "kept"
    assert "was not checked" in pat["message"]
    assert upstream.recorder.snapshot() == []  # nothing was tried

    # a PAT in the environment is not sent without --new-upstream-token: say so
    given = deploy(monkeypatch, fake, config, "--skip-smoke", pat=WRONG_PAT)
    text = said(given.stdout)
    assert "CFMCP_UPSTREAM_TOKEN is set but was not sent" in text
    assert "cfmcp deploy --new-upstream-token" in text


def test_replacing_the_pat_with_a_refused_one_keeps_the_old(fake, upstream, tmp_path, monkeypatch):
    config = write_project(tmp_path, fake.account_id, upstream_url=upstream.url)
    assert deploy(monkeypatch, fake, config, "--skip-smoke", pat=upstream.pat).exit_code == 0
    fake.calls.clear()
    result = deploy(
        monkeypatch, fake, config, "--skip-smoke", "--new-upstream-token", pat=WRONG_PAT
    )
    assert result.exit_code == 1
    assert "cfmcp deploy --new-upstream-token" in said(result.stderr)  # the hint names the re-run
    assert writes(fake) == []
    assert fake.script("gh-mcp").secrets()["UPSTREAM_TOKEN"] == upstream.pat

    replaced = deploy(
        monkeypatch, fake, config, "--skip-smoke", "--new-upstream-token", pat=upstream.pat
    )
    assert replaced.exit_code == 0, everything(replaced)
    namespace = fake.kv_namespace_by_title("gh-mcp-oauth").id
    assert writes(fake) == [  # the secret, then the record of the old PAT goes
        f"PUT /accounts/{fake.account_id}/workers/scripts/gh-mcp/secrets",
        f"DELETE /accounts/{fake.account_id}/storage/kv/namespaces/{namespace}/values/upstream:pat",
    ]


@pytest.mark.parametrize(
    "bad", ["ghp_SECRET\u200bzero", "ghp_SECRET with-space", "ghp_SECRET\u00e9"]
)
def test_a_pat_that_cannot_travel_in_a_header_is_refused_before_anything(
    fake, upstream, tmp_path, monkeypatch, bad
):
    config = write_project(tmp_path, fake.account_id, upstream_url=upstream.url)
    upstream.recorder.clear()
    for extra in ((), ("--json",)):
        result = deploy(monkeypatch, fake, config, "--skip-smoke", *extra, pat=bad)
        assert result.exit_code == 2, everything(result)
        assert "printable ASCII" in said(everything(result))
        assert "SECRET" not in everything(result) and "Traceback" not in everything(result)
    assert writes(fake) == [] and upstream.recorder.snapshot() == []


def test_a_new_pat_clears_the_record_in_the_plan_and_its_curl(
    fake, upstream, tmp_path, monkeypatch
):
    config = write_project(tmp_path, fake.account_id, upstream_url=upstream.url)
    assert deploy(monkeypatch, fake, config, "--skip-smoke", pat=upstream.pat).exit_code == 0
    plan = deploy(
        monkeypatch, fake, config, "--new-upstream-token", "--dry-run", "--json", pat=upstream.pat
    )
    actions = [s["action"] for s in json.loads(plan.stdout)["steps"]]
    assert actions == ["set secret", "clear the PAT record"]
    curl = deploy(
        monkeypatch,
        fake,
        config,
        "--new-upstream-token",
        "--dry-run",
        "--format",
        "curl",
        pat=upstream.pat,
    )
    namespace = fake.kv_namespace_by_title("gh-mcp-oauth").id
    assert f'curl -sS -X DELETE "$API/accounts/$ACCOUNT_ID/storage/kv/namespaces/{namespace}' in (
        curl.stdout
    )
    assert upstream.pat not in plan.stdout + curl.stdout
