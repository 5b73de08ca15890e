"""The token endpoint, refresh rotation, revocation and what KV holds."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from tests.core.conftest import ORIGIN, PIN, SIGNING_KEY
from tests.core.flow import (
    body_json,
    call,
    code_form,
    full_flow,
    get_code,
    header,
    register,
    token_request,
)


async def _mcp(app, core, token):
    return await call(
        app,
        core,
        "POST",
        "/mcp",
        body=b"{}",
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )


async def test_code_exchange_issues_tokens(app, core):
    _, tokens = await full_flow(app, core)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 30 * 24 * 3600
    assert tokens["refresh_token"] and tokens["scope"] == "mcp mcp:full"


async def test_token_response_is_not_cached(app, core):
    client = await register(app, core)
    code, verifier = await get_code(app, core, client)
    response = await token_request(app, core, code_form(client, code, verifier))
    assert header(response, "cache-control") == "no-store"


async def test_replayed_code_is_refused_and_revokes_its_grant(app, core, clock):
    client = await register(app, core)
    code, verifier = await get_code(app, core, client)
    first = await token_request(app, core, code_form(client, code, verifier))
    assert first.status == 200
    clock.advance(11)  # past the retry window, inside the code's lifetime
    again = await token_request(app, core, code_form(client, code, verifier))
    assert again.status == 400 and body_json(again)["error"] == "invalid_grant"
    access = body_json(first)["access_token"]
    assert (await _mcp(app, core, access)).status == 401  # RFC 6749 §4.1.2
    refresh = {
        "grant_type": "refresh_token",
        "client_id": client["client_id"],
        "refresh_token": body_json(first)["refresh_token"],
    }
    assert (await token_request(app, core, refresh)).status == 400


async def test_a_quick_retry_of_a_code_gets_the_same_grant(app, core, clock):
    """A client that sends two /token POSTs for one code (ChatGPT may) gets one grant."""
    client = await register(app, core)
    code, verifier = await get_code(app, core, client)
    first = body_json(await token_request(app, core, code_form(client, code, verifier)))
    clock.advance(3)
    second = await token_request(app, core, code_form(client, code, verifier))
    assert second.status == 200
    assert body_json(second)["refresh_token"] == first["refresh_token"]
    assert (await _mcp(app, core, first["access_token"])).__class__.__name__ == "Forward"


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_verifier": "x" * 50},
        {"code_verifier": None},
        {"redirect_uri": "http://127.0.0.1:33418/other"},
        {"redirect_uri": None},
    ],
)
async def test_code_checks(app, core, overrides):
    client = await register(app, core)
    code, verifier = await get_code(app, core, client)
    response = await token_request(app, core, code_form(client, code, verifier, **overrides))
    assert response.status == 400 and body_json(response)["error"] == "invalid_grant"


async def test_plain_verifier_equal_to_challenge_fails(app, core):
    """A client doing `plain` PKCE sends the challenge itself as verifier: refused."""
    import base64
    import hashlib

    client = await register(app, core)
    code, verifier = await get_code(app, core, client)
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    form = code_form(client, code, challenge)
    assert (await token_request(app, core, form)).status == 400


async def test_code_of_another_client_is_refused(app, core):
    client = await register(app, core)
    other = await register(app, core, client_name="Other")
    code, verifier = await get_code(app, core, client)
    form = code_form(other, code, verifier)
    assert body_json(await token_request(app, core, form))["error"] == "invalid_grant"


async def test_resource_mismatch_at_token_endpoint(app, core):
    client = await register(app, core)
    code, verifier = await get_code(app, core, client)
    form = code_form(client, code, verifier, resource="https://other.example.com/mcp")
    assert body_json(await token_request(app, core, form))["error"] == "invalid_target"


async def test_expired_code(app, core, clock):
    client = await register(app, core)
    code, verifier = await get_code(app, core, client)
    clock.advance(121)
    assert (await token_request(app, core, code_form(client, code, verifier))).status == 400


async def test_unknown_client_gets_401_invalid_client(app, core):
    response = await token_request(
        app, core, {"grant_type": "authorization_code", "client_id": "gone", "code": "x"}
    )
    assert response.status == 401 and body_json(response)["error"] == "invalid_client"


async def test_confidential_client_must_authenticate(app, core):
    client = await register(app, core, token_endpoint_auth_method="client_secret_post")
    code, verifier = await get_code(app, core, client)
    missing = await token_request(app, core, code_form(client, code, verifier))
    assert missing.status == 401
    wrong = await token_request(app, core, code_form(client, code, verifier, client_secret="wrong"))
    assert wrong.status == 401
    right = await token_request(
        app, core, code_form(client, code, verifier, client_secret=client["client_secret"])
    )
    assert right.status == 200


async def test_client_secret_basic(app, core):
    client = await register(app, core, token_endpoint_auth_method="client_secret_basic")
    code, verifier = await get_code(app, core, client)
    basic = base64.b64encode(
        f"{quote(client['client_id'], safe='')}:{quote(client['client_secret'], safe='')}".encode()
    ).decode()
    form = code_form(client, code, verifier, client_id=None)
    response = await token_request(app, core, form, headers={"authorization": f"Basic {basic}"})
    assert response.status == 200, response.body


async def test_refresh_rotation_and_grace_window(app, core, clock):
    client, tokens = await full_flow(app, core)
    first = tokens["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": first, "client_id": client["client_id"]}
    rotated = await token_request(app, core, form)
    assert rotated.status == 200
    second = body_json(rotated)
    assert second["refresh_token"] != first
    assert (await _mcp(app, core, second["access_token"])).__class__.__name__ == "Forward"
    # The previous token still works inside the grace window (a lost response is retried),
    # and the retry gets the same new token: it does not replace the current one.
    clock.advance(30)
    retry = await token_request(app, core, form)
    assert retry.status == 200
    assert body_json(retry)["refresh_token"] == second["refresh_token"]
    newest = await token_request(app, core, {**form, "refresh_token": second["refresh_token"]})
    assert newest.status == 200


async def test_reuse_after_the_grace_window_revokes_the_grant(app, core, clock):
    """RFC 9700 §4.14.2: a rotated-out refresh token coming back means it leaked."""
    client, tokens = await full_flow(app, core)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": client["client_id"],
    }
    current = body_json(await token_request(app, core, form))
    clock.advance(61)
    late = await token_request(app, core, form)
    assert late.status == 400 and body_json(late)["error"] == "invalid_grant"
    assert (await _mcp(app, core, current["access_token"])).status == 401
    again = await token_request(app, core, {**form, "refresh_token": current["refresh_token"]})
    assert again.status == 400


async def test_superseded_refresh_token_outside_grace_fails(app, core, clock):
    client, tokens = await full_flow(app, core)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": client["client_id"],
    }
    second = body_json(await token_request(app, core, form))["refresh_token"]
    await token_request(app, core, {**form, "refresh_token": second})
    # `first` is now two rotations old: never valid again, grace or not.
    assert (await token_request(app, core, form)).status == 400


async def test_refresh_asking_for_more_scope_fails_without_rotating(app, core, clock):
    client, tokens = await full_flow(app, core)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": client["client_id"],
    }
    wider = await token_request(app, core, {**form, "scope": "mcp mcp:admin"})
    assert wider.status == 400 and body_json(wider)["error"] == "invalid_scope"
    other = await token_request(app, core, {**form, "scope": "mcp:read-only"})
    assert other.status == 400 and body_json(other)["error"] == "invalid_scope"
    clock.advance(3600)  # far past any grace window: only a current token works now
    assert (await token_request(app, core, {**form, "scope": "mcp"})).status == 200


async def test_refresh_token_of_another_client_is_refused(app, core):
    _, tokens = await full_flow(app, core)
    other = await register(app, core, client_name="Other")
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": other["client_id"],
    }
    assert (await token_request(app, core, form)).status == 400


async def _revoke(app, core, client, token):
    from urllib.parse import urlencode

    form = {"token": token, "client_id": client["client_id"]}
    return await call(
        app,
        core,
        "POST",
        "/revoke",
        body=urlencode(form).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )


async def test_revoking_access_token_blocks_it_and_its_refresh(app, core):
    client, tokens = await full_flow(app, core)
    assert (await _revoke(app, core, client, tokens["access_token"])).status == 200
    denied = await _mcp(app, core, tokens["access_token"])
    assert denied.status == 401
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": client["client_id"],
    }
    assert (await token_request(app, core, form)).status == 400


async def test_revoking_refresh_token(app, core):
    client, tokens = await full_flow(app, core)
    assert (await _revoke(app, core, client, tokens["refresh_token"])).status == 200
    assert (await _mcp(app, core, tokens["access_token"])).status == 401


async def test_revoke_unknown_token_is_200(app, core):
    client = await register(app, core)
    assert (await _revoke(app, core, client, "not-a-token")).status == 200


async def test_only_the_owning_client_can_revoke(app, core):
    _, tokens = await full_flow(app, core)
    other = await register(app, core, client_name="Other")
    assert (await _revoke(app, core, other, tokens["access_token"])).status == 200
    assert (await _mcp(app, core, tokens["access_token"])).__class__.__name__ == "Forward"


async def test_expired_access_token(app, core, clock):
    _, tokens = await full_flow(app, core)
    clock.advance(30 * 24 * 3600 + 1)
    response = await _mcp(app, core, tokens["access_token"])
    assert response.status == 401
    assert 'error="invalid_token"' in header(response, "www-authenticate")


async def test_an_access_token_used_before_still_expires(app, core, clock):
    """The isolate remembers tokens whose signature it checked, never that they are valid."""
    _, tokens = await full_flow(app, core)
    assert type(await _mcp(app, core, tokens["access_token"])).__name__ == "Forward"
    clock.advance(30 * 24 * 3600 + 1)
    response = await _mcp(app, core, tokens["access_token"])
    assert response.status == 401
    assert 'error="invalid_token"' in header(response, "www-authenticate")


async def test_a_tampered_access_token_is_refused_after_the_genuine_one(app, core):
    _, tokens = await full_flow(app, core)
    genuine = tokens["access_token"]
    assert type(await _mcp(app, core, genuine)).__name__ == "Forward"
    prefix, payload, mac = genuine.split(".")
    forged = f"{prefix}.{payload}.{mac[:-2]}{'AA' if mac[-2:] != 'AA' else 'BB'}"
    assert (await _mcp(app, core, forged)).status == 401
    assert (await _mcp(app, core, forged)).status == 401


async def test_kv_never_holds_raw_tokens_codes_or_secrets(app, core, kv, exact_sql):
    client = await register(app, core, token_endpoint_auth_method="client_secret_post")
    code, verifier = await get_code(app, core, client)
    form = code_form(client, code, verifier, client_secret=client["client_secret"])
    tokens = body_json(await token_request(app, core, form))
    refreshed = body_json(
        await token_request(
            app,
            core,
            {
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
            },
        )
    )
    dump = repr(kv.data) + repr(
        [exact_sql.run(f"SELECT * FROM {t}") for t in ("pin_failures", "used_once", "grants")]
    )
    secret_values = [
        code,
        tokens["access_token"],
        tokens["refresh_token"],
        refreshed["refresh_token"],
        refreshed["access_token"],
        client["client_secret"],
        PIN,
        SIGNING_KEY,
        verifier,
    ]
    for value in secret_values:
        assert value not in dump
    # A refresh token's MAC never appears either (only its grant id does).
    assert tokens["refresh_token"].split(".")[3] not in dump


async def test_no_kv_write_per_mcp_request(app, core, kv):
    _, tokens = await full_flow(app, core)
    before = kv.writes
    for _ in range(5):
        await _mcp(app, core, tokens["access_token"])
    assert kv.writes == before


async def test_token_signed_with_another_key_is_invalid(make_app, core, kv, clock):
    _, tokens = await full_flow(make_app(), core)
    rotated = make_app(signing_key="another-signing-key-0123456789")
    assert (await _mcp(rotated, core, tokens["access_token"])).status == 401


async def test_token_for_another_resource_is_refused(make_app, core):
    other_app = make_app(public_url="https://elsewhere.example.com")
    _, tokens = await full_flow(make_app(), core)
    response = await _mcp(other_app, core, tokens["access_token"])
    assert response.status == 401
    assert ORIGIN not in header(response, "www-authenticate")
