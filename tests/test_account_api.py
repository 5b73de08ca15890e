"""The Cloudflare gateway: auth header, base URL, retries and error mapping (respx, no network)."""

from __future__ import annotations

import json
import os

import httpx
import pytest
import respx

from cfmcp.account.api import CloudflareApi, map_status_error
from cfmcp.account.session import connect
from cfmcp.errors import (
    ApiUnavailable,
    CloudflareError,
    Conflict,
    InvalidToken,
    NotFound,
    PermissionDenied,
    RateLimited,
)

BASE = "https://cf.test/client/v4"
ACCOUNT = "0123456789abcdef0123456789abcdef"
TOKEN = "FAKE-token-for-tests-0000000000"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "CLOUDFLARE_API_TOKEN",
        "CLOUDFLARE_API_KEY",
        "CLOUDFLARE_EMAIL",
        "CLOUDFLARE_API_USER_SERVICE_KEY",
        "CLOUDFLARE_BASE_URL",
        "CLOUDFLARE_API_BASE_URL",
        "CLOUDFLARE_CUSTOM_HEADERS",
    ):
        monkeypatch.delenv(name, raising=False)


def ok(result: object, **extra: object) -> httpx.Response:
    return httpx.Response(
        200, json={"success": True, "errors": [], "messages": [], "result": result, **extra}
    )


def fail(status: int, code: int, message: str, headers: dict | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        headers=headers or {},
        json={
            "success": False,
            "errors": [{"code": code, "message": message}],
            "messages": [],
            "result": None,
        },
    )


def make_api(sleeps: list[float] | None = None, **kwargs: object) -> CloudflareApi:
    record = sleeps if sleeps is not None else []
    return CloudflareApi(TOKEN, base_url=BASE, sleep=record.append, **kwargs)


@respx.mock
def test_token_given_is_sent_even_with_global_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_EMAIL", "someone@example.com")
    monkeypatch.setenv("CLOUDFLARE_API_KEY", "global-key-must-not-be-sent")
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "another-token-from-env")
    route = respx.get(f"{BASE}/user/tokens/verify").mock(
        return_value=ok({"id": "t1", "status": "active"})
    )
    with make_api() as api:
        info = api.verify_token()
    assert info.status == "active"
    headers = route.calls.last.request.headers
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert "x-auth-key" not in headers
    assert "x-auth-email" not in headers


@respx.mock
def test_base_url_from_wrangler_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", "https://other.test/client/v4/")
    monkeypatch.setenv("CLOUDFLARE_BASE_URL", "https://sdk-variable.test/client/v4")
    route = respx.get("https://other.test/client/v4/user/tokens/verify").mock(
        return_value=ok({"id": "t1", "status": "active"})
    )
    with connect(TOKEN, os.environ) as api:  # the session reads the variable, once
        api.verify_token()
        assert api.calls[0].path == "/user/tokens/verify"
    assert route.called


@respx.mock
def test_account_owned_token_falls_back_to_account_verify() -> None:
    respx.get(f"{BASE}/user/tokens/verify").mock(return_value=fail(401, 1000, "Invalid API Token"))
    respx.get(f"{BASE}/accounts/{ACCOUNT}/tokens/verify").mock(
        return_value=ok({"id": "t2", "status": "active"})
    )
    with make_api() as api:
        info = api.verify_token(ACCOUNT)
    assert info.account_owned


@respx.mock
def test_invalid_token_is_one_line_with_hint() -> None:
    respx.get(f"{BASE}/user/tokens/verify").mock(return_value=fail(401, 1000, "Invalid API Token"))
    with make_api() as api, pytest.raises(InvalidToken) as caught:
        api.verify_token()
    assert "invalid" in caught.value.message
    assert "\n" not in caught.value.message
    assert "CLOUDFLARE_API_TOKEN" in (caught.value.hint or "")
    assert caught.value.exit_code == 1


@respx.mock
def test_disabled_token_is_reported() -> None:
    respx.get(f"{BASE}/user/tokens/verify").mock(
        return_value=ok({"id": "t1", "status": "disabled"})
    )
    with make_api() as api, pytest.raises(InvalidToken, match="disabled"):
        api.verify_token()


