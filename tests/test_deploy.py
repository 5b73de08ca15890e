"""`cfmcp deploy` against the stateful fake Cloudflare API (real HTTP on 127.0.0.1).

Covers fresh deploys (workers.dev, custom domain, route), idempotent re-deploys with counted
calls, config changes, faults at every write step, lost state, and user errors.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cfmcp.cli import app
from cfmcp.project.config import load_config, save_config
from tests.fake_cloudflare.fake import FakeCloudflare
from tests.fake_cloudflare.fixtures import fake_cloudflare
from tests.fake_cloudflare.model import WORKERS_SCRIPTS_EDIT
from tests.support.cli import invoke
from tests.support.deployed import isolate, use_fake_env, write_project

PAT = "ghp_FAKEupstreamPAT0123456789abcdefABCDEF"
NAME = "gh-mcp"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


fake = fake_cloudflare  # the pytest fixture, by the name these tests use


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path)


def make_project(tmp_path: Path, fake: FakeCloudflare, **hostname: str) -> Path:
    return write_project(tmp_path, fake.account_id, **hostname)


def deploy(
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeCloudflare,
    config: Path,
    *args: str,
    token: str | None = None,
    pat: str | None = PAT,
):
    use_fake_env(monkeypatch, fake, token)
    if pat is not None:
        monkeypatch.setenv("CFMCP_UPSTREAM_TOKEN", pat)
    return CliRunner().invoke(app, ["deploy", "--config", str(config), *args])


def writes(fake: FakeCloudflare) -> list[str]:
    return [f"{c.method} {c.path}" for c in fake.calls if c.method in WRITES]


def summary(result) -> dict:
    return json.loads(result.stdout)


def test_fresh_workers_dev_then_noop_redeploy(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert result.exit_code == 0, result.output
    data = summary(result)
    assert data["public_url"] == f"https://{NAME}.fake-subdomain.workers.dev"
    assert data["mcp_url"] == data["public_url"] + "/mcp"
    assert [s["action"] for s in data["steps"]] == [
        "create KV namespace",
        "upload Worker",
        "enable workers.dev",
    ]
    assert data["api_calls"] == len(fake.calls) == 7
    script = fake.script(NAME)
    assert script is not None and script.subdomain_enabled
    assert [m.content_type for m in script.modules] == ["text/x-python"] * len(script.modules)
    assert script.compatibility_flags == ["python_workers"]
    assert script.compatibility_date == "2026-03-01"
    assert fake.plain_text(NAME, "CFMCP_BUNDLE_SHA256") == data["bundle_sha256"]
    assert fake.secret_names(NAME) == ["AUTH_PIN", "SIGNING_KEY", "UPSTREAM_TOKEN"]
    assert script.secrets()["UPSTREAM_TOKEN"] == PAT
    namespace = fake.kv_namespace_by_title(f"{NAME}-oauth")
    assert {
        "type": "kv_namespace",
        "name": "OAUTH_KV",
        "namespace_id": namespace.id,
    } in script.bindings
    versions = len(script.versions)

    fake.calls.clear()
    again = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert again.exit_code == 0, again.output
    assert summary(again)["steps"] == []
    assert writes(fake) == []
    assert len(fake.calls) <= 4
    assert len(fake.calls) == summary(again)["api_calls"]
    assert len(fake.script(NAME).versions) == versions
    assert not fake.unexpected_calls()


def test_lost_state_finds_everything_by_name(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    assert deploy(monkeypatch, fake, config, "--yes", "--skip-smoke").exit_code == 0
    shutil.rmtree(tmp_path / ".cfmcp")
    fake.calls.clear()
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert result.exit_code == 0, result.output
    assert summary(result)["steps"] == []
    assert writes(fake) == []
    # One read more than with the state file: without it the Worker's KV binding is not
    # trusted on its own, the namespace is found by its title (cfmcp.account.ours).
    assert len(fake.calls) <= 5
    assert fake.calls.count("GET", "/accounts/*/storage/kv/namespaces") == 1
    titles = [ns.title for ns in fake.state.kv_namespaces.values()]
    assert titles.count(f"{NAME}-oauth") == 1
    assert (tmp_path / ".cfmcp" / "state.json").exists()


def test_stale_state_for_another_worker_is_ignored(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    assert deploy(monkeypatch, fake, config, "--yes", "--skip-smoke").exit_code == 0
    state_file = tmp_path / ".cfmcp" / "state.json"
    state = json.loads(state_file.read_text())
    state.update(kv_namespace_id="deadbeef" * 4, workers_subdomain="wrong")
    state_file.write_text(json.dumps(state))
    fake.calls.clear()
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert result.exit_code == 0, result.output
    # Neither the recorded subdomain nor the recorded KV id is trusted blindly.
    data = summary(result)
    assert data["public_url"] == f"https://{NAME}.fake-subdomain.workers.dev"
    assert data["steps"] == [] and writes(fake) == []
    titles = [ns.title for ns in fake.state.kv_namespaces.values()]
    assert titles.count(f"{NAME}-oauth") == 1
    fixed = json.loads(state_file.read_text())
    assert fixed["workers_subdomain"] == "fake-subdomain"
    assert fixed["kv_namespace_id"] == fake.kv_namespace_by_title(f"{NAME}-oauth").id


def test_config_change_updates_only_the_script(fake, tmp_path, monkeypatch):
    config_path = make_project(tmp_path, fake)
    first = deploy(monkeypatch, fake, config_path, "--yes", "--skip-smoke", "--json")
    assert first.exit_code == 0, first.output
    config = load_config(config_path)
    config.oauth.server_name = "GitHub via cfmcp"
    save_config(config, config_path)
    fake.calls.clear()
    result = deploy(monkeypatch, fake, config_path, "--yes", "--skip-smoke", "--json", pat=None)
    assert result.exit_code == 0, result.output
    data = summary(result)
    assert [s["action"] for s in data["steps"]] == ["upload Worker"]
    assert data["bundle_sha256"] != summary(first)["bundle_sha256"]
    assert writes(fake) == [f"PUT /accounts/{fake.account_id}/workers/scripts/{NAME}"]
    upload = fake.calls.find("PUT", f"/accounts/*/workers/scripts/{NAME}")[0]
    assert upload.body["metadata"]["keep_bindings"] == ["secret_text"]
    assert not [b for b in upload.body["metadata"]["bindings"] if b["type"] == "secret_text"]
    assert fake.secret_names(NAME) == ["AUTH_PIN", "SIGNING_KEY", "UPSTREAM_TOKEN"]
    assert fake.plain_text(NAME, "CFMCP_BUNDLE_SHA256") == data["bundle_sha256"]


def test_custom_domain_fresh_and_noop(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake, mode="custom_domain", domain="mcp.example.com")
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert result.exit_code == 0, result.output
    data = summary(result)
    assert data["public_url"] == "https://mcp.example.com"
    assert [s["action"] for s in data["steps"]][-1] == "attach custom domain"
    domains = list(fake.state.domains.values())
    assert [(d.hostname, d.service, d.zone_id) for d in domains] == [
        ("mcp.example.com", NAME, fake.zone_id)
    ]
    fake.calls.clear()
    again = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert again.exit_code == 0 and summary(again)["steps"] == []
    assert writes(fake) == [] and len(fake.calls) <= 4
    shutil.rmtree(tmp_path / ".cfmcp")
    fake.calls.clear()
    lost = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert lost.exit_code == 0 and summary(lost)["steps"] == []
    assert writes(fake) == [] and len(fake.calls) <= 5  # + the KV listing (no state file)


def test_route_fresh_and_noop(fake, tmp_path, monkeypatch):
    config = make_project(
        tmp_path, fake, mode="route", route="api.example.com/mcp*", zone="example.com"
    )
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert result.exit_code == 0, result.output
    assert summary(result)["public_url"] == "https://api.example.com"
    routes = list(fake.state.routes.values())
    assert [(r.pattern, r.script, r.zone_id) for r in routes] == [
        ("api.example.com/mcp*", NAME, fake.zone_id)
    ]
    fake.calls.clear()
    again = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert again.exit_code == 0 and summary(again)["steps"] == []
    assert writes(fake) == [] and len(fake.calls) <= 4


FAULTS = [
    # (hostname mode, method, path glob, status, apply)
    ("workers_dev", "POST", "/accounts/*/storage/kv/namespaces", 500, False),
    ("workers_dev", "POST", "/accounts/*/storage/kv/namespaces", 500, True),
    ("workers_dev", "PUT", "/accounts/*/workers/scripts/*", 503, False),
    ("workers_dev", "PUT", "/accounts/*/workers/scripts/*", 500, True),
    ("workers_dev", "PUT", "/accounts/*/workers/scripts/*", 429, False),
    ("workers_dev", "POST", "/accounts/*/workers/scripts/*/subdomain", 500, False),
    ("workers_dev", "POST", "/accounts/*/workers/scripts/*/subdomain", 500, True),
    ("custom_domain", "PUT", "/accounts/*/workers/domains", 500, False),
    ("custom_domain", "PUT", "/accounts/*/workers/domains", 500, True),
    ("route", "POST", "/zones/*/workers/routes", 500, True),
    ("route", "POST", "/zones/*/workers/routes", 500, False),
]


@pytest.mark.parametrize(("mode", "method", "path", "status", "apply"), FAULTS)
def test_fault_at_a_step_then_rerun_converges(
    fake, tmp_path, monkeypatch, mode, method, path, status, apply
):
    hostname = {
        "workers_dev": {},
        "custom_domain": {"mode": "custom_domain", "domain": "mcp.example.com"},
        "route": {"mode": "route", "route": "api.example.com/mcp*", "zone": "example.com"},
    }[mode]
    config = make_project(tmp_path, fake, **hostname)
    fake.inject_fault(method, path, status=status, times=20, apply=apply, retry_after=0.01)
    failed = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke")
    assert failed.exit_code == 1
    assert "failed" in failed.output and "re-run" in failed.output
    assert "Traceback" not in failed.output
    fake.clear_faults()
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert result.exit_code == 0, result.output
    titles = [ns.title for ns in fake.state.kv_namespaces.values()]
    assert titles == [f"{NAME}-oauth"]
    assert fake.secret_names(NAME) == ["AUTH_PIN", "SIGNING_KEY", "UPSTREAM_TOKEN"]
    assert len(fake.state.domains) == (1 if mode == "custom_domain" else 0)
    assert len(fake.state.routes) == (1 if mode == "route" else 0)
    fake.calls.clear()
    final = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert summary(final)["steps"] == [] and writes(fake) == []


def test_state_is_recorded_after_each_step(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    fake.inject_fault("PUT", "/accounts/*/workers/scripts/*", status=400, times=5)
    assert deploy(monkeypatch, fake, config, "--yes", "--skip-smoke").exit_code == 1
    state = json.loads((tmp_path / ".cfmcp" / "state.json").read_text())
    assert state["kv_namespace_id"] == fake.kv_namespace_by_title(f"{NAME}-oauth").id
    assert state["script_uploaded"] is False


def test_bad_token_fails_cleanly_and_creates_nothing(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    result = deploy(
        monkeypatch,
        fake,
        config,
        "--yes",
        "--skip-smoke",
        token="FAKE-not-a-real-token-000000000000000",
    )
    assert result.exit_code == 1
    assert "token is invalid" in result.output
    assert "hint:" in result.output
    assert writes(fake) == []
    assert not (tmp_path / ".cfmcp" / "state.json").exists()


def test_missing_kv_permission_names_it_and_creates_nothing(fake, tmp_path, monkeypatch):
    fake.add_token("FAKE-scripts-only-token-0000000000000", permissions={WORKERS_SCRIPTS_EDIT})
    config = make_project(tmp_path, fake)
    result = deploy(
        monkeypatch,
        fake,
        config,
        "--yes",
        "--skip-smoke",
        token="FAKE-scripts-only-token-0000000000000",
    )
    assert result.exit_code == 1
    assert "Workers KV Storage: Edit" in result.output
    assert writes(fake) == []


def test_unknown_zone_fails_before_anything_is_created(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake, mode="custom_domain", domain="mcp.unknown-zone.org")
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke")
    assert result.exit_code == 1
    assert "no zone" in result.output and "mcp.unknown-zone.org" in result.output
    assert writes(fake) == []
    route = make_project(tmp_path, fake, mode="route", route="x.other.org/*", zone="other.org")
    result = deploy(monkeypatch, fake, route, "--yes", "--skip-smoke")
    assert result.exit_code == 1 and "not in account" in result.output
    assert writes(fake) == []


def test_worker_name_taken_by_a_foreign_script(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    from cloudflare import Cloudflare

    client = Cloudflare(api_token=fake.token, base_url=fake.base_url)
    client.workers.scripts.update(
        NAME,
        account_id=fake.account_id,
        metadata={
            "main_module": "entry.py",
            "compatibility_date": "2026-03-01",
            "compatibility_flags": ["python_workers"],
        },
        files=[
            (
                "entry.py",
                b"from workers import WorkerEntrypoint, Response\n\n\n"
                b"class Default(WorkerEntrypoint):\n"
                b"    async def fetch(self, request):\n"
                b"        return Response('not cfmcp')\n",
                "text/x-python",
            )
        ],
    )
    fake.calls.clear()
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke")
    assert result.exit_code == 1
    assert "not deployed by cfmcp" in result.output
    assert writes(fake) == []


def test_dry_run_makes_no_write_call(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    result = deploy(monkeypatch, fake, config, "--dry-run", pat=None)
    assert result.exit_code == 0, result.output
    assert "create KV namespace" in result.output and "upload Worker" in result.output
    assert "nothing was changed" in result.output
    assert writes(fake) == []
    assert not (tmp_path / ".cfmcp").exists()
    as_json = deploy(monkeypatch, fake, config, "--dry-run", "--json", pat=None)
    assert summary(as_json)["dry_run"] is True
    assert writes(fake) == []


def test_dry_run_curl_shows_variables_not_secrets(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    monkeypatch.setenv("CFMCP_PIN", "pin-that-must-not-appear")
    result = deploy(monkeypatch, fake, config, "--dry-run", "--format", "curl")
    assert result.exit_code == 0, result.output
    text = result.stdout
    for secret in (PAT, "pin-that-must-not-appear", fake.token):
        assert secret not in text
    for variable in (
        "$UPSTREAM_TOKEN",
        "$AUTH_PIN",
        "$SIGNING_KEY",
        "$CLOUDFLARE_API_TOKEN",
        "$KV_NAMESPACE_ID",
    ):
        assert variable in text
    assert f'ACCOUNT_ID="{fake.account_id}"' in text
    assert f"/accounts/$ACCOUNT_ID/workers/scripts/{NAME}" in text
    assert writes(fake) == []


def test_format_curl_needs_dry_run(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    result = deploy(monkeypatch, fake, config, "--format", "curl")
    assert result.exit_code == 2


def test_first_deploy_needs_the_pat_without_prompting(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", pat=None)
    assert result.exit_code == 2
    assert "CFMCP_UPSTREAM_TOKEN" in result.output
    assert writes(fake) == []


def test_interactive_deploy_confirms_and_prompts_for_the_pat(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    use_fake_env(monkeypatch, fake)
    result = invoke(
        ["deploy", "--config", str(config), "--skip-smoke"],
        input=f"y\n{PAT}\nFAKE-typed-pin-0042\nfake-typed-pin-0042\n",
    )
    assert result.exit_code == 0, result.output
    assert fake.script(NAME).secrets()["UPSTREAM_TOKEN"] == PAT
    assert fake.script(NAME).secrets()["AUTH_PIN"] == "FAKE-typed-pin-0042"
    assert PAT not in result.output and "FAKE-typed-pin-0042" not in result.output
    assert "Your PIN" not in result.output  # shown only when generated


def test_a_refused_or_mistyped_pin_is_asked_again_and_the_pat_kept(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    use_fake_env(monkeypatch, fake)
    typed = [
        "y",
        PAT,
        "short-1",  # too short: asked again (the PAT is not asked again)
        "FAKE-typed-pin-0042",
        "FAKE-typed-pin-0043",  # the second typing differs: both asked again
        "FAKE-typed-pin-0042",
        "faketypedpin0042",  # the same PIN as the Worker compares them (case, dashes)
    ]
    result = invoke(
        ["deploy", "--config", str(config), "--skip-smoke"], input="\n".join(typed) + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "too short" in result.output and "the two PINs differ" in result.output
    assert result.output.count("Upstream MCP server token") == 1
    assert fake.script(NAME).secrets()["AUTH_PIN"] == "FAKE-typed-pin-0042"
    assert fake.script(NAME).secrets()["UPSTREAM_TOKEN"] == PAT


def test_interactive_deploy_generates_the_pin_on_enter(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    use_fake_env(monkeypatch, fake)
    result = invoke(["deploy", "--config", str(config), "--skip-smoke"], input=f"y\n{PAT}\n\n")
    assert result.exit_code == 0, result.output
    pin = fake.script(NAME).secrets()["AUTH_PIN"]
    assert result.output.count(pin) == 1 and "Your PIN" in result.output


def test_account_without_workers_dev_subdomain(fake, tmp_path, monkeypatch):
    with fake.state.lock:
        fake.state.workers_subdomains.clear()
    config = make_project(tmp_path, fake)
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke")
    assert result.exit_code == 1
    assert "no workers.dev subdomain" in result.output
    assert writes(fake) == []


def test_token_without_access_to_the_account(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    fake.add_token("FAKE-other-account-token-00000000000", account_ids=["f" * 32])
    result = deploy(
        monkeypatch,
        fake,
        config,
        "--yes",
        "--skip-smoke",
        token="FAKE-other-account-token-00000000000",
    )
    assert result.exit_code == 1
    assert "lacks a permission" in result.output and "account_id" in result.output
    assert writes(fake) == []


def test_declining_the_plan_changes_nothing(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    use_fake_env(monkeypatch, fake)
    result = invoke(["deploy", "--config", str(config)], input="n\n")
    assert result.exit_code == 130
    assert "not confirmed: nothing was changed" in result.output
    assert writes(fake) == []


def test_account_owned_token_and_global_key_in_env(fake, tmp_path, monkeypatch):
    fake.add_token("FAKE-account-owned-token-00000000000", owner="account")
    monkeypatch.setenv("CLOUDFLARE_EMAIL", "someone@example.com")
    monkeypatch.setenv("CLOUDFLARE_API_KEY", "FAKE-global-key-must-not-be-used")
    config = make_project(tmp_path, fake)
    token = "FAKE-account-owned-token-00000000000"
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", token=token)
    assert result.exit_code == 0, result.output
    assert {c.token_id for c in fake.calls if c.token_id} == {fake.state.tokens[token].id}
    fake.calls.clear()
    again = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", token=token)
    assert again.exit_code == 0
    assert fake.calls.count("GET", "/user/tokens/verify") == 0  # the token kind is remembered
    assert len(fake.calls) <= 4


def test_api_base_url_is_required_to_reach_the_fake(fake, tmp_path, monkeypatch):
    """Sanity check of the harness: without CLOUDFLARE_API_BASE_URL nothing reaches the fake."""
    config = make_project(tmp_path, fake)
    monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", "http://127.0.0.1:9/client/v4")
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", fake.token)
    monkeypatch.setenv("CFMCP_UPSTREAM_TOKEN", PAT)
    result = CliRunner().invoke(app, ["deploy", "--config", str(config), "--yes", "--skip-smoke"])
    assert result.exit_code == 1
    assert "cannot reach http://127.0.0.1:9/client/v4" in result.output
    assert len(fake.calls) == 0


def test_json_errors_are_json_on_stdout(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    result = deploy(
        monkeypatch,
        fake,
        config,
        "--yes",
        "--skip-smoke",
        "--json",
        token="FAKE-not-a-real-token-000000000000000",
    )
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and "token is invalid" in data["error"] and data["hint"]


def test_namespace_created_concurrently_is_adopted(fake, tmp_path, monkeypatch):
    """The listing missed it (eventual consistency, a parallel run): create conflicts → adopt."""
    from cloudflare import Cloudflare

    from cfmcp.account.api import CloudflareApi

    config = make_project(tmp_path, fake)
    Cloudflare(api_token=fake.token, base_url=fake.base_url).kv.namespaces.create(
        account_id=fake.account_id, title=f"{NAME}-oauth"
    )
    existing = fake.kv_namespace_by_title(f"{NAME}-oauth").id
    real_find = CloudflareApi.find_kv_namespace
    stale = iter([True])

    def find(self, account_id, title):
        found = real_find(self, account_id, title)
        return None if next(stale, False) else found

    monkeypatch.setattr(CloudflareApi, "find_kv_namespace", find)
    fake.calls.clear()
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert result.exit_code == 0, result.output
    assert fake.calls.count("POST", "/accounts/*/storage/kv/namespaces") == 1  # it conflicted
    titles = [ns.title for ns in fake.state.kv_namespaces.values()]
    assert titles == [f"{NAME}-oauth"]
    kv_ids = [b["namespace_id"] for b in fake.script(NAME).bindings if b["type"] == "kv_namespace"]
    assert kv_ids == [existing]


def test_generated_pin_is_shown_even_when_a_later_step_fails(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    fake.inject_fault(
        "POST", "/accounts/*/workers/scripts/*/subdomain", status=500, times=20, retry_after=0.01
    )
    failed = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke")
    assert failed.exit_code == 1
    pin = fake.script(NAME).secrets()["AUTH_PIN"]
    assert failed.output.count(pin) == 1
    fake.clear_faults()
    again = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke")
    assert again.exit_code == 0 and "Your PIN" not in again.output
    assert fake.script(NAME).secrets()["AUTH_PIN"] == pin


@pytest.mark.parametrize(
    ("method", "path", "kind", "apply"),
    [
        ("POST", "/accounts/*/storage/kv/namespaces", "drop", True),
        ("PUT", "/accounts/*/workers/scripts/*", "drop", False),
        ("POST", "/accounts/*/workers/scripts/*/subdomain", "drop", True),
    ],
)
def test_dropped_connections_converge(fake, tmp_path, monkeypatch, method, path, kind, apply):
    config = make_project(tmp_path, fake)
    fake.inject_fault(method, path, kind=kind, times=20, apply=apply)
    failed = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke")
    assert failed.exit_code == 1 and "Traceback" not in failed.output
    fake.clear_faults()
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert result.exit_code == 0, result.output
    assert [ns.title for ns in fake.state.kv_namespaces.values()] == [f"{NAME}-oauth"]
    assert fake.script(NAME).subdomain_enabled


def test_failing_read_creates_nothing(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    fake.inject_fault(
        "GET", "/accounts/*/workers/scripts/*/settings", status=500, times=20, retry_after=0.01
    )
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke")
    assert result.exit_code == 1
    assert "read Worker" in result.output
    assert writes(fake) == []


def test_rate_limit_is_retried_transparently(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    fake.inject_fault("PUT", "/accounts/*/workers/scripts/*", status=429, times=2, retry_after=0.05)
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert result.exit_code == 0, result.output
    assert fake.calls.count("PUT", "/accounts/*/workers/scripts/*") == 3
    assert fake.script(NAME) is not None


def test_cli_startup_does_not_import_the_sdk():
    import subprocess
    import sys

    code = (
        "import sys, cfmcp.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('cloudflare', 'httpx', 'jinja2')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "cloudflare" not in out


def test_new_upstream_token_replaces_only_that_secret(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    assert deploy(monkeypatch, fake, config, "--yes", "--skip-smoke").exit_code == 0
    before = fake.script(NAME).secrets()
    fake.calls.clear()
    new_pat = "ghp_FAKEnewPAT99999999999999999999999999"
    result = deploy(
        monkeypatch,
        fake,
        config,
        "--yes",
        "--skip-smoke",
        "--json",
        "--new-upstream-token",
        pat=new_pat,
    )
    assert result.exit_code == 0, result.output
    namespace = fake.kv_namespace_by_title(f"{NAME}-oauth").id
    assert writes(fake) == [  # the secret, then the Worker's record of the old PAT
        f"PUT /accounts/{fake.account_id}/workers/scripts/{NAME}/secrets",
        f"DELETE /accounts/{fake.account_id}/storage/kv/namespaces/{namespace}/values/upstream:pat",
    ]
    after = fake.script(NAME).secrets()
    assert after["UPSTREAM_TOKEN"] == new_pat
    assert {k: v for k, v in after.items() if k != "UPSTREAM_TOKEN"} == {
        k: v for k, v in before.items() if k != "UPSTREAM_TOKEN"
    }
    assert new_pat not in result.output


# -- the exact-state Durable Object: binding and migration, applied once ----------------------

SCRIPTS_LIST = "/accounts/*/workers/scripts"  # the only endpoint reporting migration_tag


def uploads(fake: FakeCloudflare) -> list[dict]:
    """The metadata of every script upload, in order."""
    return [
        c.body["metadata"] for c in fake.calls.find("PUT", f"/accounts/*/workers/scripts/{NAME}")
    ]


def durable_objects(fake: FakeCloudflare) -> list[tuple[str, str, bool]]:
    with fake.state.lock:
        return [
            (ns.script, ns.class_name, ns.use_sqlite)
            for ns in fake.state.durable_object_namespaces.values()
        ]


def test_fresh_deploy_creates_the_durable_object_once(fake, tmp_path, monkeypatch):
    from cfmcp.worker.contract import EXACT_BINDING, EXACT_CLASS, EXACT_MIGRATION_TAG

    config = make_project(tmp_path, fake)
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert result.exit_code == 0, result.output
    assert fake.calls.count("GET", SCRIPTS_LIST) == 0  # a new Worker has no tag to read
    [metadata] = uploads(fake)
    assert {
        "type": "durable_object_namespace",
        "name": EXACT_BINDING,
        "class_name": EXACT_CLASS,
    } in metadata["bindings"]
    assert metadata["migrations"] == {
        "new_tag": EXACT_MIGRATION_TAG,
        "steps": [{"new_sqlite_classes": [EXACT_CLASS]}],
    }
    assert fake.script(NAME).migration_tag == EXACT_MIGRATION_TAG
    assert durable_objects(fake) == [(NAME, EXACT_CLASS, True)]

    # Nothing changed: still 4 calls, no migration, no tag read.
    fake.calls.clear()
    again = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert again.exit_code == 0 and summary(again)["steps"] == []
    assert summary(again)["api_calls"] == len(fake.calls) == 4

    # State lost and the bundle changed: uploaded again, with the binding and no migration.
    shutil.rmtree(tmp_path / ".cfmcp")
    cfg = load_config(config)
    cfg.oauth.server_name = "GitHub via cfmcp"
    save_config(cfg, config)
    fake.calls.clear()
    changed = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json", pat=None)
    assert changed.exit_code == 0, changed.output
    [metadata] = uploads(fake)
    assert "migrations" not in metadata
    assert any(b["type"] == "durable_object_namespace" for b in metadata["bindings"])
    assert fake.calls.count("GET", SCRIPTS_LIST) == 0
    assert durable_objects(fake) == [(NAME, EXACT_CLASS, True)]
    assert fake.script(NAME).migration_tag == EXACT_MIGRATION_TAG


def kv_era_deployment(fake: FakeCloudflare, config_path: Path, *, tag: str | None = None) -> str:
    """A Worker as cfmcp deployed it before the Durable Object: KV binding, bundle hash and
    secrets, no EXACT_STATE binding (optionally a migration tag of someone else's). Returns
    the bundle hash."""
    from cloudflare import Cloudflare

    from cfmcp.worker.render import render_bundle

    client = Cloudflare(api_token=fake.token, base_url=fake.base_url, max_retries=0)
    config = load_config(config_path)
    ns = client.kv.namespaces.create(account_id=fake.account_id, title=f"{NAME}-oauth").id
    bundle = render_bundle(config, public_url=f"https://{NAME}.fake-subdomain.workers.dev")
    metadata = {
        "main_module": bundle.main_module,
        "compatibility_date": config.compatibility_date,
        "compatibility_flags": ["python_workers"],
        "bindings": [
            {"type": "kv_namespace", "name": "OAUTH_KV", "namespace_id": ns},
            {"type": "plain_text", "name": "CFMCP_BUNDLE_SHA256", "text": bundle.sha256},
            *(
                {"type": "secret_text", "name": n, "text": "FAKE-" + n.lower() * 3}
                for n in ("UPSTREAM_TOKEN", "AUTH_PIN", "SIGNING_KEY")
            ),
        ],
    }
    if tag is not None:
        metadata["migrations"] = {"new_tag": tag, "steps": []}
    client.workers.scripts.update(
        NAME,
        account_id=fake.account_id,
        metadata=metadata,  # type: ignore[arg-type]
        files=[(n, d, "text/x-python") for n, d in sorted(bundle.modules.items())],
    )
    client.workers.scripts.subdomain.create(NAME, account_id=fake.account_id, enabled=True)
    return bundle.sha256


@pytest.mark.parametrize("lose_state", [False, True])
def test_a_deployment_from_before_the_durable_object_is_upgraded_once(
    fake, tmp_path, monkeypatch, lose_state
):
    from cfmcp.worker.contract import EXACT_CLASS, EXACT_MIGRATION_TAG

    config = make_project(tmp_path, fake)
    sha = kv_era_deployment(fake, config)
    fake.calls.clear()
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json", pat=None)
    assert result.exit_code == 0, result.output
    data = summary(result)
    # Same bundle: the missing binding alone forces the upload (secrets are kept).
    assert data["bundle_sha256"] == sha
    [step] = data["steps"]
    assert step["action"] == "upload Worker"
    assert step["detail"].endswith(
        f"apply Durable Object migration {EXACT_MIGRATION_TAG} "
        f"(new SQLite class {EXACT_CLASS})) — Durable Object "
        "binding missing"
    )
    assert fake.calls.count("GET", SCRIPTS_LIST) == 1  # the tag is read from the account
    # The 4 reads + the KV listing (no state.json confirms the binding) + the tag + the upload.
    assert data["api_calls"] == len(fake.calls) == 7
    [metadata] = uploads(fake)
    assert metadata["migrations"] == {
        "new_tag": EXACT_MIGRATION_TAG,
        "steps": [{"new_sqlite_classes": [EXACT_CLASS]}],
    }
    assert metadata["keep_bindings"] == ["secret_text"]
    assert fake.secret_names(NAME) == ["AUTH_PIN", "SIGNING_KEY", "UPSTREAM_TOKEN"]
    assert durable_objects(fake) == [(NAME, EXACT_CLASS, True)]

    if lose_state:
        shutil.rmtree(tmp_path / ".cfmcp")
    fake.calls.clear()
    again = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json", pat=None)
    assert again.exit_code == 0 and summary(again)["steps"] == [], again.output
    assert writes(fake) == [] and len(fake.calls) == (5 if lose_state else 4)
    assert durable_objects(fake) == [(NAME, EXACT_CLASS, True)]


def test_a_foreign_migration_tag_is_chained_with_old_tag(fake, tmp_path, monkeypatch):
    from cfmcp.worker.contract import EXACT_CLASS, EXACT_MIGRATION_TAG

    config = make_project(tmp_path, fake)
    kv_era_deployment(fake, config, tag="someone-elses-v1")
    fake.calls.clear()
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json", pat=None)
    assert result.exit_code == 0, result.output
    [metadata] = uploads(fake)
    assert metadata["migrations"] == {
        "old_tag": "someone-elses-v1",
        "new_tag": EXACT_MIGRATION_TAG,
        "steps": [{"new_sqlite_classes": [EXACT_CLASS]}],
    }
    assert fake.script(NAME).migration_tag == EXACT_MIGRATION_TAG


def test_binding_removed_after_the_migration_is_bound_again_without_migrating(
    fake, tmp_path, monkeypatch
):
    from cloudflare import Cloudflare

    from cfmcp.worker.contract import EXACT_CLASS, EXACT_MIGRATION_TAG

    config = make_project(tmp_path, fake)
    assert deploy(monkeypatch, fake, config, "--yes", "--skip-smoke").exit_code == 0
    # Someone re-uploads the Worker without the binding (the class and tag stay).
    script = fake.script(NAME)
    kept = [b for b in script.bindings if b["type"] in ("kv_namespace", "plain_text")]
    Cloudflare(api_token=fake.token, base_url=fake.base_url).workers.scripts.update(
        NAME,
        account_id=fake.account_id,
        files=[(m.name, m.content, m.content_type) for m in script.modules],
        metadata={
            "main_module": script.main_module,
            "bindings": kept,  # type: ignore[arg-type]
            "compatibility_date": script.compatibility_date,
            "compatibility_flags": script.compatibility_flags,
            "keep_bindings": ["secret_text"],
        },
    )
    assert fake.script(NAME).migration_tag == EXACT_MIGRATION_TAG
    fake.calls.clear()
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json", pat=None)
    assert result.exit_code == 0, result.output
    [metadata] = uploads(fake)
    assert "migrations" not in metadata  # the tag says it was applied: no duplicate
    assert fake.calls.count("GET", SCRIPTS_LIST) == 1
    assert durable_objects(fake) == [(NAME, EXACT_CLASS, True)]


def test_a_lost_answer_to_the_migrating_upload_converges_in_one_run(fake, tmp_path, monkeypatch):
    from cfmcp.worker.contract import EXACT_CLASS, EXACT_MIGRATION_TAG

    config = make_project(tmp_path, fake)
    # The first upload is applied (migration included) but answered 500; the SDK-level retry
    # is refused by the tag precondition (10079), so deploy reads the tag and uploads again
    # without the migration.
    fake.inject_fault("PUT", f"/accounts/*/workers/scripts/{NAME}", status=500, apply=True)
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert result.exit_code == 0, result.output
    puts = fake.calls.find("PUT", f"/accounts/*/workers/scripts/{NAME}")
    assert [(c.status, "migrations" in c.body["metadata"]) for c in puts] == [
        (500, True),
        (400, True),
        (200, False),
    ]
    assert puts[1].error_codes == [10079]
    assert fake.calls.count("GET", SCRIPTS_LIST) == 1
    assert fake.script(NAME).migration_tag == EXACT_MIGRATION_TAG
    assert durable_objects(fake) == [(NAME, EXACT_CLASS, True)]


def test_render_then_wrangler_deploys_what_deploy_would(fake, tmp_path, monkeypatch):
    """The eject path: `cfmcp render` + real wrangler give the same binding and migration;
    `cfmcp deploy` then finds the Worker up to date (only the secrets are its to set)."""
    import os
    import subprocess

    from cloudflare import Cloudflare

    from cfmcp.worker.contract import EXACT_BINDING, EXACT_CLASS, EXACT_MIGRATION_TAG
    from tests.test_fake_cloudflare import _wrangler

    wrangler = _wrangler()
    if wrangler is None:
        pytest.skip("wrangler not installed (set CFMCP_TEST_WRANGLER=/path/to/wrangler)")
    config = make_project(tmp_path, fake)
    ns = (
        Cloudflare(api_token=fake.token, base_url=fake.base_url)
        .kv.namespaces.create(account_id=fake.account_id, title=f"{NAME}-oauth")
        .id
    )
    rendered = CliRunner().invoke(
        app,
        [
            "render",
            "--config",
            str(config),
            "--out",
            str(tmp_path / "worker"),
            "--public-url",
            f"https://{NAME}.fake-subdomain.workers.dev",
            "--kv-namespace-id",
            ns,
        ],
    )
    assert rendered.exit_code == 0, rendered.output
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "CI": "1",
        "WRANGLER_SEND_METRICS": "false",
        **fake.env(),
    }
    done = subprocess.run(
        [wrangler, "deploy"],
        cwd=tmp_path / "worker",
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [metadata] = uploads(fake)
    assert {
        "name": EXACT_BINDING,
        "type": "durable_object_namespace",
        "class_name": EXACT_CLASS,
    } in metadata["bindings"]
    assert metadata["migrations"] == {
        "new_tag": EXACT_MIGRATION_TAG,
        "steps": [{"new_sqlite_classes": [EXACT_CLASS]}],
    }
    assert durable_objects(fake) == [(NAME, EXACT_CLASS, True)]

    fake.calls.clear()
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--json")
    assert result.exit_code == 0, result.output
    steps = [s["action"] for s in summary(result)["steps"]]
    assert steps == ["set secret"] * 3 + ["clear the PAT record"]  # wrangler's namespace exists
    assert uploads(fake) == []


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal is POSIX")
def test_on_a_real_terminal_secrets_are_typed_hidden(fake, tmp_path, monkeypatch):
    from tests.support.terminal import Terminal

    config = make_project(tmp_path, fake)
    use_fake_env(monkeypatch, fake)
    cfmcp = Path(sys.executable).parent / "cfmcp"
    terminal = Terminal(
        [str(cfmcp), "deploy", "--config", str(config), "--skip-smoke"],
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        terminal.expect("Apply these changes?")
        terminal.type("y")
        terminal.expect("Upstream MCP server token")
        terminal.type_hidden(PAT)
        terminal.expect("PIN for the consent page")
        terminal.type_hidden("FAKE-typed-pin-0042")
        terminal.expect("The same PIN again")
        terminal.type_hidden("fake-typed-pin-0042")
        code = terminal.wait(120)
    finally:
        terminal.close()
    assert code == 0, terminal.output
    assert PAT not in terminal.output and "typed-pin" not in terminal.output  # never echoed
    assert "echoed" not in terminal.output  # getpass had its terminal
    assert fake.script(NAME).secrets()["AUTH_PIN"] == "FAKE-typed-pin-0042"


def test_render_after_deploy_is_exactly_what_was_uploaded(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)  # workers.dev: the URL is known only from the account
    assert deploy(monkeypatch, fake, config, "--yes", "--skip-smoke").exit_code == 0
    out = tmp_path / "worker"
    result = CliRunner().invoke(
        app, ["render", "--config", str(config), "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    rendered = json.loads(result.stdout)
    script = fake.script(NAME)
    uploaded = {m.name: m.content for m in script.modules}
    assert {name: (out / name).read_bytes() for name in rendered["modules"]} == uploaded
    assert rendered["public_url"] == f"https://{NAME}.fake-subdomain.workers.dev"
    assert rendered["matches_deployed"] is True
    assert rendered["sha256"] == rendered["deployed_sha256"]
    [namespace] = fake.state.kv_namespaces.values()
    assert rendered["kv_namespace_id"] == namespace.id
    wrangler = tomllib.loads((out / "wrangler.toml").read_text())
    assert wrangler["kv_namespaces"][0]["id"] == namespace.id
    # an option that changes what deploy would do is named, never taken for a change
    other_url = ["--public-url", "https://elsewhere.example.com"]
    moved = CliRunner().invoke(app, ["render", "-c", str(config), "-o", str(out), *other_url])
    assert "--public-url renders another issuer URL in" in " ".join(moved.output.split())
    other_kv = ["--kv-namespace-id", "f" * 32]
    rebound = CliRunner().invoke(app, ["render", "-c", str(config), "-o", str(out), *other_kv])
    text = " ".join(rebound.output.split())
    assert "the bundle the last `cfmcp deploy` uploaded" in text
    assert f"binds the KV namespace you passed, not the deployed one ({namespace.id})" in text
    # cfmcp.toml changed since: render says so (deploy would upload the new bundle)
    changed = load_config(config)
    changed.oauth.server_name = "Renamed"
    save_config(changed, config)
    again = CliRunner().invoke(app, ["render", "--config", str(config), "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert "differs from the bundle the last deploy uploaded" in " ".join(again.output.split())


def test_verbose_shows_each_api_call_and_no_secret(fake, tmp_path, monkeypatch):
    config = make_project(tmp_path, fake)
    monkeypatch.setenv("CFMCP_PIN", "FAKE-verbose-pin-0042")
    result = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke", "--verbose", "--json")
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # the trace stays off stdout
    traced = [line for line in result.stderr.splitlines() if line.startswith("api: ")]
    assert len(traced) == len(fake.calls) >= 5
    assert any(line.startswith("api: PUT /accounts/") and "→ 200" in line for line in traced)
    for secret in (PAT, fake.token, "FAKE-verbose-pin-0042"):
        assert secret not in result.stderr + result.stdout
    quiet = deploy(monkeypatch, fake, config, "--yes", "--skip-smoke")
    assert "api: " not in quiet.output


@pytest.mark.skipif(os.name == "nt", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_while_the_account_is_read_ends_at_once(tmp_path):
    # An API that accepts connections and never answers: deploy's first reads (run side by
    # side) wait on it; Ctrl-C must end the command now, not after every read times out.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        config = write_project(tmp_path, "0" * 32)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CFMCP_", "CLOUDFLARE_"))}
        env |= {
            "CLOUDFLARE_API_BASE_URL": f"http://127.0.0.1:{silent.getsockname()[1]}/client/v4",
            "CLOUDFLARE_API_TOKEN": "FAKE-silent-api-token",
        }
        cfmcp = Path(sys.executable).parent / "cfmcp"
        command = [str(cfmcp), "deploy", "--config", str(config), "--yes", "--json"]
        proc = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(4)  # time to start and reach the reads
        assert proc.poll() is None, proc.communicate()
        interrupted = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert time.monotonic() - interrupted < 10
    finally:
        silent.close()
    assert proc.returncode == 130, err
    assert json.loads(out)["code"] == "interrupted"
    assert "Traceback" not in err
