"""The fake Cloudflare API, driven with the real `cloudflare` SDK (and wrangler's recorded
requests), so deploy tests can trust what it accepts and rejects."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cloudflare
import httpx
import pytest
from cloudflare import Cloudflare

from tests.fake_cloudflare import (
    OTHER_ACCOUNT_ID,
    REDACTED,
    WORKERS_KV_READ,
    WORKERS_SCRIPTS_EDIT,
    Account,
    FakeCloudflare,
    KvNamespace,
    Seed,
    Token,
    Zone,
)
from tests.fake_cloudflare.fixtures import (  # noqa: F401 - pytest fixtures
    fake_cloudflare,
    fake_cloudflare_workers,
)
from tests.support.oauth import obtain_tokens_over_http

REFERENCE = Path("/work/shared/reference")
FAKE_PIN = "FAKE-PIN-00000000"
FAKE_PAT = "FAKE-upstream-pat-not-a-real-token"
FAKE_SIGNING_KEY = "FAKE-signing-key-0000000000000000000000"
PY = "text/x-python"

POLICY_SCOPES = ["mcp:full", "mcp:read-only"]  # the built-in policies' scopes


@pytest.fixture
def fake(fake_cloudflare: FakeCloudflare) -> FakeCloudflare:  # noqa: F811 - fixture chain
    return fake_cloudflare


@pytest.fixture
def client(fake: FakeCloudflare) -> Cloudflare:
    return Cloudflare(api_token=fake.token, base_url=fake.base_url, max_retries=0)


def metadata(**overrides: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "main_module": "entry.py",
        "compatibility_date": "2026-03-01",
        "compatibility_flags": ["python_workers"],
        "bindings": [{"type": "plain_text", "name": "CFMCP_BUNDLE_SHA256", "text": "ab" * 32}],
    }
    meta.update(overrides)
    return meta


ENTRY = b"""from cfmcp_worker import app
from workers import WorkerEntrypoint, Response


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response(str(app.X))
"""
MODULES = [
    ("entry.py", ENTRY, PY),
    ("cfmcp_worker/__init__.py", b"", PY),
    ("cfmcp_worker/app.py", b"import json\r\nX = 1\r\n", PY),
]


def upload(
    client: Cloudflare,
    fake: FakeCloudflare,
    name: str = "mcp-front",
    *,
    files: list[tuple[str, bytes, str]] | None = None,
    **meta: Any,
) -> Any:
    return client.workers.scripts.update(
        name,
        account_id=fake.account_id,
        metadata=metadata(**meta),  # type: ignore[arg-type]
        files=files if files is not None else MODULES,
    )


def error_code(exc: cloudflare.APIStatusError) -> int:
    return exc.response.json()["errors"][0]["code"]


# -- tokens, accounts, auth ---------------------------------------------------------------


def test_verify_user_token_and_list_accounts(fake: FakeCloudflare, client: Cloudflare) -> None:
    verified = client.user.tokens.verify()
    assert verified is not None and verified.status == "active"
    assert [a.id for a in client.accounts.list()] == [fake.account_id]  # not OTHER_ACCOUNT_ID
    call = fake.calls.find("GET", "/user/tokens/verify")[0]
    assert call.authorization and call.token_id == "fake-token-id-full" and call.status == 200
    assert fake.token not in repr(list(fake.calls))


def test_account_owned_token_verifies_only_on_the_account_endpoint(fake: FakeCloudflare) -> None:
    fake.add_token("FAKE-account-owned-token", owner="account")
    account_client = Cloudflare(
        api_token="FAKE-account-owned-token", base_url=fake.base_url, max_retries=0
    )
    with pytest.raises(cloudflare.AuthenticationError) as info:
        account_client.user.tokens.verify()
    assert error_code(info.value) == 1000
    verified = account_client.accounts.tokens.verify(account_id=fake.account_id)
    assert verified is not None and verified.status == "active"


def test_unknown_and_malformed_tokens(fake: FakeCloudflare) -> None:
    bad = Cloudflare(api_token="FAKE-no-such-token", base_url=fake.base_url, max_retries=0)
    with pytest.raises(cloudflare.AuthenticationError) as info:
        bad.user.tokens.verify()
    assert error_code(info.value) == 1000
    with pytest.raises(cloudflare.AuthenticationError) as info:
        bad.kv.namespaces.create(account_id=fake.account_id, title="x")
    assert error_code(info.value) == 10001
    response = httpx.get(
        f"{fake.base_url}/accounts", headers={"Authorization": "Bearer has spaces in it"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["error_chain"][0]["code"] == 6111
    response = httpx.get(f"{fake.base_url}/accounts")
    assert response.status_code == 400 and response.json()["success"] is False
    assert fake.calls[-1].authorization is False


def test_global_key_env_vars_take_over_the_token_and_fail(
    fake: FakeCloudflare, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DESIGN §4 pitfall: the SDK prefers CLOUDFLARE_EMAIL/CLOUDFLARE_API_KEY over api_token;
    the fake knows no global keys, so a client that does not clear them fails visibly."""
    monkeypatch.setenv("CLOUDFLARE_EMAIL", "someone@example.com")
    monkeypatch.setenv("CLOUDFLARE_API_KEY", "FAKE-global-key")
    naive = Cloudflare(api_token=fake.token, base_url=fake.base_url, max_retries=0)
    with pytest.raises(cloudflare.BadRequestError) as info:
        naive.accounts.list()
    assert error_code(info.value) == 6003
    assert fake.calls[-1].authorization is False
    naive.api_key = naive.api_email = None  # what cfmcp's gateway must do
    assert [a.id for a in naive.accounts.list()] == [fake.account_id]


@pytest.mark.parametrize("status", ["disabled", "expired"])
def test_inactive_tokens(fake: FakeCloudflare, status: str) -> None:
    fake.add_token(f"FAKE-{status}-token", status=status)
    inactive = Cloudflare(api_token=f"FAKE-{status}-token", base_url=fake.base_url, max_retries=0)
    verified = inactive.user.tokens.verify()
    assert verified is not None and verified.status == status
    with pytest.raises(cloudflare.AuthenticationError):
        inactive.accounts.list()


def test_missing_permission_and_foreign_account_are_403(fake: FakeCloudflare) -> None:
    fake.add_token("FAKE-read-only-kv", permissions={WORKERS_KV_READ})
    limited = Cloudflare(api_token="FAKE-read-only-kv", base_url=fake.base_url, max_retries=0)
    assert list(limited.kv.namespaces.list(account_id=fake.account_id)) == []
    with pytest.raises(cloudflare.PermissionDeniedError) as info:
        limited.kv.namespaces.create(account_id=fake.account_id, title="oauth")
    assert info.value.status_code == 403
    assert info.value.response.json()["errors"] == [
        {"code": 10000, "message": "Authentication error"}
    ]
    with pytest.raises(cloudflare.PermissionDeniedError):
        limited.workers.scripts.list(account_id=fake.account_id)
    full = Cloudflare(api_token=fake.token, base_url=fake.base_url, max_retries=0)
    with pytest.raises(cloudflare.PermissionDeniedError):
        full.kv.namespaces.list(account_id=OTHER_ACCOUNT_ID)
    assert fake.state.namespaces_in(fake.account_id) == []


def test_zone_permissions_are_separate(fake: FakeCloudflare) -> None:
    fake.add_token("FAKE-scripts-only", permissions={WORKERS_SCRIPTS_EDIT})
    scripts_only = Cloudflare(api_token="FAKE-scripts-only", base_url=fake.base_url, max_retries=0)
    upload(scripts_only, fake)
    assert list(scripts_only.zones.list(name=fake.zone_name)) == []
    with pytest.raises(cloudflare.PermissionDeniedError):
        scripts_only.workers.domains.update(
            account_id=fake.account_id, hostname="mcp.example.com", service="mcp-front"
        )
    with pytest.raises(cloudflare.PermissionDeniedError):
        scripts_only.workers.routes.create(
            zone_id=fake.zone_id, pattern="example.com/*", script="mcp-front"
        )


# -- KV -----------------------------------------------------------------------------------


