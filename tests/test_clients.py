"""`cfmcp clients list|revoke` end to end: real OAuth flows against the Worker the fake runs
(its KV is the namespace the API reads and writes), then revocation through the API."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cfmcp.account.grants import GrantInfo, parse_grant, select
from cfmcp.cli import app
from tests.fake_cloudflare.fake import FakeCloudflare
from tests.fake_cloudflare.fixtures import fake_cloudflare_workers
from tests.support.cli import invoke
from tests.support.deployed import (
    NAME,
    connect,
    deploy_live,
    isolate,
    mcp_status,
    recording_upstream,
    refresh_status,
)
from tests.support.oauth import MCP_HEADERS, token_request

PIN = "FAKE-clients-pin-3333"

upstream = recording_upstream  # pytest fixtures, by the names these tests use
fake = fake_cloudflare_workers


@pytest.fixture
def deployed(fake, upstream, tmp_path, monkeypatch) -> Path:
    isolate(monkeypatch, tmp_path)
    return deploy_live(
        tmp_path, fake, monkeypatch, upstream_url=upstream.mcp_url, pat=upstream.pat, pin=PIN
    )


def clients(config: Path, command: str, *args: str, input: str | None = None):
    return invoke(["clients", command, "--config", str(config), *args], input=input)


def listed(config: Path) -> list[dict]:
    result = clients(config, "list", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["grants"]


def grant_values(fake: FakeCloudflare) -> list[dict]:
    namespace = fake.kv_namespace_by_title(f"{NAME}-oauth")
    return [
        json.loads(entry.value)
        for key, entry in fake.kv_entries(namespace.id).items()
        if key.startswith("grant:")
    ]


def wait_for_status(origin: str, token: str, status: int, timeout: float = 15.0) -> int:
    """The Worker caches "not revoked" for up to 10 s per isolate: poll until it answers."""
    deadline = time.monotonic() + timeout
    while True:
        got = mcp_status(origin, token)
        if got == status or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def test_list_then_revoke_one_connection_end_to_end(fake, deployed):
    origin = fake.worker_origin(NAME)
    first = connect(origin, PIN, "Inspector")
    second = connect(origin, PIN, "Cursor")
    grants = sorted(listed(deployed), key=lambda g: g["client_name"])  # same second: any order
    assert [g["client_name"] for g in grants] == ["Cursor", "Inspector"]
    assert [g["client_id"] for g in grants] == [second.client_id, first.client_id]
    assert all(g["policy"] == "full" and g["created_at"] > 0 for g in grants)

    table = clients(deployed, "list")
    assert table.exit_code == 0, table.output
    target = grants[1]["grant_id"]  # Inspector's grant: `first`
    assert "Inspector" in table.output and target in table.output
    assert first.client_id not in table.output  # shortened
    stored = grant_values(fake)
    assert len(stored) == 2  # the grant index holds no token hash (the exact state has them)
    assert not [v for v in stored if "hash" in v]
    for output in (table.output, json.dumps(grants)):
        assert "hash" not in output.lower()

    result = clients(deployed, "revoke", "--yes", "--", target)  # ids may start with "-"
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "revoked" in text and "within about 60 s" in text and "10 s" in text
    # The Worker's own marker and TTL: revoked:<grant> for the access token lifetime.
    namespace = fake.kv_namespace_by_title(f"{NAME}-oauth")
    entries = fake.kv_entries(namespace.id)
    marker = entries[f"revoked:{target}"]
    assert marker.expiration is not None and marker.expiration - time.time() > 29 * 24 * 3600
    assert f"grant:{target}" not in entries

    assert wait_for_status(origin, first.access_token, 401) == 401
    assert refresh_status(origin, first) == 400
    assert mcp_status(origin, second.access_token) == 200
    assert refresh_status(origin, second) == 200
    assert [g["client_name"] for g in listed(deployed)] == ["Cursor"]


def test_revoke_all_needs_confirmation(fake, deployed):
    origin = fake.worker_origin(NAME)
    connections = [connect(origin, PIN, f"client {n}") for n in range(3)]
    declined = clients(deployed, "revoke", "--all", input="n\n")
    assert declined.exit_code == 130
    assert "client 0" in declined.output and "client 2" in declined.output
    assert len(listed(deployed)) == 3
    accepted = clients(deployed, "revoke", "--all", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert accepted.output.count("✓ revoked") == 3
    assert listed(deployed) == []
    for connection in connections:
        assert mcp_status(origin, connection.access_token) == 401
    again = clients(deployed, "revoke", "--all", "--yes", "--json")
    assert again.exit_code == 0 and "nothing to revoke" in again.stderr
    assert json.loads(again.stdout) == {"ok": True, "revoked": [], "note": ""}


def test_unknown_grant_and_bad_arguments(fake, deployed):
    connect(fake.worker_origin(NAME), PIN, "only one")
    unknown = clients(deployed, "revoke", "no-such-grant", "--yes")
    assert unknown.exit_code == 1
    assert "no grant 'no-such-grant'" in unknown.output and "hint:" in unknown.output
    assert len(listed(deployed)) == 1
    assert clients(deployed, "revoke", "--yes").exit_code == 2
    assert clients(deployed, "revoke", "x", "--all", "--yes").exit_code == 2


def test_list_json_never_contains_secrets(fake, deployed, upstream):
    origin = fake.worker_origin(NAME)
    connection = connect(origin, PIN, "leak check")
    secrets = fake.script(NAME).secrets()
    result = clients(deployed, "list", "--json")
    assert result.exit_code == 0, result.output
    for secret in (
        PIN,
        secrets["SIGNING_KEY"],
        upstream.pat,
        fake.token,
        connection.access_token,
        connection.refresh_token,
    ):
        assert secret not in result.output


def test_local_store_of_cfmcp_dev(tmp_path):
    """--local lists and revokes in `cfmcp dev`'s SQLite KV, in the Worker's format."""
    import asyncio

    from cfmcp.local.kv import SqliteKvStore

    path = tmp_path / "dev.sqlite3"
    store = SqliteKvStore(path)
    grant = {
        "grant_id": "g1local",
        "client_id": "c" * 40,
        "client_name": "Local Inspector",
        "scope": "mcp",
        "resource": "http://127.0.0.1:8787/mcp",
        "created_at": 1_700_000_000,
        "refresh_hash": "ab" * 32,
        "previous_refresh_hash": "",
        "previous_valid_until": 0,
    }
    asyncio.run(store.put("grant:g1local", json.dumps(grant), ttl=3600))
    store.close()
    config = tmp_path / "cfmcp.toml"  # absent: the default TTL applies
    runner = CliRunner()
    result = runner.invoke(
        app, ["clients", "list", "--local", "--state", str(path), "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert "Local Inspector" in result.output and "2023-11-14" in result.output
    assert "ab" * 32 not in result.output
    revoked = runner.invoke(
        app,
        [
            "clients",
            "revoke",
            "g1",
            "--local",
            "--state",
            str(path),
            "--yes",
            "--config",
            str(config),
        ],
    )
    assert revoked.exit_code == 0, revoked.output
    assert "within 10 s" in revoked.output
    store = SqliteKvStore(path)
    assert asyncio.run(store.get("grant:g1local")) is None
    assert asyncio.run(store.get("revoked:g1local")) == "1"
    store.close()
    missing = runner.invoke(
        app, ["clients", "list", "--local", "--state", str(tmp_path / "nope.sqlite3")]
    )
    assert missing.exit_code == 2 and "cfmcp dev" in missing.output


def test_select_and_parse_grant():
    grants = [GrantInfo("abc123", "c", "A", "mcp", 1), GrantInfo("abd456", "c", "B", "mcp", 2)]
    assert select(grants, "abc123").client_name == "A"
    assert select(grants, "abd").client_name == "B"
    assert select(grants, "ab") is None  # ambiguous
    assert select(grants, "") is None
    assert parse_grant("x", "not json") is None
    assert parse_grant("x", "[1]") is None
    info = parse_grant("x", json.dumps({"client_id": "c", "created_at": 5, "refresh_hash": "h"}))
    assert info == GrantInfo("x", "c", "", "", 5)
    assert "h" not in json.dumps(info.to_json()).replace("created", "")


def test_grant_listing_follows_the_kv_cursor_past_1000_keys():
    """Through the gateway: keys come 1000 per call; values are read for grants only."""
    from cfmcp.account.api import CloudflareApi
    from cfmcp.account.grants import CloudflareKv, list_grants
    from tests.fake_cloudflare.model import KvEntry

    with FakeCloudflare() as fake, CloudflareApi(fake.token, base_url=fake.base_url) as api:
        namespace = api.create_kv_namespace(fake.account_id, "paged-oauth")
        ns = fake.state.kv_namespaces[namespace.id]
        with fake.state.lock:
            for n in range(1003):
                fake.state.kv.put(
                    ns,
                    f"grant:g{n:04d}",
                    KvEntry(
                        json.dumps(
                            {
                                "grant_id": f"g{n:04d}",
                                "client_id": "c",
                                "client_name": f"n{n}",
                                "scope": "mcp",
                                "created_at": n,
                                "refresh_hash": "f" * 64,
                            }
                        ).encode()
                    ),
                )
            fake.state.kv.put(ns, "revoked:old", KvEntry(b"1"))
        fake.calls.clear()
        grants = list_grants(CloudflareKv(api, fake.account_id, namespace.id))
    assert [g.grant_id for g in grants] == [f"g{n:04d}" for n in range(1003)]
    assert fake.calls.count("GET", "/accounts/*/storage/kv/namespaces/*/keys") == 2
    assert fake.calls.count("GET", "/accounts/*/storage/kv/namespaces/*/values/*") == 1003


def call_tool(origin: str, token: str, name: str) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": name}}
    return httpx.post(
        f"{origin}/mcp",
        json=body,
        timeout=15,
        headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"},
    )


def test_set_policy_narrows_a_live_connection_and_never_widens(fake, deployed, upstream):
    origin = fake.worker_origin(NAME)
    connection = connect(origin, PIN, "Claude")
    grant_id = listed(deployed)[0]["grant_id"]
    wider = clients(deployed, "set-policy", grant_id, "no-such-policy")
    assert wider.exit_code == 1 and "no policy 'no-such-policy'" in wider.output

    narrowed = clients(deployed, "set-policy", grant_id[:8], "read-only")
    assert narrowed.exit_code == 0, narrowed.output
    assert "full → read-only" in narrowed.output
    assert listed(deployed)[0]["policy"] == "read-only"
    upstream.recorder.clear()
    deadline = time.monotonic() + 15  # the running Worker caches a grant's status for 10 s
    while (answer := call_tool(origin, connection.access_token, "write_note")).status_code == 200:
        if "error" in answer.json() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert answer.json()["error"]["data"] == {"policy": "read-only", "tool": "write_note"}
    calls = [s for s in upstream.recorder.snapshot() if s.method == "POST"]
    assert len(calls) <= 1  # at most the Worker's own tools/list, never the refused call

    again = clients(deployed, "set-policy", grant_id, "full")
    assert again.exit_code == 1 and "widening needs the PIN" in again.output
    refreshed = token_request(
        origin,
        {
            "grant_type": "refresh_token",
            "refresh_token": connection.refresh_token,
            "client_id": connection.client_id,
        },
    )
    assert refreshed.status_code == 200 and refreshed.json()["scope"] == "mcp:read-only"
