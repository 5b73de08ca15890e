"""The exact state: PIN bound, single use and refresh rotation, under concurrency.

Storage here yields at every call (KV sleeps, and so does the transport to the ledger), the
way Workers KV and a Durable Object stub do, so requests interleave at every `await`.
"""

from __future__ import annotations

import asyncio
import importlib

import pytest

from tests.core.conftest import PIN
from tests.core.flow import (
    body_json,
    call,
    code_form,
    full_flow,
    get_code,
    header,
    register,
    request_token_from,
    submit_pin,
    token_request,
)
from tests.core.test_authorize import _consent

WRONG = "wrong-pin-0000"


class YieldingKv:
    """A KV whose every call waits, so concurrent requests interleave around it."""

    def __init__(self, inner, delay: float = 0.002) -> None:
        self._inner = inner
        self._delay = delay

    async def get(self, key):
        await asyncio.sleep(self._delay)
        return await self._inner.get(key)

    async def put(self, key, value, ttl=None):
        await asyncio.sleep(self._delay)
        await self._inner.put(key, value, ttl)

    async def delete(self, key):
        await asyncio.sleep(self._delay)
        await self._inner.delete(key)

    async def list_keys(self, prefix):
        return await self._inner.list_keys(prefix)


@pytest.fixture
def slow(core, kv, clock, exact_sql):
    settings_mod = importlib.import_module("cfmcp_worker.settings")
    deployment = importlib.import_module("cfmcp_worker.deployment")
    exact = importlib.import_module("cfmcp_worker.exact")
    from tests.core.conftest import PAT, SIGNING_KEY

    settings = settings_mod.Settings.from_mapping(deployment.SETTINGS)
    ledger = exact.ExactLedger(exact_sql, exact.pin_limits(settings))
    direct = exact.direct_sender(ledger)

    async def send(op, args_json):
        await asyncio.sleep(0.001)  # a Durable Object call is a round trip
        return await direct(op, args_json)

    secrets = settings_mod.Secrets(upstream_token=PAT, pin=PIN, signing_key=SIGNING_KEY)
    return core.WorkerApp(settings, secrets, YieldingKv(kv), exact.ExactClient(send), clock=clock)


async def test_concurrent_wrong_pins_are_answered_at_most_the_bound(slow, core):
    _, page = await _consent(slow, core)
    token = request_token_from(page.body)
    answers = await asyncio.gather(*(submit_pin(slow, core, token, pin=WRONG) for _ in range(50)))
    statuses = [a.status for a in answers]
    assert statuses.count(401) == 5  # exactly the per-address bound, not one more
    assert statuses.count(429) == 45


async def test_concurrent_wrong_pins_from_many_addresses_stop_at_the_global_ceiling(slow, core):
    _, page = await _consent(slow, core)
    token = request_token_from(page.body)
    answers = await asyncio.gather(
        *(submit_pin(slow, core, token, pin=WRONG, ip=f"192.0.2.{i}") for i in range(100))
    )
    assert [a.status for a in answers].count(401) == 60


async def test_a_wrong_pin_writes_nothing_to_kv(app, core, kv):
    _, page = await _consent(app, core)
    token = request_token_from(page.body)
    before = kv.writes
    for _ in range(3):
        assert (await submit_pin(app, core, token, pin=WRONG)).status == 401
    assert kv.writes == before


async def test_a_correct_pin_does_not_reset_the_count_of_its_address(app, core):
    for _ in range(4):
        _, page = await _consent(app, core)
        assert (await submit_pin(app, core, request_token_from(page.body), pin=WRONG)).status == 401
    _, page = await _consent(app, core)
    assert (await submit_pin(app, core, request_token_from(page.body))).status == 302
    _, page = await _consent(app, core)
    token = request_token_from(page.body)
    assert (await submit_pin(app, core, token, pin=WRONG)).status == 401  # the 5th
    assert (await submit_pin(app, core, token, pin=WRONG)).status == 429


async def test_the_window_slides(app, core, clock):
    """5 wrong PINs at minute 14, then 5 more at minute 16 would be 10 in 15 minutes."""
    clock.advance(14 * 60)
    _, page = await _consent(app, core)
    token = request_token_from(page.body)
    for _ in range(5):
        assert (await submit_pin(app, core, token, pin=WRONG)).status == 401
    clock.advance(2 * 60)  # a fixed quarter-hour window would have reset here
    assert (await submit_pin(app, core, token, pin=WRONG)).status == 429
    clock.advance(14 * 60)
    _, page = await _consent(app, core)
    assert (await submit_pin(app, core, request_token_from(page.body), pin=WRONG)).status == 401


async def test_a_consent_form_mints_one_code(app, core):
    _, page = await _consent(app, core)
    token = request_token_from(page.body)
    assert (await submit_pin(app, core, token)).status == 302
    replay = await submit_pin(app, core, token)
    assert replay.status == 400 and header(replay, "location") is None
    assert b"already used" in replay.body


async def test_concurrent_consent_posts_mint_one_code(slow, core):
    _, page = await _consent(slow, core)
    token = request_token_from(page.body)
    answers = await asyncio.gather(*(submit_pin(slow, core, token) for _ in range(5)))
    assert [a.status for a in answers].count(302) == 1


async def test_concurrent_redemptions_of_one_code_make_one_grant(slow, core, kv):
    client = await register(slow, core)
    code, verifier = await get_code(slow, core, client)
    answers = await asyncio.gather(
        *(token_request(slow, core, code_form(client, code, verifier)) for _ in range(5))
    )
    assert all(a.status == 200 for a in answers)
    refresh_tokens = {body_json(a)["refresh_token"] for a in answers}
    assert len(refresh_tokens) == 1  # the same grant, answered five times
    assert len([k for k in kv.data if k.startswith("grant:")]) == 1