def test_kv_namespaces_create_list_paginate_duplicate_delete(
    fake: FakeCloudflare, client: Cloudflare
) -> None:
    created = client.kv.namespaces.create(account_id=fake.account_id, title="cfmcp-oauth")
    assert created.title == "cfmcp-oauth" and len(created.id) == 32
    with pytest.raises(cloudflare.BadRequestError) as info:
        client.kv.namespaces.create(account_id=fake.account_id, title="cfmcp-oauth")
    assert error_code(info.value) == 10014
    assert "already exists" in info.value.response.json()["errors"][0]["message"]
    for i in range(24):
        client.kv.namespaces.create(account_id=fake.account_id, title=f"ns-{i:02d}")
    titles = [ns.title for ns in client.kv.namespaces.list(account_id=fake.account_id)]
    assert len(titles) == 25 and titles[0] == "cfmcp-oauth"
    page = httpx.get(
        f"{fake.base_url}/accounts/{fake.account_id}/storage/kv/namespaces",
        params={"page": 2, "per_page": 10},
        headers={"Authorization": f"Bearer {fake.token}"},
    ).json()
    assert page["result_info"] == {
        "page": 2,
        "per_page": 10,
        "count": 10,
        "total_count": 25,
        "total_pages": 3,
    }
    client.kv.namespaces.delete(created.id, account_id=fake.account_id)
    assert fake.kv_namespace_by_title("cfmcp-oauth") is None
    with pytest.raises(cloudflare.NotFoundError):
        client.kv.namespaces.delete(created.id, account_id=fake.account_id)


def test_kv_keys_values(fake: FakeCloudflare, client: Cloudflare) -> None:
    ns = client.kv.namespaces.create(account_id=fake.account_id, title="oauth").id
    kv = client.kv.namespaces
    for i in range(25):
        kv.values.update(
            f"client:{i:02d}",
            account_id=fake.account_id,
            namespace_id=ns,
            value=json.dumps({"n": i}).encode(),
            metadata={"n": i},
        )
    kv.values.update(
        "grant/with slash",
        account_id=fake.account_id,
        namespace_id=ns,
        value=b"\x00binary\xff",
        expiration_ttl=3600,
    )
    names = [
        k.name
        for k in kv.keys.list(
            account_id=fake.account_id, namespace_id=ns, prefix="client:", limit=10
        )
    ]
    assert names == [f"client:{i:02d}" for i in range(25)]  # three cursor pages
    assert fake.calls.count("GET", "*/keys") == 3
    keys = {k.name: k for k in kv.keys.list(account_id=fake.account_id, namespace_id=ns)}
    assert keys["client:03"].metadata == {"n": 3}
    assert keys["grant/with slash"].expiration is not None
    value = kv.values.get("grant/with slash", account_id=fake.account_id, namespace_id=ns)
    assert value.read() == b"\x00binary\xff"
    kv.values.delete("client:00", account_id=fake.account_id, namespace_id=ns)
    with pytest.raises(cloudflare.NotFoundError) as info:
        kv.values.get("client:00", account_id=fake.account_id, namespace_id=ns)
    assert error_code(info.value) == 10009
    with pytest.raises(cloudflare.BadRequestError):
        kv.values.update(
            "short", account_id=fake.account_id, namespace_id=ns, value=b"x", expiration_ttl=30
        )
    with pytest.raises(cloudflare.NotFoundError):
        kv.keys.list(account_id=fake.account_id, namespace_id="0" * 32)
    # a raw (non-multipart) value write, as the REST docs also allow
    response = httpx.put(
        f"{fake.base_url}/accounts/{fake.account_id}/storage/kv/namespaces/{ns}/values/raw",
        content=b"raw-bytes",
        headers={"Authorization": f"Bearer {fake.token}"},
    )
    assert response.status_code == 200
    assert fake.kv_entries(ns)["raw"].value == b"raw-bytes"
    assert fake.calls[-1].body == {"size": 9}


# -- scripts --------------------------------------------------------------------------------


def test_script_upload_exactly_as_the_sdk_sends_it(
    fake: FakeCloudflare, client: Cloudflare
) -> None:
    ns = client.kv.namespaces.create(account_id=fake.account_id, title="oauth").id
    result = upload(
        client,
        fake,
        bindings=[
            {"type": "plain_text", "name": "CFMCP_BUNDLE_SHA256", "text": "cd" * 32},
            {"type": "kv_namespace", "name": "OAUTH_KV", "namespace_id": ns},
            {"type": "secret_text", "name": "SIGNING_KEY", "text": FAKE_SIGNING_KEY},
        ],
    )
    assert result.id == "mcp-front" and result.startup_time_ms >= 0 and result.etag
    script = fake.script("mcp-front")
    assert script is not None and script.main_module == "entry.py"
    assert [(m.name, m.content, m.content_type) for m in script.modules] == MODULES
    assert fake.plain_text("mcp-front", "CFMCP_BUNDLE_SHA256") == "cd" * 32
    assert fake.secret_names("mcp-front") == ["SIGNING_KEY"]
    call = fake.calls.find("PUT", "/accounts/*/workers/scripts/mcp-front")[0]
    assert [p["name"] for p in call.body["parts"]] == ["files"] * 3
    assert [p["filename"] for p in call.body["parts"]] == [m[0] for m in MODULES]
    assert call.body["metadata"]["bindings"][2]["text"] == REDACTED
    assert FAKE_SIGNING_KEY not in repr(list(fake.calls))

    settings = client.workers.scripts.script_and_version_settings.get(
        "mcp-front", account_id=fake.account_id
    )
    shown = {b.name: b for b in settings.bindings or []}
    assert shown["CFMCP_BUNDLE_SHA256"].text == "cd" * 32  # type: ignore[union-attr]
    assert shown["OAUTH_KV"].namespace_id == ns  # type: ignore[union-attr]
    assert shown["SIGNING_KEY"].type == "secret_text"
    assert not hasattr(shown["SIGNING_KEY"], "text")
    assert FAKE_SIGNING_KEY not in fake.calls[-1].__repr__()
    assert (
        client.workers.scripts.settings.get("mcp-front", account_id=fake.account_id).logpush
        is False
    )
    assert [s.id for s in client.workers.scripts.list(account_id=fake.account_id)] == ["mcp-front"]
    content = client.workers.scripts.get("mcp-front", account_id=fake.account_id)
    assert "X = 1" in content and 'name="cfmcp_worker/app.py"' in content
    client.workers.scripts.delete("mcp-front", account_id=fake.account_id)
    with pytest.raises(cloudflare.NotFoundError) as info:
        client.workers.scripts.script_and_version_settings.get(
            "mcp-front", account_id=fake.account_id
        )
    assert error_code(info.value) == 10007
    assert not fake.unexpected_calls()


def _tomorrow() -> str:
    return (datetime.now(UTC).date() + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("name", "meta", "files", "code", "fragment"),
    [
        ("mcp-front", {"main_module": "main.py"}, None, 10021, 'No such module "main.py"'),
        ("mcp-front", {"main_module": None}, None, 10021, "main_module is required"),
        (
            "mcp-front",
            {},
            [("entry.py", b"x", "application/javascript+module")],
            10021,
            "text/x-python",
        ),
        ("mcp-front", {}, [("entry.py", b"x", "text/html")], 10021, "unsupported Content-Type"),
        ("mcp-front", {"compatibility_flags": []}, None, 10021, "python_workers"),
        ("mcp-front", {"compatibility_date": "2026-3-1"}, None, 10021, "compatibility_date"),
        ("mcp-front", {"compatibility_date": "2026-02-30"}, None, 10021, "not a valid date"),
        ("mcp-front", {"compatibility_date": "FUTURE"}, None, 10021, "in the future"),
        (
            "mcp-front",
            {"bindings": [{"type": "kv_namespace", "name": "OAUTH_KV", "namespace_id": "f" * 32}]},
            None,
            10041,
            "not valid",
        ),
        (
            "mcp-front",
            {"bindings": [{"type": "r2_bucket", "name": "B", "bucket_name": "b"}]},
            None,
            10021,
            "not supported",
        ),
        (
            "mcp-front",
            {
                "bindings": [
                    {"type": "plain_text", "name": "A", "text": "1"},
                    {"type": "plain_text", "name": "A", "text": "2"},
                ]
            },
            None,
            10021,
            "more than once",
        ),
        (
            "mcp-front",
            {"bindings": [{"type": "plain_text", "name": "A"}]},
            None,
            10021,
            "string 'text'",
        ),
        ("mcp-front", {}, [*MODULES, ("../escape.py", b"", PY)], 10021, "Invalid module name"),
        (
            "mcp-front",
            {},
            [MODULES[0], MODULES[1], ("cfmcp_worker/app.py", b"def (:", PY)],
            10021,
            "Uncaught SyntaxError",
        ),
        (
            "mcp-front",
            {},
            [MODULES[0], MODULES[1], ("cfmcp_worker/app.py", b"import httpx\nX = 1\n", PY)],
            10021,
            "No module named 'httpx'",
        ),
        ("mcp-front", {}, MODULES[1:], 10021, 'No such module "entry.py"'),
        ("Upper-Case", {}, None, 10016, "Invalid Worker name"),
        ("ends-with-dash-", {}, None, 10016, "Invalid Worker name"),
        ("x" * 64, {}, None, 10016, "too long"),
    ],
)
def test_upload_validation(
    fake: FakeCloudflare,
    client: Cloudflare,
    name: str,
    meta: dict[str, Any],
    files: list | None,
    code: int,
    fragment: str,
) -> None:
    if meta.get("compatibility_date") == "FUTURE":
        meta = {**meta, "compatibility_date": _tomorrow()}
    with pytest.raises(cloudflare.BadRequestError) as info:
        upload(client, fake, name, files=files, **meta)
    assert error_code(info.value) == code
    assert fragment in info.value.response.json()["errors"][0]["message"]
    assert fake.state.scripts == {}