@respx.mock
def test_missing_permission_names_the_permission() -> None:
    respx.get(f"{BASE}/accounts/{ACCOUNT}/storage/kv/namespaces").mock(
        return_value=fail(403, 10000, "Authentication error")
    )
    with make_api() as api, pytest.raises(PermissionDenied) as caught:
        api.list_kv_namespaces(ACCOUNT)
    assert "Workers KV Storage: Edit" in (caught.value.hint or "")
    assert "list KV namespaces" in caught.value.message


@respx.mock
def test_missing_zone_permission_names_zone_read() -> None:
    respx.get(f"{BASE}/zones").mock(return_value=fail(403, 10000, "Authentication error"))
    with make_api() as api, pytest.raises(PermissionDenied) as caught:
        api.list_zones(ACCOUNT, name="example.com")
    assert "Zone: Read" in (caught.value.hint or "")


@respx.mock
def test_rate_limit_is_retried_with_retry_after() -> None:
    route = respx.get(f"{BASE}/accounts/{ACCOUNT}/workers/subdomain").mock(
        side_effect=[
            fail(
                429,
                971,
                "Please wait and consider throttling your request speed",
                headers={"Retry-After": "2"},
            ),
            ok({"subdomain": "acme"}),
        ]
    )
    sleeps: list[float] = []
    with make_api(sleeps) as api:
        assert api.get_workers_subdomain(ACCOUNT) == "acme"
    assert route.call_count == 2
    assert sleeps == [2.0]


@respx.mock
def test_rate_limit_gives_up_after_max_attempts() -> None:
    route = respx.get(f"{BASE}/accounts/{ACCOUNT}/workers/subdomain").mock(
        return_value=fail(429, 971, "Please wait")
    )
    sleeps: list[float] = []
    with make_api(sleeps, max_attempts=3) as api, pytest.raises(RateLimited) as caught:
        api.get_workers_subdomain(ACCOUNT)
    assert route.call_count == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0]  # exponential backoff
    assert "re-run" in (caught.value.hint or "")


@respx.mock
def test_server_error_on_create_is_not_retried() -> None:
    """A POST that failed may still have created the namespace: never blindly repeat it."""
    route = respx.post(f"{BASE}/accounts/{ACCOUNT}/storage/kv/namespaces").mock(
        return_value=fail(500, 10013, "internal error")
    )
    with make_api() as api, pytest.raises(ApiUnavailable):
        api.create_kv_namespace(ACCOUNT, "x-oauth")
    assert route.call_count == 1


@respx.mock
def test_server_error_on_read_is_retried() -> None:
    route = respx.get(f"{BASE}/accounts/{ACCOUNT}/workers/scripts/w/settings").mock(
        side_effect=[fail(503, 10013, "unavailable"), ok({"bindings": []})]
    )
    with make_api() as api:
        assert api.get_script(ACCOUNT, "w") is not None
    assert route.call_count == 2


@respx.mock
def test_connection_error_becomes_api_unavailable() -> None:
    respx.get(f"{BASE}/user/tokens/verify").mock(side_effect=httpx.ConnectError("refused"))
    with make_api(max_attempts=2) as api, pytest.raises(ApiUnavailable) as caught:
        api.verify_token()
    assert BASE in caught.value.message


@respx.mock
def test_missing_script_is_none_and_bindings_are_typed() -> None:
    respx.get(f"{BASE}/accounts/{ACCOUNT}/workers/scripts/absent/settings").mock(
        return_value=fail(404, 10007, "This Worker does not exist on your account.")
    )
    respx.get(f"{BASE}/accounts/{ACCOUNT}/workers/scripts/w/settings").mock(
        return_value=ok(
            {
                "compatibility_date": "2026-03-01",
                "compatibility_flags": ["python_workers"],
                "bindings": [
                    {"type": "kv_namespace", "name": "OAUTH_KV", "namespace_id": "kv1"},
                    {"type": "plain_text", "name": "CFMCP_BUNDLE_SHA256", "text": "abc"},
                    {"type": "secret_text", "name": "AUTH_PIN"},
                ],
            }
        )
    )
    with make_api() as api:
        assert api.get_script(ACCOUNT, "absent") is None
        script = api.get_script(ACCOUNT, "w")
    assert script is not None
    assert script.var("CFMCP_BUNDLE_SHA256") == "abc"
    assert script.kv_namespaces == {"OAUTH_KV": "kv1"}
    assert script.secret_names == frozenset({"AUTH_PIN"})
    assert script.compatibility_flags == ("python_workers",)


