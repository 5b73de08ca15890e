"""cfmcp.pat: one authenticated request proves (or not) that the upstream accepts a PAT, on
both transports, against real PAT-only MCP servers on 127.0.0.1; and the expiry header."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from cfmcp.local.server import bind_socket, origin_of
from cfmcp.pat.probe import check_pat
from cfmcp.pat.verdict import (
    PatStatus,
    days_left,
    expires_soon,
    expiry_phrase,
    parse_expiration,
)
from cfmcp.project.config import UpstreamConfig
from tests.integration.upstream import ThreadedServer
from tests.support.pat_upstreams import PatUpstream


@pytest.fixture(scope="module")
def http_upstream() -> Iterator[PatUpstream]:
    with PatUpstream(expires="2026-12-31 00:00:00 UTC") as server:
        yield server


@pytest.fixture(scope="module")
def sse_upstream() -> Iterator[PatUpstream]:
    with PatUpstream(sse=True) as server:
        yield server


def config(url: str, transport: str = "streamable-http") -> UpstreamConfig:
    return UpstreamConfig(url=url, transport=transport)


def test_initialize_with_the_right_pat_is_accepted_and_its_session_closed(http_upstream):
    http_upstream.recorder.clear()
    verdict = check_pat(config(http_upstream.url), http_upstream.pat)
    assert verdict.status is PatStatus.accepted, verdict
    assert verdict.http_status == 200
    assert verdict.expires_at == datetime(2026, 12, 31, tzinfo=UTC)
    seen = http_upstream.recorder.snapshot()
    assert [s.method for s in seen] == ["POST", "DELETE"]  # initialize, then the session ends
    assert all(s.headers["authorization"] == f"Bearer {http_upstream.pat}" for s in seen)
    assert seen[1].headers.get("mcp-session-id")


def test_a_wrong_pat_is_refused_and_nothing_else_is_sent(http_upstream):
    http_upstream.recorder.clear()
    verdict = check_pat(config(http_upstream.url), "FAKE-wrong-pat")
    assert verdict.status is PatStatus.refused
    assert verdict.http_status == 401
    assert "FAKE-wrong-pat" not in verdict.detail
    assert [s.method for s in http_upstream.recorder.snapshot()] == ["POST"]


def test_the_credential_goes_as_configured(http_upstream):
    upstream = UpstreamConfig(
        url=http_upstream.url, auth_header="Authorization", auth_format="token {token}"
    )
    # the demo wants "Bearer <pat>": "token <pat>" is refused, which proves the format is used
    assert check_pat(upstream, http_upstream.pat).status is PatStatus.refused


def test_legacy_sse_stream_with_the_right_pat_is_accepted(sse_upstream):
    verdict = check_pat(config(sse_upstream.url, "sse"), sse_upstream.pat, timeout=5)
    assert verdict.status is PatStatus.accepted, verdict
    assert check_pat(config(sse_upstream.url, "sse"), "FAKE-wrong").status is PatStatus.refused


def test_no_answer_is_unchecked_not_accepted():
    sock = bind_socket("127.0.0.1", 0)
    url = origin_of(sock) + "/mcp"
    sock.close()  # nothing listens there now
    verdict = check_pat(config(url), "FAKE-any", timeout=2)
    assert verdict.status is PatStatus.unchecked
    assert "ConnectError" in verdict.detail


@pytest.mark.parametrize("status", [404, 500, 302])
def test_answers_that_prove_nothing_are_unchecked(status):
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with ThreadedServer(app) as server:
        verdict = check_pat(config(server.origin + "/mcp"), "FAKE-any")
    assert verdict.status is PatStatus.unchecked
    assert verdict.http_status == status


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-12-31 00:00:00 UTC", datetime(2026, 12, 31, tzinfo=UTC)),
        ("2021-10-07 19:07:53 UTC", datetime(2021, 10, 7, 19, 7, 53, tzinfo=UTC)),
        ("2026-12-31T10:00:00Z", datetime(2026, 12, 31, 10, tzinfo=UTC)),
        ("2026-12-31 00:00:00 +0100", datetime(2026, 12, 30, 23, tzinfo=UTC)),
        ("", None),
        ("never", None),
    ],
)
def test_expiration_header(value, expected):
    assert parse_expiration(value) == expected


def test_expiry_is_said_in_days_and_warned_within_14():
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    in_29 = datetime(2026, 12, 31, 12, tzinfo=UTC)
    assert expiry_phrase(in_29, now) == "the PAT expires on 2026-12-31 (in 29 days)"
    assert not expires_soon(in_29, now)
    assert expires_soon(now + timedelta(days=14), now)
    assert not expires_soon(now + timedelta(days=15), now)
    assert expiry_phrase(now - timedelta(days=2), now) == "the PAT expired on 2026-11-30"
    assert expires_soon(now - timedelta(days=2), now)
    assert days_left(now - timedelta(hours=1), now) == -1


JUNK_EXPIRIES = [
    "9999-12-31T23:59:59-05:00",  # its UTC time is past datetime.max
    "0001-01-01T00:00:00+05:00",  # its UTC time is before datetime.min
    "9999-12-31 23:59:59 UTC",
    "1900-01-01 00:00:00 UTC",
    "2026-02-30 00:00:00 UTC",
    "2026-12-31T25:00:00Z",
    "2026-12-31T00:00:00+24:00",
    "\x00",
    "2026-12-31 00:00:00 UTC UTC",
]


@pytest.mark.parametrize("value", JUNK_EXPIRIES)
def test_a_junk_expiry_is_no_expiry_known(value):
    assert parse_expiration(value) is None


def test_fuzzed_expiries_never_raise_and_are_always_utc():
    import random

    rng = random.Random(7)
    pieces = ["9999", "0001", "2026", "-12-31", "T", " ", "23:59:59", "-05:00", "+14:00", "Z"]
    for _ in range(2000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        moment = parse_expiration(value)
        if moment is not None:
            assert moment.utcoffset() == timedelta(0) and 2000 <= moment.year <= 2200
            expiry_phrase(moment, datetime(2026, 12, 2, tzinfo=UTC))  # says it without raising


def test_a_pat_that_cannot_be_sent_is_unchecked_without_the_pat_in_the_detail():
    pat = "ghp_SECRET\u200bvalue"
    verdict = check_pat(config("http://127.0.0.1:9/mcp"), pat, timeout=1)
    assert verdict.status is PatStatus.unchecked
    assert "SECRET" not in verdict.detail and "UnicodeEncodeError" in verdict.detail