def test_upload_accepts_the_longest_legal_name_and_todays_date(
    fake: FakeCloudflare, client: Cloudflare
) -> None:
    name = "a" + "-_0" * 20 + "z"
    assert len(name) == 62
    upload(client, fake, name + "9", compatibility_date=datetime.now(UTC).date().isoformat())
    assert fake.script(name + "9") is not None


def test_upload_needs_multipart_and_metadata(fake: FakeCloudflare) -> None:
    url = f"{fake.base_url}/accounts/{fake.account_id}/workers/scripts/mcp-front"
    auth = {"Authorization": f"Bearer {fake.token}"}
    response = httpx.put(url, json={"main_module": "entry.py"}, headers=auth)
    assert response.status_code == 400
    response = httpx.put(url, files=[("files", ("entry.py", b"x", PY))], headers=auth)
    assert response.status_code == 400
    assert "metadata" in response.json()["errors"][0]["message"]


def test_keep_bindings_keeps_secrets_and_each_secret_change_is_a_version(
    fake: FakeCloudflare, client: Cloudflare
) -> None:
    upload(client, fake)
    secrets = client.workers.scripts.secrets
    for name, text in (("UPSTREAM_TOKEN", FAKE_PAT), ("AUTH_PIN", FAKE_PIN)):
        created = secrets.update(
            "mcp-front", account_id=fake.account_id, name=name, text=text, type="secret_text"
        )
        assert created is not None and created.name == name
    script = fake.script("mcp-front")
    assert script is not None and len(script.versions) == 3
    assert sorted(s.name for s in secrets.list("mcp-front", account_id=fake.account_id)) == [
        "AUTH_PIN",
        "UPSTREAM_TOKEN",
    ]
    got = secrets.get("AUTH_PIN", account_id=fake.account_id, script_name="mcp-front")
    assert got is not None and got.name == "AUTH_PIN" and not hasattr(got, "text")

    upload(client, fake, keep_bindings=["secret_text"])
    assert fake.secret_names("mcp-front") == ["AUTH_PIN", "UPSTREAM_TOKEN"]
    upload(client, fake)  # no keep_bindings: Cloudflare drops bindings not sent again
    assert fake.secret_names("mcp-front") == []

    secrets.update(
        "mcp-front", account_id=fake.account_id, name="AUTH_PIN", text=FAKE_PIN, type="secret_text"
    )
    secrets.delete("AUTH_PIN", account_id=fake.account_id, script_name="mcp-front")
    assert fake.secret_names("mcp-front") == []
    with pytest.raises(cloudflare.NotFoundError):
        secrets.delete("AUTH_PIN", account_id=fake.account_id, script_name="mcp-front")
    with pytest.raises(cloudflare.NotFoundError) as info:
        secrets.update(
            "no-such-worker",
            account_id=fake.account_id,
            name="AUTH_PIN",
            text=FAKE_PIN,
            type="secret_text",
        )
    assert error_code(info.value) == 10007
    for call in fake.calls.find("PUT", "*/secrets"):
        assert call.body["text"] == REDACTED
    log = repr(list(fake.calls))
    assert FAKE_PIN not in log and FAKE_PAT not in log


def test_workers_dev_subdomain(fake: FakeCloudflare, client: Cloudflare) -> None:
    assert client.workers.subdomains.get(account_id=fake.account_id).subdomain == "fake-subdomain"
    upload(client, fake)
    assert (
        client.workers.scripts.subdomain.get("mcp-front", account_id=fake.account_id).enabled
        is False
    )
    enabled = client.workers.scripts.subdomain.create(
        "mcp-front", account_id=fake.account_id, enabled=True
    )
    assert enabled.enabled is True
    assert fake.script("mcp-front").subdomain_enabled  # type: ignore[union-attr]
    with pytest.raises(cloudflare.NotFoundError):
        client.workers.scripts.subdomain.create("absent", account_id=fake.account_id, enabled=True)


def test_account_without_workers_subdomain() -> None:
    seed = Seed(
        accounts=[Account("acc-no-sub", "Fake")],
        zones=[],
        tokens=[Token("FAKE-token-no-sub", "t1")],
        workers_subdomains={},
    )
    with FakeCloudflare(seed=seed) as fake:
        assert (fake.account_id, fake.token) == ("acc-no-sub", "FAKE-token-no-sub")
        client = Cloudflare(api_token=fake.token, base_url=fake.base_url, max_retries=0)
        with pytest.raises(cloudflare.NotFoundError):
            client.workers.subdomains.get(account_id="acc-no-sub")
        client.workers.subdomains.update(account_id="acc-no-sub", subdomain="fresh")
        assert client.workers.subdomains.get(account_id="acc-no-sub").subdomain == "fresh"


def test_custom_domains(fake: FakeCloudflare, client: Cloudflare) -> None:
    with pytest.raises(cloudflare.NotFoundError):
        client.workers.domains.update(
            account_id=fake.account_id,
            hostname="mcp.example.com",
            service="mcp-front",
            zone_id=fake.zone_id,
        )
    upload(client, fake)
    upload(client, fake, "other-worker")
    domain = client.workers.domains.update(
        account_id=fake.account_id,
        hostname="mcp.example.com",
        service="mcp-front",
        zone_id=fake.zone_id,
    )
    assert (domain.zone_name, domain.service, domain.environment) == (
        "example.com",
        "mcp-front",
        "production",
    )
    again = client.workers.domains.update(
        account_id=fake.account_id,
        hostname="mcp.example.com",
        service="mcp-front",
        zone_name="example.com",
    )
    assert again.id == domain.id
    with pytest.raises(cloudflare.ConflictError):
        client.workers.domains.update(
            account_id=fake.account_id, hostname="mcp.example.com", service="other-worker"
        )
    with pytest.raises(cloudflare.NotFoundError):
        client.workers.domains.update(
            account_id=fake.account_id, hostname="mcp.elsewhere.org", service="mcp-front"
        )
    with pytest.raises(cloudflare.BadRequestError):
        client.workers.domains.update(
            account_id=fake.account_id,
            hostname="mcp.elsewhere.org",
            service="mcp-front",
            zone_id=fake.zone_id,
        )
    listed = list(
        client.workers.domains.list(account_id=fake.account_id, hostname="mcp.example.com")
    )
    assert [d.id for d in listed] == [domain.id]
    assert (
        client.workers.domains.get(domain.id, account_id=fake.account_id).hostname
        == "mcp.example.com"
    )
    client.workers.domains.delete(domain.id, account_id=fake.account_id)
    assert list(client.workers.domains.list(account_id=fake.account_id)) == []