@respx.mock
def test_kv_listing_stops_without_an_extra_empty_page() -> None:
    route = respx.get(f"{BASE}/accounts/{ACCOUNT}/storage/kv/namespaces").mock(
        side_effect=[
            ok(
                [{"id": f"id{i}", "title": f"t{i}"} for i in range(100)],
                result_info={"page": 1, "per_page": 100, "total_pages": 2, "count": 100},
            ),
            ok(
                [{"id": "last", "title": "mine"}],
                result_info={"page": 2, "per_page": 100, "total_pages": 2, "count": 1},
            ),
        ]
    )
    with make_api() as api:
        found = api.find_kv_namespace(ACCOUNT, "mine")
    assert found is not None and found.id == "last"
    assert route.call_count == 2
    assert "page=2" in str(route.calls.last.request.url)


@respx.mock
def test_upload_sends_python_modules_and_metadata() -> None:
    route = respx.put(f"{BASE}/accounts/{ACCOUNT}/workers/scripts/w").mock(
        return_value=ok({"id": "w"})
    )
    metadata = {
        "main_module": "entry.py",
        "compatibility_date": "2026-03-01",
        "compatibility_flags": ["python_workers"],
        "bindings": [],
    }
    with make_api() as api:
        api.upload_script(
            ACCOUNT,
            "w",
            modules={"entry.py": b"x = 1\n", "pkg/mod.py": b"y = 2\n"},
            metadata=metadata,
        )
    request = route.calls.last.request
    body = request.content.decode()
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert 'name="metadata"' in body
    assert 'filename="pkg/mod.py"' in body
    assert body.count("Content-Type: text/x-python") == 2
    sent = body.split('name="metadata"', 1)[1].split("\r\n\r\n", 1)[1].split("\r\n--", 1)[0]
    assert json.loads(sent) == metadata


@respx.mock
def test_calls_are_counted_with_paths_relative_to_base() -> None:
    respx.get(f"{BASE}/user/tokens/verify").mock(return_value=ok({"id": "t", "status": "active"}))
    respx.get(f"{BASE}/accounts/{ACCOUNT}/workers/subdomain").mock(
        return_value=ok({"subdomain": "s"})
    )
    with make_api() as api:
        api.verify_token()
        api.get_workers_subdomain(ACCOUNT)
        assert [(c.method, c.path, c.status) for c in api.calls] == [
            ("GET", "/user/tokens/verify", 200),
            ("GET", f"/accounts/{ACCOUNT}/workers/subdomain", 200),
        ]


def test_empty_token_is_rejected_before_any_call() -> None:
    with pytest.raises(InvalidToken):
        CloudflareApi("  ", base_url=BASE)


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, 6003, InvalidToken),
        (401, 10001, InvalidToken),
        (403, 10000, PermissionDenied),
        (404, 7003, NotFound),
        (409, 100117, Conflict),
        (409, 10020, Conflict),
        (400, 10014, Conflict),
        (429, 971, RateLimited),
        (502, 0, ApiUnavailable),
        (400, 10021, CloudflareError),
    ],
)
def test_status_mapping(status: int, code: int, kind: type) -> None:
    body = {"errors": [{"code": code, "message": "boom\nsecond line"}]}
    error = map_status_error("do it", "Perm: Edit", status, body)
    assert type(error) is kind
    assert error.message.startswith("do it failed")
    assert "\n" not in error.message
    assert error.hint


@respx.mock
def test_secrets_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    logging.getLogger("cloudflare").setLevel(logging.DEBUG)  # as CLOUDFLARE_LOG=debug does
    caplog.set_level(logging.DEBUG)
    respx.put(f"{BASE}/accounts/{ACCOUNT}/workers/scripts/w/secrets").mock(
        return_value=ok({"name": "AUTH_PIN", "type": "secret_text"})
    )
    with make_api() as api:
        api.put_secret(ACCOUNT, "w", "AUTH_PIN", "FAKE-secret-value-9876")
    assert "FAKE-secret-value-9876" not in caplog.text
    assert TOKEN not in caplog.text
    assert logging.getLogger("cloudflare").getEffectiveLevel() >= logging.INFO