async def test_concurrent_refreshes_make_one_rotation_whose_tokens_work(slow, core):
    client, tokens = await full_flow(slow, core)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": client["client_id"],
    }
    answers = await asyncio.gather(*(token_request(slow, core, form) for _ in range(5)))
    assert all(a.status == 200 for a in answers)
    new_tokens = {body_json(a)["refresh_token"] for a in answers}
    assert len(new_tokens) == 1
    (new,) = new_tokens
    for answer in answers:
        mcp = await call(
            slow,
            core,
            "POST",
            "/mcp",
            body=b"{}",
            headers={
                "authorization": f"Bearer {body_json(answer)['access_token']}",
                "content-type": "application/json",
            },
        )
        assert mcp.__class__.__name__ == "Forward"
    nxt = await token_request(slow, core, {**form, "refresh_token": new})
    assert nxt.status == 200


async def test_a_kv_era_grant_keeps_working(app, core, kv, clock):
    """Grants made before the exact state: their refresh token is adopted on first use."""
    tokens_mod = importlib.import_module("cfmcp_worker.tokens")
    crypto = importlib.import_module("cfmcp_worker.crypto")
    client, _ = await full_flow(app, core)
    legacy_token = f"cfrt.{'ab' * 16}.legacy-random-part-0123456789"
    record = tokens_mod.Grant(
        "ab" * 16,
        client["client_id"],
        "Old Client",
        "mcp",
        "https://mcp.example.com/mcp",
        int(clock()),
        refresh_hash=crypto.sha256_hex(legacy_token),
    )
    data = {name: getattr(record, name) for name in tokens_mod.GRANT_FIELDS}
    await kv.put(tokens_mod.grant_key(record.grant_id), __import__("json").dumps(data))
    form = {
        "grant_type": "refresh_token",
        "refresh_token": legacy_token,
        "client_id": client["client_id"],
    }
    first = await token_request(app, core, form)
    assert first.status == 200
    rotated = body_json(first)["refresh_token"]
    assert rotated.startswith(f"cfrt.{'ab' * 16}.1.")
    again = await token_request(app, core, form)  # a retry inside the grace window
    assert again.status == 200, again.body
    assert body_json(again)["refresh_token"] == rotated
    forged = await token_request(app, core, {**form, "refresh_token": legacy_token + "x"})
    assert forged.status == 400


async def test_a_refresh_needs_no_kv_read_of_the_grant(app, core, kv):
    """The grant index may not have reached this location yet: refresh still works."""
    client, tokens = await full_flow(app, core)
    for key in [k for k in kv.data if k.startswith("grant:")]:
        del kv.data[key]
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": client["client_id"],
    }
    assert (await token_request(app, core, form)).status == 200


def _refresh_form(client, token):
    return {"grant_type": "refresh_token", "refresh_token": token, "client_id": client["client_id"]}


async def test_a_kv_only_revocation_becomes_permanent_at_the_next_refresh(app, core, kv, clock):
    """`cfmcp clients revoke` writes only the KV marker: once a refresh sees it, the exact
    state keeps the grant revoked after the marker has expired."""
    client, tokens = await full_flow(app, core)
    grant_id = tokens["refresh_token"].split(".")[1]
    await kv.put(f"revoked:{grant_id}", "1", ttl=60)
    form = _refresh_form(client, tokens["refresh_token"])
    assert (await token_request(app, core, form)).status == 400
    clock.advance(61)
    assert (await token_request(app, core, form)).status == 400


async def test_revoking_a_grant_with_no_row_leaves_a_tombstone(exact_sql, core):
    exact = importlib.import_module("cfmcp_worker.exact")
    ledger = exact.ExactLedger(exact_sql, exact.PinLimits(5, 900, 60))
    grant = "cd" * 16
    assert ledger.revoke(grant) == {"newly_revoked": True}
    assert ledger.revoke(grant) == {"newly_revoked": False}
    ledger.adopt_legacy(grant, "client", "n", "mcp", "r", 0, "hash", 100, 1000)
    answer = ledger.rotate_refresh(grant, "client", 0, "hash", "", 100, 60, 1000)
    assert answer["result"] == exact.REFRESH_INVALID


async def test_a_retried_redemption_rewrites_a_lost_index_entry(app, core, kv):
    client = await register(app, core)
    code, verifier = await get_code(app, core, client)
    assert (await token_request(app, core, code_form(client, code, verifier))).status == 200
    for key in [k for k in kv.data if k.startswith("grant:")]:
        del kv.data[key]  # the first answer's KV write failed after the grant was made
    assert (await token_request(app, core, code_form(client, code, verifier))).status == 200
    assert [k for k in kv.data if k.startswith("grant:")]


@pytest.mark.parametrize("token", ["cfrt.x.\u00b2.y", f"cfrt.{'ab' * 16}.\u00b2.mac", "cfrt..1.x"])
async def test_malformed_refresh_tokens_are_invalid_grant_not_500(app, core, token):
    client, _ = await full_flow(app, core)
    answer = await token_request(app, core, _refresh_form(client, token))
    assert answer.status == 400 and body_json(answer)["error"] == "invalid_grant"


async def test_replaying_a_replayed_code_costs_no_more_kv_writes(app, core, kv, clock):
    client = await register(app, core)
    code, verifier = await get_code(app, core, client)
    assert (await token_request(app, core, code_form(client, code, verifier))).status == 200
    clock.advance(11)
    assert (await token_request(app, core, code_form(client, code, verifier))).status == 400
    writes = kv.writes
    for _ in range(5):
        assert (await token_request(app, core, code_form(client, code, verifier))).status == 400
    assert kv.writes == writes