def test_zones_and_routes(fake: FakeCloudflare, client: Cloudflare) -> None:
    zones = list(client.zones.list(name="example.com"))
    assert [z.id for z in zones] == [fake.zone_id]
    assert list(client.zones.list(name="mcp.example.com")) == []
    assert [z.name for z in client.zones.list(name="contains:ample")] == ["example.com"]
    with pytest.raises(cloudflare.NotFoundError):
        client.workers.routes.create(
            zone_id=fake.zone_id, pattern="api.example.com/mcp*", script="mcp-front"
        )
    upload(client, fake)
    route = client.workers.routes.create(
        zone_id=fake.zone_id, pattern="api.example.com/mcp*", script="mcp-front"
    )
    assert route.script == "mcp-front"
    with pytest.raises(cloudflare.ConflictError):
        client.workers.routes.create(
            zone_id=fake.zone_id, pattern="api.example.com/mcp*", script="mcp-front"
        )
    with pytest.raises(cloudflare.BadRequestError):
        client.workers.routes.create(
            zone_id=fake.zone_id, pattern="api.other.org/*", script="mcp-front"
        )
    assert [r.id for r in client.workers.routes.list(zone_id=fake.zone_id)] == [route.id]
    client.workers.routes.delete(route.id, zone_id=fake.zone_id)
    assert list(client.workers.routes.list(zone_id=fake.zone_id)) == []
    with pytest.raises(cloudflare.NotFoundError):
        client.workers.routes.list(zone_id="f" * 32)


def test_unknown_endpoint_is_a_404_and_recorded(fake: FakeCloudflare, client: Cloudflare) -> None:
    with pytest.raises(cloudflare.NotFoundError):
        client.workers.scripts.versions.list("mcp-front", account_id=fake.account_id)
    unexpected = fake.unexpected_calls()
    assert [(c.method, c.path) for c in unexpected] == [
        ("GET", f"/accounts/{fake.account_id}/workers/scripts/mcp-front/versions")
    ]
    response = httpx.get(f"{fake.origin}/not-the-api")
    assert response.status_code == 404 and response.json()["success"] is False
    assert len(fake.unexpected_calls()) == 2


# -- faults, latency, concurrency, persistence ---------------------------------------------


def test_fault_5xx_at_the_nth_call_and_sdk_retry(fake: FakeCloudflare) -> None:
    no_retry = Cloudflare(api_token=fake.token, base_url=fake.base_url, max_retries=0)
    fault = fake.inject_fault("POST", "/accounts/*/storage/kv/namespaces", status=503, nth=2)
    no_retry.kv.namespaces.create(account_id=fake.account_id, title="first")
    with pytest.raises(cloudflare.InternalServerError) as info:
        no_retry.kv.namespaces.create(account_id=fake.account_id, title="second")
    assert info.value.status_code == 503 and fault.fired == 1
    assert fake.kv_namespace_by_title("second") is None
    no_retry.kv.namespaces.create(account_id=fake.account_id, title="second")
    assert [c.fault for c in fake.calls] == [None, "status:503", None]

    fake.inject_fault("GET", "/accounts", status=500)
    retrying = Cloudflare(api_token=fake.token, base_url=fake.base_url, max_retries=2)
    assert [a.id for a in retrying.accounts.list()] == [fake.account_id]
    assert [c.status for c in fake.calls.find("GET", "/accounts")][:2] == [500, 200]


def test_fault_429_with_retry_after(fake: FakeCloudflare) -> None:
    fake.inject_fault("GET", "/user/tokens/verify", status=429, retry_after=0.2)
    no_retry = Cloudflare(api_token=fake.token, base_url=fake.base_url, max_retries=0)
    with pytest.raises(cloudflare.RateLimitError) as info:
        no_retry.user.tokens.verify()
    assert info.value.response.headers["retry-after"] == "0.2"
    assert error_code(info.value) == 971
    fake.inject_fault("GET", "/user/tokens/verify", status=429, retry_after=0.3)
    retrying = Cloudflare(api_token=fake.token, base_url=fake.base_url, max_retries=1)
    started = time.monotonic()
    assert retrying.user.tokens.verify() is not None
    assert time.monotonic() - started >= 0.3


def test_fault_timeout_and_drop(fake: FakeCloudflare) -> None:
    client = Cloudflare(api_token=fake.token, base_url=fake.base_url, max_retries=0, timeout=0.3)
    fake.inject_fault("PUT", "/accounts/*/workers/scripts/*", kind="timeout", delay=1.0)
    with pytest.raises(cloudflare.APITimeoutError):
        upload(client, fake)
    assert fake.script("mcp-front") is None
    fake.inject_fault("PUT", "/accounts/*/workers/scripts/*", kind="drop", apply=True)
    with pytest.raises(cloudflare.APIConnectionError):
        upload(client, fake)
    assert fake.script("mcp-front") is not None  # applied; only the answer was lost
    assert [c.fault for c in fake.calls.find("PUT")] == ["timeout", "drop"]


def test_latency(fake: FakeCloudflare, client: Cloudflare) -> None:
    fake.set_latency(0.1)
    started = time.monotonic()
    client.user.tokens.verify()
    client.accounts.list()
    assert time.monotonic() - started >= 0.2
    fake.set_latency(0)


