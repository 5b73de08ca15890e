"""The ownership rules of cfmcp.account.ours, and the one answer kept where commands disagreed.

Which KV namespace is ours used to depend on the command when .cfmcp/state.json and the
Worker's OAUTH_KV binding disagreed (deploy trusted the binding when the state was lost, destroy
never did, clients always did). The rule now: ours is the namespace titled `<name>-oauth`; the
binding stands in for the listing only when the state file recorded that same id and title.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cfmcp.account.api import DeployedScript, KvNamespace
from cfmcp.account.ours import (
    confirmed_kv_id,
    hostname_in_zone,
    is_our_worker,
    our_bound_kv_namespace,
    our_kv_namespace,
    zone_of,
)
from cfmcp.cli import app
from cfmcp.errors import NotDeployed, NotOurs
from cfmcp.project.config import ProjectConfig
from cfmcp.project.state import DeployState
from cfmcp.worker.contract import BUNDLE_HASH_VAR, KV_BINDING
from tests.fake_cloudflare.fixtures import fake_cloudflare
from tests.support.deployed import isolate, use_fake_env, write_project

ACCOUNT = "0123456789abcdef0123456789abcdef"
CONFIG = ProjectConfig(name="gh-mcp", account_id=ACCOUNT)
TITLE = "gh-mcp-oauth"
fake = fake_cloudflare


def script(kv_id: str = "ns-ours", *, ours: bool = True) -> DeployedScript:
    return DeployedScript(
        name="gh-mcp",
        plain_text={BUNDLE_HASH_VAR: "abc"} if ours else {},
        kv_namespaces={KV_BINDING: kv_id} if kv_id else {},
    )


def recorded(kv_id: str = "ns-ours", title: str = TITLE) -> DeployState:
    return DeployState(
        account_id=ACCOUNT, worker="gh-mcp", kv_namespace_id=kv_id, kv_namespace_title=title
    )


class Namespaces:
    """The one call the rule may make: list the account's namespaces (counted)."""

    def __init__(self, *namespaces: KvNamespace) -> None:
        self.namespaces = namespaces
        self.listings = 0

    def find_kv_namespace(self, account_id: str, title: str) -> KvNamespace | None:
        self.listings += 1
        return next((n for n in self.namespaces if n.title == title), None)


def test_a_worker_is_ours_by_the_bundle_hash_variable() -> None:
    assert is_our_worker(script())
    assert not is_our_worker(script(ours=False))


def test_binding_and_state_agreeing_save_the_listing() -> None:
    api = Namespaces()
    found = our_kv_namespace(api, CONFIG, recorded(), script())  # type: ignore[arg-type]
    assert found == KvNamespace("ns-ours", TITLE) and api.listings == 0


@pytest.mark.parametrize(
    "state",
    [
        DeployState(),  # lost
        recorded(kv_id="ns-old"),  # stale id
        recorded(title="renamed-oauth"),  # another title
        DeployState(account_id="f" * 32, worker="gh-mcp", kv_namespace_id="ns-ours"),
    ],
)
def test_without_a_matching_record_the_title_decides(state: DeployState) -> None:
    assert confirmed_kv_id(CONFIG, state, script()) is None
    api = Namespaces(KvNamespace("ns-ours", TITLE), KvNamespace("ns-other", "shared"))
    found = our_kv_namespace(api, CONFIG, state, script("ns-other"))  # type: ignore[arg-type]
    assert found == KvNamespace("ns-ours", TITLE) and api.listings == 1


def test_a_foreign_workers_binding_is_never_trusted() -> None:
    assert confirmed_kv_id(CONFIG, recorded(), script(ours=False)) is None


def test_acting_on_grants_needs_the_binding_to_be_ours() -> None:
    api = Namespaces(KvNamespace("ns-ours", TITLE))
    assert our_bound_kv_namespace(api, CONFIG, DeployState(), script()) == "ns-ours"  # type: ignore[arg-type]
    with pytest.raises(NotOurs, match="points to namespace ns-other"):
        our_bound_kv_namespace(api, CONFIG, DeployState(), script("ns-other"))  # type: ignore[arg-type]
    with pytest.raises(NotDeployed):
        our_bound_kv_namespace(Namespaces(), CONFIG, DeployState(), script())  # type: ignore[arg-type]


def test_hostname_in_zone_and_the_most_specific_zone() -> None:
    assert hostname_in_zone("mcp.example.com", "example.com")
    assert hostname_in_zone("Example.COM", "example.com")
    assert not hostname_in_zone("badexample.com", "example.com")
    assert zone_of("a.b.example.com", ["example.com", "b.example.com", "other.com"]) == (
        "b.example.com"
    )
    assert zone_of("mcp.example.org", ["example.com"]) == ""


# -- the commands agree: a Worker re-bound outside cfmcp, with the state file lost ---------


def _rebind_to_a_foreign_namespace(fake, tmp_path: Path, monkeypatch) -> tuple[Path, str]:
    isolate(monkeypatch, tmp_path)
    config = write_project(tmp_path, fake.account_id, name="gh-mcp")
    use_fake_env(monkeypatch, fake)
    monkeypatch.setenv("CFMCP_UPSTREAM_TOKEN", "ghp_FAKEoursPAT0123456789abcdefABCDEF")
    result = CliRunner().invoke(app, ["deploy", "-c", str(config), "--yes", "--skip-smoke"])
    assert result.exit_code == 0, result.output
    import cloudflare

    client = cloudflare.Cloudflare(api_token=fake.token, base_url=fake.base_url)
    shared = client.kv.namespaces.create(account_id=fake.account_id, title="shared-data").id
    for binding in fake.script("gh-mcp").bindings:
        if binding["name"] == KV_BINDING:
            binding["namespace_id"] = shared
    (tmp_path / ".cfmcp" / "state.json").unlink()
    return config, shared


def test_destroy_deletes_our_namespace_never_the_bound_foreign_one(fake, tmp_path, monkeypatch):
    config, shared = _rebind_to_a_foreign_namespace(fake, tmp_path, monkeypatch)
    ours = fake.kv_namespace_by_title(TITLE).id
    result = CliRunner().invoke(app, ["destroy", "-c", str(config), "--yes", "--json"])
    assert result.exit_code == 0, result.output
    deleted = {t["id"] for t in json.loads(result.stdout)["deleted"] if t["kind"] == "KV namespace"}
    assert deleted == {ours}
    assert fake.kv_namespace_by_title("shared-data").id == shared


def test_clients_refuse_a_binding_to_another_namespace(fake, tmp_path, monkeypatch):
    config, _ = _rebind_to_a_foreign_namespace(fake, tmp_path, monkeypatch)
    result = CliRunner().invoke(app, ["clients", "list", "-c", str(config), "--json"])
    assert result.exit_code == 1
    failure = json.loads(result.stdout)
    assert failure["ok"] is False and failure["code"] == "not_ours"
    assert "cfmcp deploy" in failure["hint"]


def test_deploy_binds_the_worker_to_its_namespace_again(fake, tmp_path, monkeypatch):
    config, _ = _rebind_to_a_foreign_namespace(fake, tmp_path, monkeypatch)
    result = CliRunner().invoke(
        app, ["deploy", "-c", str(config), "--yes", "--skip-smoke", "--json"]
    )
    assert result.exit_code == 0, result.output
    steps = json.loads(result.stdout)["steps"]
    assert [s["action"] for s in steps] == ["upload Worker"]
    assert steps[0]["detail"].endswith("KV binding changed")
