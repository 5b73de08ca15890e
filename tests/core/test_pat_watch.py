"""What the upstream says of the PAT is recorded in KV (`upstream:pat`) for `cfmcp doctor`:
once per change, read once per isolate, never per request, never the PAT; and an upstream
401/403 reaches the client as a 502 that says the PAT needs replacing (not a re-sign-in)."""

from __future__ import annotations

import asyncio
import json

from tests.core.conftest import PAT
from tests.core.flow import body_json, header, request

KEY = "upstream:pat"
EXPIRES = ("github-authentication-token-expiration", "2026-12-31 00:00:00 UTC")


class CountingKv:
    """The test KV, counting reads too."""

    def __init__(self, kv) -> None:
        self.inner = kv
        self.reads = 0

    async def get(self, key):
        self.reads += 1
        return await self.inner.get(key)

    def __getattr__(self, name):
        return getattr(self.inner, name)


async def answer(app, core, status: int, headers=()) -> None:
    """One upstream answer through the app, its background work run as a host would."""
    app.upstream_response(request(core, "POST", "/mcp"), status, list(headers))
    work = app.background_work()
    if work is not None:
        await work


def stored(kv) -> dict | None:
    item = kv.data.get(KEY)
    return None if item is None else json.loads(item[0])


async def test_a_401_storm_writes_once(app, core, kv):
    for _ in range(200):
        await answer(app, core, 401)
    assert kv.writes == 1
    record = stored(kv)
    assert record["status"] == "refused" and record["http_status"] == 401
    assert record["seen_at"].endswith("Z")
    assert PAT not in kv.data[KEY][0]


async def test_the_steady_state_reads_once_and_writes_nothing(make_app, core, kv):
    counting = CountingKv(kv)
    app = make_app()
    app.pat_watch._kv = counting  # count this isolate's reads
    for _ in range(50):
        await answer(app, core, 200, [EXPIRES])
    assert counting.reads == 1
    assert kv.writes == 1  # the first reading ever
    assert stored(kv) == {
        "expires": "2026-12-31 00:00:00 UTC",
        "http_status": 200,
        "seen_at": stored(kv)["seen_at"],
        "status": "accepted",
    }
    # a new isolate finding the same reading in KV writes nothing
    fresh = make_app()
    for _ in range(20):
        await answer(fresh, core, 200, [EXPIRES])
    assert kv.writes == 1


async def test_a_change_is_written_but_at_most_once_a_minute(app, core, kv, clock):
    await answer(app, core, 401)
    assert stored(kv)["status"] == "refused"
    await answer(app, core, 200)
    assert stored(kv)["status"] == "refused"  # within 60 s of the last write
    clock.advance(61)
    await answer(app, core, 200)  # replaced (or back): the refusal is cleared
    assert stored(kv)["status"] == "accepted" and "expires" not in stored(kv)
    clock.advance(61)
    await answer(app, core, 200, [EXPIRES])  # now naming its expiry
    assert stored(kv)["expires"] == EXPIRES[1]
    assert kv.writes == 3


async def test_plain_2xx_without_expiry_read_once_per_isolate_and_write_nothing(make_app, core, kv):
    counting = CountingKv(kv)
    app = make_app()
    app.pat_watch._kv = counting
    await answer(app, core, 200)
    for _ in range(20):
        app.upstream_response(request(core, "POST", "/mcp"), 200, [])
        assert app.background_work() is None
    assert counting.reads == 1 and kv.writes == 0


async def test_one_transient_refusal_is_cleared_by_the_next_isolate_that_is_accepted(
    make_app, core, kv
):
    await answer(make_app(), core, 403)  # isolate A: one 403 (a rate limit, SSO, …)
    assert stored(kv)["status"] == "forbidden" and stored(kv)["http_status"] == 403
    other = make_app()  # isolate B: plain 200s, no expiry named
    for _ in range(100):
        await answer(other, core, 200)
    assert stored(kv)["status"] == "accepted"
    assert kv.writes == 2