def test_concurrent_requests(fake: FakeCloudflare) -> None:
    fake.set_latency(0.2)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            client = Cloudflare(api_token=fake.token, base_url=fake.base_url, max_retries=0)
            client.kv.namespaces.create(account_id=fake.account_id, title=f"ns-{i}")
            upload(client, fake, f"worker-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(10)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert time.monotonic() - started < 2.0  # 20 calls x 0.2 s would take 4 s serially
    assert len(fake.state.scripts) == 10 and len(fake.state.kv_namespaces) == 10


def test_state_persists_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "fake-cf.json"
    with FakeCloudflare(state_path=path) as fake:
        client = Cloudflare(api_token=fake.token, base_url=fake.base_url, max_retries=0)
        ns = client.kv.namespaces.create(account_id=fake.account_id, title="oauth").id
        client.kv.namespaces.values.update(
            "k", account_id=fake.account_id, namespace_id=ns, value=b"\x01\x02"
        )
        upload(
            client,
            fake,
            bindings=[{"type": "kv_namespace", "name": "OAUTH_KV", "namespace_id": ns}],
        )
        client.workers.scripts.secrets.update(
            "mcp-front",
            account_id=fake.account_id,
            name="AUTH_PIN",
            text=FAKE_PIN,
            type="secret_text",
        )
    with FakeCloudflare(state_path=path) as again:
        client = Cloudflare(api_token=again.token, base_url=again.base_url, max_retries=0)
        assert [n.title for n in client.kv.namespaces.list(account_id=again.account_id)] == [
            "oauth"
        ]
        assert (
            client.kv.namespaces.values.get(
                "k", account_id=again.account_id, namespace_id=ns
            ).read()
            == b"\x01\x02"
        )
        script = again.script("mcp-front")
        assert script is not None and script.modules[2].content == b"import json\r\nX = 1\r\n"
        assert again.secret_names("mcp-front") == ["AUTH_PIN"]
        assert len(again.calls) == 3


# -- wrangler's recorded requests -----------------------------------------------------------


def _replay_seed() -> Seed:
    return Seed(
        accounts=[Account("acc1", "Fake Account")],
        zones=[Zone("zone1", "example.com", "acc1")],
        tokens=[Token("FAKE-wrangler-token", "wrangler-token")],
        workers_subdomains={"acc1": "fake-subdomain"},
        kv_namespaces=[KvNamespace("kv123", "existing-oauth-kv", "acc1")],
    )


def _replay(fake: FakeCloudflare, recording: str) -> list[httpx.Response]:
    boundary = "----fakeReplayBoundary7MA4YWxkTrZu0gW"
    responses = []
    with httpx.Client(base_url=fake.base_url) as http:
        for item in json.loads((REFERENCE / recording).read_text()):
            headers = {k: v.replace("<boundary>", boundary) for k, v in item["headers"].items()}
            headers["authorization"] = "Bearer FAKE-wrangler-token"
            body = item["body"].replace("<boundary>", boundary).encode()
            responses.append(
                http.request(
                    item["method"], item["path"].lstrip("/"), content=body, headers=headers
                )
            )
    return responses


@pytest.fixture
def replay_fake() -> Iterator[FakeCloudflare]:
    if not REFERENCE.is_dir():
        pytest.skip("no wrangler reference recordings on this machine")
    with FakeCloudflare(seed=_replay_seed()) as fake:
        yield fake


def test_wrangler_deploy_workers_dev_replay(replay_fake: FakeCloudflare) -> None:
    responses = _replay(replay_fake, "wrangler-4.60-deploy-python-workers-dev.json")
    statuses = [(c.method, c.path.split("/")[-1], c.status) for c in replay_fake.calls]
    # A new Worker: the existence checks are 404s (wrangler expects 10090/10007), rest 200.
    assert [r.status_code for r in responses] == [404, 404, 404, 200, 200, 200, 200], statuses
    assert responses[0].json()["errors"][0]["code"] == 10090
    assert not replay_fake.unexpected_calls()
    script = replay_fake.state.find_script("acc1", "cf-oauth-mcp-proxy")
    assert script is not None and script.subdomain_enabled
    assert [(m.name, m.content_type) for m in script.modules] == [
        ("entry.py", PY),
        ("helper.py", PY),
    ]
    assert script.modules[1].content == b"X = 1\n"
    assert {b["name"]: b for b in script.bindings}["OAUTH_KV"]["namespace_id"] == "kv123"
    # A second deploy finds the Worker through wrangler's existence checks.
    again = _replay(replay_fake, "wrangler-4.60-deploy-python-workers-dev.json")
    assert [r.status_code for r in again] == [200] * 7


def test_wrangler_custom_domain_route_kv_and_secrets_replay(replay_fake: FakeCloudflare) -> None:
    responses = _replay(replay_fake, "wrangler-4.60-deploy-python-custom-domain-and-route.json")
    codes = [r.status_code for r in responses]
    assert codes == [404, 404, 404, 200, 200, 200, 200, 200, 200, 200, 200], codes
    assert responses[6].json()["result"] == []  # no zone called mcp.example.com
    assert [z["id"] for z in responses[7].json()["result"]] == ["zone1"]
    state = replay_fake.state
    assert [(r.pattern, r.script) for r in state.routes.values()] == [
        ("api.example.com/mcp*", "cf-oauth-mcp-proxy")
    ]
    assert [(d.hostname, d.service, d.zone_id) for d in state.domains.values()] == [
        ("mcp.example.com", "cf-oauth-mcp-proxy", "zone1")
    ]
    responses = _replay(replay_fake, "wrangler-4.60-kv-and-secrets.json")
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert responses[2].json()["result"] == [{"name": "AUTH_PIN", "type": "secret_text"}]
    assert replay_fake.account_id == "acc1"
    assert replay_fake.kv_namespace_by_title("github-mcp-oauth") is not None
    assert "EXAMPLEPIN1" not in repr(list(replay_fake.calls))
    assert not replay_fake.unexpected_calls()


# -- running what was uploaded ----------------------------------------------------------------


def _bundle(scopes: list[str]) -> Any:
    from cfmcp.project.config import ProjectConfig
    from cfmcp.worker.render import render_bundle

    config = ProjectConfig(name="fake-cf-run")
    config.upstream.url = "http://127.0.0.1:9/mcp"
    config.oauth.scopes = scopes
    return render_bundle(config.validate())


def _upload_bundle(client: Cloudflare, fake: FakeCloudflare, bundle: Any, **meta: Any) -> None:
    files = [(name, data, PY) for name, data in sorted(bundle.modules.items())]
    upload(client, fake, "mcp-front", files=files, main_module=bundle.main_module, **meta)


def _put_secrets(client: Cloudflare, fake: FakeCloudflare) -> None:
    for name, text in (
        ("UPSTREAM_TOKEN", FAKE_PAT),
        ("AUTH_PIN", FAKE_PIN),
        ("SIGNING_KEY", FAKE_SIGNING_KEY),
    ):
        client.workers.scripts.secrets.update(
            "mcp-front", account_id=fake.account_id, name=name, text=text, type="secret_text"
        )


@pytest.fixture
def worker_fake(fake_cloudflare_workers: FakeCloudflare) -> FakeCloudflare:  # noqa: F811
    return fake_cloudflare_workers


def test_uploaded_bundle_is_served_at_a_stable_origin(
    worker_fake: FakeCloudflare, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = worker_fake
    monkeypatch.setenv("FAKE_UNRELATED_TEST_SECRET", "must-not-reach-the-worker")
    client = Cloudflare(api_token=fake.token, base_url=fake.base_url, max_retries=0)
    origin = fake.worker_origin("mcp-front")  # known before the first upload
    assert httpx.get(origin + "/").status_code == 503

    _upload_bundle(client, fake, _bundle(["mcp"]))
    waiting = httpx.get(origin + "/")
    assert waiting.status_code == 503 and "UPSTREAM_TOKEN" in waiting.text
    _put_secrets(client, fake)
    metadata_url = origin + "/.well-known/oauth-authorization-server"
    served = httpx.get(metadata_url)
    assert served.status_code == 200, fake.workers.process_log(fake.account_id, "mcp-front")
    assert served.json()["issuer"] == origin
    assert served.json()["scopes_supported"] == ["mcp", *POLICY_SCOPES]

    pid = fake.workers.process_pid(fake.account_id, "mcp-front")
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert f"CFMCP_PIN={FAKE_PIN}".encode() in environ
    assert f"CFMCP_UPSTREAM_TOKEN={FAKE_PAT}".encode() in environ
    assert not any(e.startswith(b"FAKE_UNRELATED_TEST_SECRET=") for e in environ)
    assert not any(e.startswith(b"CLOUDFLARE_") for e in environ)

    # A re-deploy swaps the process behind the same origin; secrets are kept.
    _upload_bundle(client, fake, _bundle(["mcp", "extra"]), keep_bindings=["secret_text"])
    assert httpx.get(metadata_url).json()["scopes_supported"] == ["mcp", "extra", *POLICY_SCOPES]
    assert fake.workers.process_pid(fake.account_id, "mcp-front") != pid

    # A bundle that cannot start is rejected like a Worker failing at startup; the previous
    # version keeps serving.
    broken = [
        (n, d, PY) for n, d in _bundle(["mcp"]).modules.items() if n != "cfmcp_worker/settings.py"
    ]
    with pytest.raises(cloudflare.BadRequestError) as info:
        upload(client, fake, "mcp-front", files=broken, keep_bindings=["secret_text"])
    assert error_code(info.value) == 10021
    assert httpx.get(metadata_url).json()["scopes_supported"] == ["mcp", "extra", *POLICY_SCOPES]

    client.workers.scripts.delete("mcp-front", account_id=fake.account_id)
    assert httpx.get(metadata_url).status_code == 503


# -- real wrangler (when installed) ---------------------------------------------------------


def _wrangler() -> str | None:
    """wrangler 4.x from $CFMCP_TEST_WRANGLER, tests/node, benchmarks/node or PATH."""
    import os
    import shutil

    root = Path(__file__).resolve().parents[1]
    candidates = [
        os.environ.get("CFMCP_TEST_WRANGLER", ""),
        *(
            str(root / d / "node" / "node_modules" / ".bin" / "wrangler")
            for d in ("tests", "benchmarks")
        ),
        shutil.which("wrangler") or "",
    ]
    return next((c for c in candidates if c and Path(c).is_file()), None)


def test_real_wrangler_deploys_redeploys_and_sets_secrets(
    replay_fake: FakeCloudflare, tmp_path: Path
) -> None:
    import shutil
    import subprocess

    wrangler = _wrangler()
    if wrangler is None:
        pytest.skip("wrangler not installed (set CFMCP_TEST_WRANGLER=/path/to/wrangler)")
    project = tmp_path / "project"
    shutil.copytree(REFERENCE / "wrangler-4.60-project", project)
    for path in project.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    env = {
        "PATH": str(Path(shutil.which("node") or "/usr/bin/node").parent) + ":/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "CI": "1",
        "WRANGLER_SEND_METRICS": "false",
        "CLOUDFLARE_API_BASE_URL": replay_fake.base_url,
        "CLOUDFLARE_API_TOKEN": "FAKE-wrangler-token",
        "CLOUDFLARE_ACCOUNT_ID": "acc1",
    }
    for args in (["deploy"], ["deploy"], ["secret", "put", "AUTH_PIN"]):
        done = subprocess.run(
            [wrangler, *args],
            cwd=project,
            env=env,
            input="FAKE-PIN-42\n",
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert not replay_fake.unexpected_calls(), replay_fake.calls.summary()
    script = replay_fake.state.find_script("acc1", "cf-oauth-mcp-proxy")
    assert script is not None and script.last_deployed_from == "wrangler"
    assert [m.name for m in script.modules] == ["entry.py", "helper.py"]
    assert script.subdomain_enabled and len(script.versions) == 3
    assert replay_fake.calls.count("POST", "*/versions") == 1  # the re-deploy path
    assert "FAKE-PIN-42" not in repr(list(replay_fake.calls))


def test_worker_kv_is_the_api_kv(worker_fake: FakeCloudflare) -> None:
    fake = worker_fake
    client = Cloudflare(api_token=fake.token, base_url=fake.base_url, max_retries=0)
    ns = client.kv.namespaces.create(account_id=fake.account_id, title="cfmcp-oauth").id
    client.kv.namespaces.values.update(
        "seeded-by-api",
        account_id=fake.account_id,
        namespace_id=ns,
        value=b"hello",
        metadata={"a": 1},
    )
    _upload_bundle(
        client,
        fake,
        _bundle(["mcp"]),
        bindings=[{"type": "kv_namespace", "name": "OAUTH_KV", "namespace_id": ns}],
    )
    _put_secrets(client, fake)
    origin = fake.worker_origin("mcp-front")
    # A connection the Worker approves and redeems writes its grant to KV (a wrong PIN writes
    # nothing there: attempts are counted in the exact state, docs/STORAGE.md).
    obtain_tokens_over_http(origin, FAKE_PIN, client_name="fake-cf test client")
    keys = [
        k.name for k in client.kv.namespaces.keys.list(account_id=fake.account_id, namespace_id=ns)
    ]
    assert "seeded-by-api" in keys and len(keys) > 1  # the Worker's writes show up
    written = next(k for k in keys if k.startswith("grant:"))
    assert client.kv.namespaces.values.get(
        written, account_id=fake.account_id, namespace_id=ns
    ).read()
    client.kv.namespaces.values.delete(written, account_id=fake.account_id, namespace_id=ns)
    assert written not in fake.kv_entries(ns)
    assert fake.kv_entries(ns)["seeded-by-api"].metadata == {"a": 1}


def test_remaining_read_and_update_endpoints(fake: FakeCloudflare, client: Cloudflare) -> None:
    assert client.accounts.get(account_id=fake.account_id).name == "Fake Account"
    assert client.zones.get(zone_id=fake.zone_id).name == "example.com"
    ns = client.kv.namespaces.create(account_id=fake.account_id, title="before")
    assert client.kv.namespaces.get(ns.id, account_id=fake.account_id).title == "before"
    client.kv.namespaces.update(ns.id, account_id=fake.account_id, title="after")
    assert fake.kv_namespace_by_title("after") is not None
    upload(client, fake)
    upload(client, fake, "second-worker")
    route = client.workers.routes.create(
        zone_id=fake.zone_id, pattern="example.com/a*", script="mcp-front"
    )
    client.workers.routes.update(
        route.id, zone_id=fake.zone_id, pattern="example.com/b*", script="second-worker"
    )
    moved = client.workers.routes.get(route.id, zone_id=fake.zone_id)
    assert (moved.pattern, moved.script) == ("example.com/b*", "second-worker")
    client.workers.scripts.subdomain.create("mcp-front", account_id=fake.account_id, enabled=True)
    client.workers.scripts.subdomain.delete("mcp-front", account_id=fake.account_id)
    assert fake.script("mcp-front").subdomain_enabled is False  # type: ignore[union-attr]
    edited = client.workers.scripts.settings.edit(
        "mcp-front", account_id=fake.account_id, logpush=False, tags=["cfmcp"]
    )
    assert edited.tags == ["cfmcp"]
    client.workers.scripts.delete("second-worker", account_id=fake.account_id)
    assert list(client.workers.routes.list(zone_id=fake.zone_id)) == []  # went with it
    assert not fake.unexpected_calls()


def test_latency_for_chosen_calls_only(fake: FakeCloudflare, client: Cloudflare) -> None:
    fake.set_latency(0.6, "GET", "/user/tokens/verify")
    started = time.monotonic()
    client.accounts.get(account_id=fake.account_id)
    fast = time.monotonic() - started
    client.user.tokens.verify()
    assert fast < 0.5 and time.monotonic() - started >= 0.6


def test_upload_accepts_guarded_imports_and_old_style_on_fetch(
    fake: FakeCloudflare, client: Cloudflare
) -> None:
    guarded = b"""from __future__ import annotations
from typing import TYPE_CHECKING
try:
    import ujson as json
except ImportError:
    import json
if TYPE_CHECKING:
    import typing_extensions


def later():
    import httpx
    return httpx
"""
    upload(client, fake, files=[*MODULES, ("cfmcp_worker/extra.py", guarded, PY)])
    old_style = [("entry.py", b"async def on_fetch(request, env):\n    return None\n", PY)]
    upload(client, fake, "old-style", files=old_style, compatibility_date="2025-08-13")
    assert fake.script("old-style").warnings == []  # type: ignore[union-attr]
    vendored = [
        *MODULES,
        ("python_modules/workers/__init__.py", b"", PY),
        ("python_modules/extra_pkg/__init__.py", b"", PY),
        ("cfmcp_worker/uses_vendored.py", b"import extra_pkg\n", PY),
    ]
    upload(client, fake, "vendored", files=vendored)


@pytest.mark.parametrize(
    ("entry", "date", "warning"),
    [
        (b"async def on_fetch(request, env):\n    return None\n", "2026-03-01", "on_fetch"),
        (b"from cfmcp_worker import app\n", "2026-03-01", "no class Default"),
    ],
)
def test_upload_warns_when_no_handler_would_be_called(
    fake: FakeCloudflare, client: Cloudflare, entry: bytes, date: str, warning: str
) -> None:
    raw = client.workers.scripts.with_raw_response.update(
        "mcp-front",
        account_id=fake.account_id,
        metadata=metadata(compatibility_date=date),  # type: ignore[arg-type]
        files=[("entry.py", entry, PY), *MODULES[1:]],
    )
    messages = raw.http_response.json()["messages"]
    assert len(messages) == 1 and warning in messages[0]["message"]
    assert warning in fake.script("mcp-front").warnings[0]  # type: ignore[union-attr]


def test_the_real_rendered_bundle_passes_upload_validation(
    fake: FakeCloudflare, client: Cloudflare
) -> None:
    bundle = _bundle(["mcp"])
    _upload_bundle(client, fake, bundle)
    script = fake.script("mcp-front")
    assert script is not None
    assert {m.name: m.content for m in script.modules} == bundle.modules
    assert script.warnings == []


def test_versions_then_deployment(fake: FakeCloudflare, client: Cloudflare) -> None:
    with pytest.raises(cloudflare.NotFoundError):
        client.workers.scripts.versions.create(
            "mcp-front",
            account_id=fake.account_id,
            metadata=metadata(),  # type: ignore[arg-type]
            files=MODULES,
        )
    upload(client, fake)
    client.workers.scripts.secrets.update(
        "mcp-front", account_id=fake.account_id, name="AUTH_PIN", text=FAKE_PIN, type="secret_text"
    )
    changed = [MODULES[0], MODULES[1], ("cfmcp_worker/app.py", b"X = 2\n", PY)]
    # SDK 5.9.0 cannot parse VersionCreateResponse (its ResourcesBindings is no model), so
    # read the raw answer.
    raw = client.workers.scripts.versions.with_raw_response.create(
        "mcp-front",
        account_id=fake.account_id,
        files=changed,
        metadata=metadata(keep_bindings=["secret_text"]),
    )  # type: ignore[arg-type]
    version_id = raw.http_response.json()["result"]["id"]
    before = fake.script("mcp-front")
    assert before is not None and before.module("cfmcp_worker/app.py").content.endswith(
        b"X = 1\r\n"
    )  # staged, not live yet
    deployment = client.workers.scripts.deployments.create(
        "mcp-front",
        account_id=fake.account_id,
        strategy="percentage",
        versions=[{"version_id": version_id, "percentage": 100}],
    )
    assert deployment.versions[0].version_id == version_id
    live = fake.script("mcp-front")
    module = live.module("cfmcp_worker/app.py") if live else None
    assert module is not None and module.content == b"X = 2\n"
    assert live is not None and live.versions[-1] == version_id
    assert fake.secret_names("mcp-front") == ["AUTH_PIN"]
    listed = httpx.get(
        f"{fake.base_url}/accounts/{fake.account_id}/workers/scripts/mcp-front/deployments",
        headers={"Authorization": f"Bearer {fake.token}"},
    )
    # the shape wrangler reads (the SDK's deployments.list model expects another one)
    assert listed.json()["result"]["deployments"][0]["versions"][0]["version_id"] == version_id
    with pytest.raises(cloudflare.NotFoundError):
        client.workers.scripts.deployments.create(
            "mcp-front",
            account_id=fake.account_id,
            strategy="percentage",
            versions=[{"version_id": "f" * 32, "percentage": 100}],
        )


# -- Durable Objects: what real wrangler sends, and what the fake accepts ---------------------

DO_RECORDING = (
    Path(__file__).resolve().parent
    / "fake_cloudflare"
    / "reference"
    / "wrangler-4.60-durable-objects.json"
)
_BASE_TOML = """name = "cf-oauth-mcp-proxy"
main = "src/entry.py"
compatibility_date = "2025-11-01"
compatibility_flags = ["python_workers"]
[vars]
BASE_URL = "https://x.example.com"
[[kv_namespaces]]
binding = "OAUTH_KV"
id = "kv123"
"""
_EXACT_TOML = """
[[durable_objects.bindings]]
name = "EXACT_STATE"
class_name = "ExactState"
"""
_COUNTER_TOML = """
[[durable_objects.bindings]]
name = "COUNTER"
class_name = "Counter"
"""
_V1_TOML = """
[[migrations]]
tag = "cfmcp-exact-v1"
new_sqlite_classes = ["ExactState"]
"""
_V2_TOML = """
[[migrations]]
tag = "v2"
new_sqlite_classes = ["Counter"]
"""
_ENTRY = """from workers import DurableObject, Response, WorkerEntrypoint
{classes}

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("hi")
"""
_CLASS = """
class {name}(DurableObject):
    async def hit(self, n):
        return n
"""
# (name, what it shows, wrangler.toml, classes in entry.py, extra wrangler arguments)
DO_SCENARIOS = [
    ("kv-era", "a Worker without Durable Objects (cfmcp before issue 7)", _BASE_TOML, [], []),
    (
        "add-durable-object",
        "the same Worker gains the binding and its first migration: no "
        "old_tag (the script has no tag yet)",
        _BASE_TOML + _EXACT_TOML + _V1_TOML,
        ["ExactState"],
        [],
    ),
    (
        "redeploy-unchanged",
        "nothing new: the scripts list says the tag is applied, so no "
        "migrations (and wrangler uses the versions API)",
        _BASE_TOML + _EXACT_TOML + _V1_TOML,
        ["ExactState"],
        [],
    ),
    (
        "next-migration",
        "a second migration: old_tag = the current tag, only the new step",
        _BASE_TOML + _EXACT_TOML + _COUNTER_TOML + _V1_TOML + _V2_TOML,
        ["ExactState", "Counter"],
        [],
    ),
    (
        "fresh-with-durable-object",
        "a new Worker deployed with the Durable Object at once",
        _BASE_TOML + _EXACT_TOML + _V1_TOML,
        ["ExactState"],
        ["--name", "fresh-worker"],
    ),
]


def _wrangler_env(fake: FakeCloudflare, home: Path) -> dict[str, str]:
    import shutil

    return {
        "PATH": str(Path(shutil.which("node") or "/usr/bin/node").parent) + ":/usr/bin:/bin",
        "HOME": str(home),
        "CI": "1",
        "WRANGLER_SEND_METRICS": "false",
        "CLOUDFLARE_API_BASE_URL": fake.base_url,
        "CLOUDFLARE_API_TOKEN": "FAKE-wrangler-token",
        "CLOUDFLARE_ACCOUNT_ID": "acc1",
    }


def _recorded(call: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"method": call.method, "path": call.path, "status": call.status}
    if call.query:
        entry["query"] = call.query
    if isinstance(call.body, dict) and "metadata" in call.body:
        entry["metadata"] = call.body["metadata"]
    return entry


def test_real_wrangler_durable_object_migrations_match_the_recording(
    replay_fake: FakeCloudflare, tmp_path: Path
) -> None:
    """wrangler 4.60 deploys Durable Objects against the fake (every upload accepted), and
    what it sends is what tests/fake_cloudflare/reference/ records (the shapes cfmcp copies).
    Regenerate with CFMCP_UPDATE_REFERENCE=1."""
    import os
    import subprocess

    wrangler = _wrangler()
    if wrangler is None:
        pytest.skip("wrangler not installed (set CFMCP_TEST_WRANGLER=/path/to/wrangler)")
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    env = _wrangler_env(replay_fake, tmp_path / "home")
    scenarios = []
    for name, what, toml, classes, args in DO_SCENARIOS:
        entry = _ENTRY.format(classes="".join(_CLASS.format(name=c) for c in classes))
        (project / "wrangler.toml").write_text(toml)
        (project / "src" / "entry.py").write_text(entry)
        replay_fake.calls.clear()
        done = subprocess.run(
            [wrangler, "deploy", *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
        assert not replay_fake.unexpected_calls(), replay_fake.calls.summary()
        scenarios.append(
            {
                "name": name,
                "what": what,
                "wrangler_toml": toml,
                "entry_py": entry,
                "args": ["deploy", *args],
                "calls": [_recorded(c) for c in replay_fake.calls],
            }
        )
    recording = {
        "wrangler": "4.60.0",
        "note": "Recorded by tests/test_fake_cloudflare.py::"
        "test_real_wrangler_durable_object_migrations_match_the_recording against the "
        "fake (account acc1, KV namespace kv123, all fake); paths relative to "
        "/client/v4; module parts omitted. The scenarios run in order on one account.",
        "scenarios": scenarios,
    }
    if os.environ.get("CFMCP_UPDATE_REFERENCE"):
        DO_RECORDING.parent.mkdir(parents=True, exist_ok=True)
        DO_RECORDING.write_text(json.dumps(recording, indent=1) + "\n")
    assert json.loads(DO_RECORDING.read_text()) == recording, (
        "wrangler sent something else: CFMCP_UPDATE_REFERENCE=1 .venv/bin/python -m pytest "
        "tests/test_fake_cloudflare.py -k durable_object_migrations_match"
    )

    state = replay_fake.state
    assert state.find_script("acc1", "cf-oauth-mcp-proxy").migration_tag == "v2"
    assert state.find_script("acc1", "fresh-worker").migration_tag == "cfmcp-exact-v1"
    namespaces = sorted(
        (ns.script, ns.class_name, ns.use_sqlite) for ns in state.durable_object_namespaces.values()
    )
    assert namespaces == [
        ("cf-oauth-mcp-proxy", "Counter", True),
        ("cf-oauth-mcp-proxy", "ExactState", True),
        ("fresh-worker", "ExactState", True),
    ]


# -- Durable Objects: the upload contract the fake enforces (durable_objects.py) ---------------

EXACT = {"type": "durable_object_namespace", "name": "EXACT_STATE", "class_name": "ExactState"}
V1 = {"new_tag": "v1", "steps": [{"new_sqlite_classes": ["ExactState"]}]}
DO_ENTRY = (
    ENTRY
    + b"""

class ExactState:
    pass


class Counter:
    pass
"""
)
DO_MODULES = [("entry.py", DO_ENTRY, PY), *MODULES[1:]]


def do_upload(
    client: Cloudflare, fake: FakeCloudflare, name: str = "mcp-front", **meta: Any
) -> Any:
    bindings = meta.pop("bindings", [EXACT])
    return upload(
        client,
        fake,
        name,
        files=meta.pop("files", DO_MODULES),
        bindings=[*metadata()["bindings"], *bindings],
        **meta,
    )


def rejected(client: Cloudflare, fake: FakeCloudflare, **meta: Any) -> tuple[int, str]:
    with pytest.raises(cloudflare.BadRequestError) as info:
        do_upload(client, fake, **meta)
    error = info.value.response.json()["errors"][0]
    return error["code"], error["message"]


def namespaces(fake: FakeCloudflare) -> list[tuple[str, str, bool]]:
    with fake.state.lock:
        return sorted(
            (ns.script, ns.class_name, ns.use_sqlite)
            for ns in fake.state.durable_object_namespaces.values()
        )


def test_durable_object_migration_creates_the_namespace_and_is_reported(
    fake: FakeCloudflare, client: Cloudflare
) -> None:
    answer = do_upload(client, fake, migrations=V1)
    assert answer.migration_tag == "v1"
    [listed] = [s for s in client.workers.scripts.list(account_id=fake.account_id)]
    assert listed.migration_tag == "v1"  # where wrangler (and cfmcp) read it
    [ns] = client.durable_objects.namespaces.list(account_id=fake.account_id)
    assert (ns.class_, ns.script, ns.use_sqlite, ns.name) == (
        "ExactState",
        "mcp-front",
        True,
        "mcp-front_ExactState",
    )
    settings = client.workers.scripts.script_and_version_settings.get(
        "mcp-front", account_id=fake.account_id
    )
    bound = [
        b.model_dump() for b in settings.bindings or [] if b.type == "durable_object_namespace"
    ]
    assert [(b["name"], b["class_name"], b["namespace_id"]) for b in bound] == [
        ("EXACT_STATE", "ExactState", ns.id)
    ]
    # Later uploads bind the class without a migration; the namespace (its storage) stays.
    do_upload(client, fake)
    assert fake.script("mcp-front").migration_tag == "v1"  # type: ignore[union-attr]
    assert [n.id for n in client.durable_objects.namespaces.list(account_id=fake.account_id)] == [
        ns.id
    ]
    # The single-step form is accepted too (SDK SingleStepMigrationParam), chained by old_tag.
    do_upload(
        client,
        fake,
        bindings=[EXACT, {**EXACT, "name": "COUNTER", "class_name": "Counter"}],
        migrations={"old_tag": "v1", "new_tag": "v2", "new_sqlite_classes": ["Counter"]},
    )
    assert namespaces(fake) == [("mcp-front", "Counter", True), ("mcp-front", "ExactState", True)]


@pytest.mark.parametrize(
    ("setup", "meta", "code", "words"),
    [
        # A binding to a class no migration created.
        ([], {}, 10061, "not currently configured to implement Durable Objects"),
        # The migration sent again without old_tag (a deployer that lost its state).
        ([V1], {"migrations": V1}, 10079, "precondition failed; current tag is v1"),
        (
            [V1],
            {"migrations": {**V1, "old_tag": "v0", "new_tag": "v2"}},
            10079,
            "current tag is v1",
        ),
        ([], {"migrations": {**V1, "old_tag": "v0"}}, 10079, "current tag is not set"),
        # Re-applying the current tag.
        (
            [V1],
            {"migrations": {"old_tag": "v1", "new_tag": "v1", "steps": []}},
            10021,
            "already been applied",
        ),
        # An existing class created again (no conversion to SQLite either).
        (
            [V1],
            {
                "migrations": {
                    "old_tag": "v1",
                    "new_tag": "v2",
                    "steps": [{"new_sqlite_classes": ["ExactState"]}],
                }
            },
            10021,
            "already exists",
        ),
        # Key-value storage backend on the free plan.
        (
            [],
            {"migrations": {"new_tag": "v1", "steps": [{"new_classes": ["ExactState"]}]}},
            10097,
            "new_sqlite_classes",
        ),
        # Not exported by the main module.
        (
            [],
            {"migrations": {"new_tag": "v1", "new_sqlite_classes": ["Missing"]}, "bindings": []},
            10021,
            "not exported",
        ),
        ([], {"migrations": V1, "files": MODULES}, 10021, "not exported"),
        # Deleting what does not exist; binding what was deleted.
        (
            [],
            {"migrations": {"new_tag": "v1", "deleted_classes": ["Counter"]}, "bindings": []},
            10021,
            "non-existent class",
        ),
        (
            [V1],
            {"migrations": {"old_tag": "v1", "new_tag": "v2", "deleted_classes": ["ExactState"]}},
            10061,
            "not currently configured",
        ),
        # Shapes.
        (
            [],
            {
                "migrations": {
                    "new_tag": "v1",
                    "steps": [{"new_sqlite_classes": ["ExactState"]}],
                    "new_sqlite_classes": ["ExactState"],
                }
            },
            10021,
            "not both",
        ),
        (
            [],
            {
                "migrations": {"new_tag": "v1", "renamed_classes": [{"from": "A", "to": "B"}]},
                "bindings": [],
            },
            10021,
            "not modelled",
        ),
        (
            [],
            {"bindings": [{"type": "durable_object_namespace", "name": "X"}]},
            10021,
            "class_name",
        ),
    ],
)
def test_durable_object_uploads_that_cloudflare_refuses(
    fake: FakeCloudflare, client: Cloudflare, setup: list, meta: dict, code: int, words: str
) -> None:
    for migrations in setup:
        do_upload(client, fake, migrations=migrations)
    before = (fake.script("mcp-front"), namespaces(fake))
    got_code, message = rejected(client, fake, **meta)
    assert (got_code, words in message) == (code, True), message
    assert (fake.script("mcp-front"), namespaces(fake)) == before  # nothing was stored


def test_key_value_durable_objects_on_a_paid_plan_and_deleted_classes(
    fake: FakeCloudflare, client: Cloudflare
) -> None:
    with fake.state.lock:
        fake.state.accounts[fake.account_id].plan = "paid"
    do_upload(client, fake, migrations={"new_tag": "v1", "new_classes": ["ExactState"]})
    assert namespaces(fake) == [("mcp-front", "ExactState", False)]
    do_upload(
        client,
        fake,
        bindings=[],
        migrations={
            "old_tag": "v1",
            "new_tag": "v2",
            "steps": [{"deleted_classes": ["ExactState"]}],
        },
    )
    assert namespaces(fake) == []
    assert fake.script("mcp-front").migration_tag == "v2"  # type: ignore[union-attr]


def test_version_uploads_cannot_migrate_but_can_bind(
    fake: FakeCloudflare, client: Cloudflare
) -> None:
    do_upload(client, fake, migrations=V1)
    raw = client.workers.scripts.versions.with_raw_response
    with pytest.raises(cloudflare.BadRequestError) as info:
        raw.create(
            "mcp-front",
            account_id=fake.account_id,
            files=DO_MODULES,
            metadata=metadata(
                bindings=[EXACT],
                migrations={  # type: ignore[arg-type]
                    "old_tag": "v1",
                    "new_tag": "v2",
                    "new_sqlite_classes": ["Counter"],
                },
            ),
        )
    assert (
        "cannot be uploaded with a new version"
        in info.value.response.json()["errors"][0]["message"]
    )
    staged = raw.create(
        "mcp-front",
        account_id=fake.account_id,
        files=DO_MODULES,
        metadata=metadata(bindings=[EXACT]),
    )  # type: ignore[arg-type]
    assert staged.http_response.status_code == 200


def test_deleting_a_worker_deletes_its_durable_objects_unless_another_binds_them(
    fake: FakeCloudflare, client: Cloudflare
) -> None:
    do_upload(client, fake, migrations=V1)
    do_upload(client, fake, "other-worker", bindings=[{**EXACT, "script_name": "mcp-front"}])
    with pytest.raises(cloudflare.BadRequestError) as info:
        client.workers.scripts.delete("mcp-front", account_id=fake.account_id)
    assert "other-worker" in info.value.response.json()["errors"][0]["message"]
    client.workers.scripts.delete("other-worker", account_id=fake.account_id)
    client.workers.scripts.delete("mcp-front", account_id=fake.account_id)
    assert namespaces(fake) == []
    # A new Worker of the same name starts with no tag and a new (empty) namespace.
    do_upload(client, fake, migrations=V1)
    assert namespaces(fake) == [("mcp-front", "ExactState", True)]
    # force=true deletes even when another Worker binds the class.
    do_upload(client, fake, "other-worker", bindings=[{**EXACT, "script_name": "mcp-front"}])
    client.workers.scripts.delete("mcp-front", account_id=fake.account_id, force=True)
    assert namespaces(fake) == []


def test_durable_objects_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "fake-state.json"
    with FakeCloudflare(state_path=path) as fake:
        client = Cloudflare(api_token=fake.token, base_url=fake.base_url, max_retries=0)
        do_upload(client, fake, migrations=V1)
    with FakeCloudflare(state_path=path) as again:
        assert again.script("mcp-front").migration_tag == "v1"  # type: ignore[union-attr]
        assert namespaces(again) == [("mcp-front", "ExactState", True)]