@respx.mock
def test_remembered_account_token_kind_is_tried_first_then_the_other() -> None:
    account = respx.get(f"{BASE}/accounts/{ACCOUNT}/tokens/verify").mock(
        return_value=fail(401, 1000, "Invalid API Token")
    )
    user = respx.get(f"{BASE}/user/tokens/verify").mock(
        return_value=ok({"id": "t1", "status": "active"})
    )
    with make_api() as api:
        info = api.verify_token(ACCOUNT, account_owned_first=True)
    assert not info.account_owned
    assert account.call_count == 1 and user.call_count == 1


@respx.mock
def test_a_live_tail_is_created_with_wranglers_filter_message_and_deleted() -> None:
    tails = f"{BASE}/accounts/{ACCOUNT}/workers/scripts/gh-mcp/tails"
    created = respx.post(tails).mock(
        return_value=ok({"id": "t1", "url": "wss://tail.example/t1", "expires_at": "2027-01-01"})
    )
    deleted = respx.delete(f"{tails}/t1").mock(return_value=ok(None))
    api = CloudflareApi(TOKEN, base_url=BASE, sleep=lambda _: None)
    tail = api.create_tail(ACCOUNT, "gh-mcp")
    assert (tail.id, tail.url) == ("t1", "wss://tail.example/t1")
    assert "wss://" not in repr(tail)  # whoever holds the URL reads the logs
    assert "t1" not in repr(tail)  # nor its id, the URL's secret part
    assert json.loads(created.calls[0].request.content) == {"filters": []}
    assert api.delete_tail(ACCOUNT, "gh-mcp", "t1") is True and deleted.called


@respx.mock
def test_live_tail_errors_name_the_permission_and_a_gone_tail_is_no_error() -> None:
    tails = f"{BASE}/accounts/{ACCOUNT}/workers/scripts/gh-mcp/tails"
    respx.post(tails).mock(return_value=fail(403, 10000, "Authentication error"))
    respx.delete(f"{tails}/gone").mock(return_value=fail(404, 10007, "Tail not found"))
    api = CloudflareApi(TOKEN, base_url=BASE, sleep=lambda _: None)
    with pytest.raises(PermissionDenied) as raised:
        api.create_tail(ACCOUNT, "gh-mcp")
    assert "live tail" in raised.value.message and "Workers Tail: Read" in str(raised.value.hint)
    assert api.delete_tail(ACCOUNT, "gh-mcp", "gone") is False


def test_verbose_trace_cuts_kv_key_names_to_their_kind():
    from cfmcp.account.api import _scrubbed_path as _without_kv_keys

    base = "/accounts/a/storage/kv/namespaces/n/values/"
    assert _without_kv_keys(base + "grant%3Aabc123def") == base + "grant:…"
    assert _without_kv_keys(base + "revoked:abc?x=1") == base + "revoked:…?x=1"
    assert _without_kv_keys(base + "plainkey") == base + "…"
    assert _without_kv_keys("/accounts/a/workers/scripts/w") == "/accounts/a/workers/scripts/w"


def test_verbose_trace_cuts_the_tail_id_the_secret_part_of_its_url():
    from cfmcp.account.api import _scrubbed_path

    tails = "/accounts/a/workers/scripts/w/tails"
    assert _scrubbed_path(f"{tails}/0123abcdsecret") == f"{tails}/…"
    assert _scrubbed_path(f"{tails}/0123abcdsecret?x=1") == f"{tails}/…?x=1"
    assert _scrubbed_path(tails) == tails


@respx.mock
def test_verbose_never_prints_the_tail_id() -> None:
    from cfmcp.output import err_console, trace_calls

    tails = f"{BASE}/accounts/{ACCOUNT}/workers/scripts/gh-mcp/tails"
    respx.post(tails).mock(
        return_value=ok({"id": "tailsecret9", "url": "wss://tail.example/tailsecret9"})
    )
    respx.delete(f"{tails}/tailsecret9").mock(return_value=ok(None))
    api = CloudflareApi(TOKEN, base_url=BASE, sleep=lambda _: None)
    trace_calls(True)
    try:
        with err_console.capture() as captured:
            tail = api.create_tail(ACCOUNT, "gh-mcp")
            api.delete_tail(ACCOUNT, "gh-mcp", tail.id)
    finally:
        trace_calls(False)
    printed = captured.get()
    assert "DELETE" in printed and "/tails/…" in printed
    assert "tailsecret9" not in printed
