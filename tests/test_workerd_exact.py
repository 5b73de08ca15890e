"""The exact state in Cloudflare's real runtime: workerd, the ExactState Durable Object, and KV
made as slow as an edge location's (every KV operation waits 10 ms, so requests interleave).

Each test counts what the bindings saw (the runner's --count-ops): wrong PINs write nothing to
KV, `/mcp` makes no Durable Object call, and the bounds hold under concurrency.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cfmcp.project.config import ProjectConfig
from cfmcp.worker.render import render_bundle
from tests.integration.upstream import RecordingUpstream
from tests.support.hosts import start_workerd, workerd_unavailable
from tests.support.oauth import (
    MCP_HEADERS,
    REDIRECT_URI,
    async_http_sender,
    authorization_code,
    code_form,
    mcp_initialize,
    obtain_tokens,
    pkce_pair,
    refresh_form,
    registration,
    run_async,
)

KV_LATENCY_MS = 10
PIN = "workerd-exact-" + secrets.token_hex(4)
WRONG = "wrong-pin-0000"
INITIALIZE = mcp_initialize("cfmcp-workerd-exact")


@pytest.fixture(scope="module")
def upstream() -> Iterator[RecordingUpstream]:
    server = RecordingUpstream().start()
    yield server
    server.stop()


ONE_ARBITER = "namespace.get(object_id)"
NO_ARBITER = "namespace.get(namespace.newUniqueId())"  # a fresh object per call


def render_to(directory: Path, upstream: RecordingUpstream, bypass: bool = False) -> Path:
    config = ProjectConfig()
    config.upstream.url = upstream.mcp_url
    render_bundle(config.validate(), public_url="").write(directory)
    if bypass:
        entry = directory / "entry.py"
        source = entry.read_text()
        assert source.count(ONE_ARBITER) == 1, "entry.py changed: update ONE_ARBITER"
        entry.write_text(source.replace(ONE_ARBITER, NO_ARBITER))
    return directory


@contextlib.contextmanager
def running(bundle_dir: Path, upstream: RecordingUpstream):
    """`cfmcp dev --runtime workerd` with KV at KV_LATENCY_MS and every binding call counted."""
    missing = workerd_unavailable()
    if missing:
        pytest.skip(f"workerd is not available here: {missing}")
    env = {
        "UPSTREAM_TOKEN": upstream.pat,
        "AUTH_PIN": PIN,
        "SIGNING_KEY": secrets.token_urlsafe(32),
    }
    with start_workerd(bundle_dir, env, kv_latency_ms=KV_LATENCY_MS, count_ops=True) as host:
        yield host


@pytest.fixture(scope="module")
def workerd(upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory):
    with running(render_to(tmp_path_factory.mktemp("exact-bundle"), upstream), upstream) as ready:
        yield ready


def ops(ready) -> dict[str, int]:
    return httpx.get(f"{ready.control}/ops", timeout=10).json()


async def consent_token(client: httpx.AsyncClient) -> str:
    client_id = (await run_async(registration(), async_http_sender(client)))["client_id"]
    _, challenge = pkce_pair()
    page = await client.get(
        "/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert page.status_code == 200, page.text[:300]
    match = re.search(r'name="request" value="([^"]+)"', page.text)
    assert match
    return html.unescape(match.group(1))


async def _wrong_pins(origin: str, control: str, count: int):
    async with httpx.AsyncClient(base_url=origin, timeout=60) as client:
        token = await consent_token(client)
        before = httpx.get(f"{control}/ops", timeout=10).json()
        answers = await asyncio.gather(
            *(
                client.post(
                    "/authorize", data={"request": token, "pin": WRONG, "action": "approve"}
                )
                for _ in range(count)
            )
        )
        after = httpx.get(f"{control}/ops", timeout=10).json()
        return [a.status_code for a in answers], before, after


def test_concurrent_wrong_pins_stop_at_the_bound_and_write_nothing_to_kv(workerd) -> None:
    statuses, before, after = asyncio.run(_wrong_pins(workerd.origin, workerd.control, 40))
    assert statuses.count(401) == 5, statuses  # the per-address bound, not one more
    assert statuses.count(429) == 35
    assert after["kv_put"] == before["kv_put"] and after["kv_delete"] == before["kv_delete"]
    assert after["do_call"] - before["do_call"] == 40  # each attempt asked the one arbiter


def test_the_bound_test_fails_when_the_one_arbiter_is_bypassed(upstream, tmp_path) -> None:
    """The same Worker with a fresh Durable Object per request: every wrong PIN is answered.
    This is what the test above would see if the exact state were not one serialising owner."""
    with running(render_to(tmp_path / "bypassed", upstream, bypass=True), upstream) as ready:
        statuses, _, _ = asyncio.run(_wrong_pins(ready.origin, ready.control, 20))
    assert statuses.count(401) == 20, statuses


def test_concurrent_redemptions_of_one_code_make_one_grant(workerd) -> None:
    async def scenario():
        async with httpx.AsyncClient(
            base_url=workerd.origin, timeout=60, headers={"cf-connecting-ip": "198.51.100.21"}
        ) as client:
            send = async_http_sender(client)
            client_id = (await run_async(registration(), send))["client_id"]
            resource = f"{workerd.origin}/mcp"
            code, verifier = await run_async(
                authorization_code(client_id, PIN, resource=resource), send
            )
            form = code_form(client_id, code, verifier)
            before = ops(workerd)
            answers = await asyncio.gather(*(client.post("/token", data=form) for _ in range(5)))
            return answers, before, ops(workerd)

    answers, before, after = asyncio.run(scenario())
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    assert len({a.json()["refresh_token"] for a in answers}) == 1  # one grant, five answers
    # Its one index entry: written by the first, and by a retry that does not see it yet.
    assert 1 <= after["kv_put"] - before["kv_put"] <= 5


def test_concurrent_refreshes_make_one_rotation_whose_tokens_work(workerd) -> None:
    async def scenario():
        async with httpx.AsyncClient(
            base_url=workerd.origin, timeout=60, headers={"cf-connecting-ip": "198.51.100.22"}
        ) as client:
            flow = await run_async(
                obtain_tokens(PIN, resource=f"{workerd.origin}/mcp"), async_http_sender(client)
            )
            form = refresh_form(flow.client_id, flow.refresh_token or "")
            answers = await asyncio.gather(*(client.post("/token", data=form) for _ in range(5)))
            calls = await asyncio.gather(
                *(
                    client.post(
                        "/mcp",
                        json=INITIALIZE,
                        headers={
                            **MCP_HEADERS,
                            "authorization": f"Bearer {a.json()['access_token']}",
                        },
                    )
                    for a in answers
                    if a.status_code == 200
                )
            )
            return answers, calls

    answers, calls = asyncio.run(scenario())
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    assert len({a.json()["refresh_token"] for a in answers}) == 1
    assert all(c.status_code == 200 for c in calls), [c.status_code for c in calls]


def test_mcp_requests_make_no_durable_object_call_and_no_kv_write(workerd) -> None:
    async def scenario():
        async with httpx.AsyncClient(
            base_url=workerd.origin, timeout=60, headers={"cf-connecting-ip": "198.51.100.23"}
        ) as client:
            flow = await run_async(
                obtain_tokens(PIN, resource=f"{workerd.origin}/mcp"), async_http_sender(client)
            )
            headers = {**MCP_HEADERS, "authorization": f"Bearer {flow.access_token}"}
            before = ops(workerd)
            for _ in range(20):
                reply = await client.post("/mcp", json=INITIALIZE, headers=headers)
                assert reply.status_code == 200, reply.text
            return before, ops(workerd)

    before, after = asyncio.run(scenario())
    assert after["do_call"] == before["do_call"]
    assert after["kv_put"] == before["kv_put"]
    assert after["kv_get"] - before["kv_get"] <= 2  # the revocation check, cached per isolate