async def test_a_401_is_refused_and_a_403_forbidden(make_app, core, kv):
    await answer(make_app(), core, 401)
    assert stored(kv)["status"] == "refused"
    kv.data.clear()
    await answer(make_app(), core, 403)
    assert stored(kv)["status"] == "forbidden"


async def test_a_cached_refusal_is_read_again_so_a_deleted_record_is_written_anew(
    app, core, kv, clock
):
    await answer(app, core, 401)
    assert kv.writes == 1
    del kv.data[KEY]  # `cfmcp deploy --new-upstream-token` deleted it; the new PAT is refused
    await answer(app, core, 401)
    assert KEY not in kv.data  # within REREAD_AFTER this isolate trusts what it wrote
    clock.advance(301)
    await answer(app, core, 401)
    assert stored(kv)["status"] == "refused" and kv.writes == 2


async def test_work_handed_out_but_never_run_does_not_block_the_next(app, core, kv):
    app.upstream_response(request(core, "POST", "/mcp"), 401, [])
    work = app.background_work()
    assert work is not None
    work.close()  # a host that could not run it
    await answer(app, core, 401)
    assert stored(kv)["status"] == "refused"


async def test_a_new_isolate_clears_a_refusal_once_the_upstream_names_the_expiry(
    make_app, core, kv
):
    await answer(make_app(), core, 401)
    assert stored(kv)["status"] == "refused"
    await answer(make_app(), core, 200, [EXPIRES])  # another isolate, the PAT replaced
    assert stored(kv)["status"] == "accepted"


async def test_answers_that_say_nothing_of_the_pat_cost_nothing(app, core, kv):
    for status in (500, 502, 404, 405, 429, 302):
        app.upstream_response(request(core, "POST", "/mcp"), status, [])
        assert app.background_work() is None
    assert kv.writes == 0 and kv.data == {}


async def test_syncs_handed_out_together_write_once(app, core, kv):
    app.upstream_response(request(core, "POST", "/mcp"), 401, [])
    first = app.background_work()
    app.upstream_response(request(core, "POST", "/mcp"), 401, [])
    second = app.background_work()  # the first has not started: it holds no flag yet
    assert first is not None and second is not None
    await asyncio.gather(first, second)  # one at a time: the one that starts second returns
    assert kv.writes == 1


async def test_a_failing_kv_write_never_fails_the_request(make_app, core, kv, capsys):
    class Broken:
        async def get(self, key):
            return None

        async def put(self, key, value, ttl=None):
            raise RuntimeError("KV PUT failed: 429 Too Many Requests")

    app = make_app()
    app.pat_watch._kv = Broken()
    verdict = app.upstream_response(request(core, "POST", "/mcp"), 401, [])
    await app.background_work()
    assert verdict.status == 502
    assert "could not record the PAT's status: RuntimeError" in capsys.readouterr().out


async def test_an_odd_expiry_header_is_cut_and_kept_printable(make_app, core, kv):
    await answer(make_app(), core, 200, [(EXPIRES[0], "x" * 500)])
    assert len(stored(kv)["expires"]) == 64
    kv.data.clear()
    await answer(make_app(), core, 401, [(EXPIRES[0], "2026-12-31\n00:00")])
    assert stored(kv)["status"] == "refused" and "expires" not in stored(kv)


async def test_upstream_401_tells_the_client_the_pat_needs_replacing(app, core):
    response = app.upstream_response(
        request(core, "POST", "/mcp"), 401, [("WWW-Authenticate", 'Bearer realm="up"')]
    )
    assert response.status == 502  # never 401: the client's own token is fine
    assert header(response, "www-authenticate") is None
    description = body_json(response)["error_description"]
    assert "replace the PAT with `cfmcp deploy --new-upstream-token`" in description
    assert "signing in again will not help" in description
    assert PAT not in response.body.decode()
