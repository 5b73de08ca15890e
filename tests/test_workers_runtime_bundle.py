"""The real rendered Worker under the Pyodide harness, and the bug class the harness exists for.

A KV binding answers a missing key with JS null, which Pyodide >= 0.28 hands to Python as
`pyodide.ffi.jsnull` — falsy, but not None. Code tested only on CPython against a fake KV that
returns None passes every test and breaks on Workers. The harness must catch that.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from cfmcp.project.config import ProjectConfig
from cfmcp.worker.render import render_bundle
from tests.support.local_http import LocalHttpServer
from tests.support.oauth import (
    AsyncSend,
    Request,
    Tokens,
    async_http_sender,
    obtain_tokens,
    refresh_form,
    run_async,
    token_call,
)
from tests.workers_runtime.host import run_pyodide_worker, start_harness
from tests.workers_runtime.sse_upstream import GatedSse, read_events_gated

pytestmark = pytest.mark.pyodide

REPO = Path(__file__).resolve().parent.parent
PAT = "pat-for-the-harness-0000"

# JsKvStore.get in entry.py, and the bug: treating "missing" as `is None` only.
KV_NULL_CHECK = "        if _is_null(value):\n            return None\n        return str(value)\n"
KV_NONE_CHECK = "        if value is None:\n            return None\n        return str(value)\n"


@pytest.fixture(scope="module")
def sse() -> Iterator[GatedSse]:
    server = GatedSse()
    yield server
    server.close()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, sse: GatedSse) -> Path:
    config = ProjectConfig()
    config.upstream.url = sse.url
    out = tmp_path_factory.mktemp("real-bundle")
    render_bundle(config.validate()).write(out)
    return out


def worker_env(pin: str) -> dict[str, str]:
    return {"UPSTREAM_TOKEN": PAT, "AUTH_PIN": pin, "SIGNING_KEY": secrets.token_urlsafe(32)}


def new_pin() -> str:
    return f"{secrets.randbelow(10**8):08d}"


async def token_reply_over_http(origin: str, pin: str) -> Tokens:
    async with httpx.AsyncClient(base_url=origin, timeout=30) as client:
        return await run_async(
            obtain_tokens(pin, resource=f"{origin}/mcp"), async_http_sender(client)
        )


async def refresh_over_http(origin: str, pin: str):
    async with httpx.AsyncClient(base_url=origin, timeout=30) as client:
        send = async_http_sender(client)
        flow = await run_async(obtain_tokens(pin, resource=f"{origin}/mcp"), send)
        return await run_async(
            token_call(refresh_form(flow.client_id, flow.refresh_token or "")), send
        )


def test_real_bundle_serves_metadata_and_asks_for_a_token(bundle: Path):
    env = {**worker_env(new_pin()), "CFMCP_BUNDLE_SHA256": "c0ffee" * 10 + "beef"}
    with run_pyodide_worker(bundle, env) as origin:
        server = httpx.get(f"{origin}/.well-known/oauth-authorization-server", timeout=30)
        resource = httpx.get(f"{origin}/.well-known/oauth-protected-resource/mcp", timeout=30)
        unauthenticated = httpx.post(f"{origin}/mcp", json={}, timeout=30)
    assert server.status_code == 200
    assert server.json()["issuer"] == origin
    assert server.json()["token_endpoint"] == f"{origin}/token"
    assert server.headers["cfmcp-bundle"] == "c0ffee" * 10 + "beef"  # the plain_text binding
    assert resource.status_code == 200
    assert resource.json()["resource"] == f"{origin}/mcp"
    assert resource.json()["authorization_servers"] == [origin]
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{origin}/.well-known/oauth-protected-resource/mcp", scope="mcp"'
    )


def test_sse_from_upstream_streams_through_the_worker_event_by_event(bundle: Path, sse: GatedSse):
    pin = new_pin()
    with start_harness(bundle, worker_env(pin)) as info:
        flow = asyncio.run(token_reply_over_http(info.origin, pin))
        assert flow.token_reply.status == 200, flow.token_reply.body
        arrived = read_events_gated(
            "POST",
            f"{info.origin}/mcp",
            sse,
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={
                "authorization": f"Bearer {flow.access_token}",
                "accept": "application/json, text/event-stream",
            },
        )
    assert b"".join(chunk for chunk, _ in arrived) == b"data: one\n\ndata: two\n\n"
    assert arrived[0] == (b"data: one\n\n", False)
    method, _, headers = sse.requests[-1]
    assert method == "POST"
    assert headers["Authorization"] == f"Bearer {PAT}"  # the PAT, not the client's token


def patched_bundle(bundle: Path, destination: Path) -> Path:
    """A copy of the bundle whose KV adapter checks `value is None` instead of JS null."""
    shutil.copytree(bundle, destination)
    entry = destination / "entry.py"
    source = entry.read_text()
    assert source.count(KV_NULL_CHECK) == 1, "JsKvStore.get changed; update KV_NULL_CHECK"
    entry.write_text(source.replace(KV_NULL_CHECK, KV_NONE_CHECK))
    return destination


def run_flow_on_cpython(bundle_dir: Path, pin: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "tests.workers_runtime.cpython_entry", str(bundle_dir)],
        cwd=REPO,
        env={**os.environ, "CFMCP_TEST_PIN": pin},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_harness_catches_jsnull_treated_as_none(bundle: Path, tmp_path: Path):
    """A refresh reads the grant's revocation marker: a KV key that must be missing."""
    broken = patched_bundle(bundle, tmp_path / "broken")
    pin = new_pin()

    # CPython with a None-returning fake KV: the broken adapter passes, as a unit test would.
    assert run_flow_on_cpython(broken, pin) == {
        "token_status": 200,
        "refresh_status": 200,
        "refresh_error": None,
    }

    # Under Pyodide the missing marker comes back as jsnull, so the grant looks revoked.
    with start_harness(broken, worker_env(pin)) as info:
        refreshed = asyncio.run(refresh_over_http(info.origin, pin))
    assert refreshed.status == 400
    assert refreshed.json()["error"] == "invalid_grant"

    # The shipped adapter converts jsnull and completes the same flow under Pyodide.
    with start_harness(bundle, worker_env(pin)) as info:
        refreshed = asyncio.run(refresh_over_http(info.origin, pin))
    assert refreshed.status == 200, refreshed.body
    assert refreshed.json()["token_type"].lower() == "bearer"


ADAPTER_PROBE = """
import json

import js
from workers import WorkerEntrypoint

import cfmcp_entry


async def run(env, op):
    if op["op"] == "metadata":
        result = await cfmcp_entry.fetch_metadata_document(op["url"])
        return None if result is None else [result[0], result[1].decode()]
    kv = cfmcp_entry.JsKvStore(env.OAUTH_KV)
    if op["op"] == "list_keys":
        for index in range(op["count"]):
            await kv.put(f"{op['prefix']}{index:05d}", "v")
        return await kv.list_keys(op["prefix"])
    if op["op"] == "round_trip":
        missing = await kv.get("adapter:missing")
        await kv.put("adapter:key", "value", ttl=60)
        present = await kv.get("adapter:key")
        await kv.delete("adapter:key")
        return [missing, present, await kv.get("adapter:key")]
    raise ValueError(op["op"])


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        result = await run(self.env, json.loads(await request.text()))
        return js.Response.new(json.dumps(result))
"""


class DocumentServer:
    """Serves /small (a document), /huge (over 64 KiB), /slow (too slow), /moved (a redirect)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        stop = self.stop

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/slow":
                    stop.wait(timeout=10)
                    return
                if self.path == "/moved":
                    self.send_response(302)
                    self.send_header("Location", "/small")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b'{"client_id": "x"}' if self.path == "/small" else b"x" * (70 * 1024)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if self.path == "/small":  # /huge has no length: the cap must apply while reading
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.http = LocalHttpServer(Handler)
        self.origin = self.http.origin

    def close(self) -> None:
        self.stop.set()
        self.http.close()


@pytest.fixture(scope="module", params=["raw KV binding", "SDK-wrapped KV binding"])
def adapter_probe(
    bundle: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    """The real entry.py as module `cfmcp_entry` (timeout cut to 0.5 s), driven by a probe.

    Twice: with OAUTH_KV handed over raw (the runtime's SDK today: null is jsnull) and wrapped
    by the `workers` SDK (the vendored SDK from compatibility date 2026-04-21: null is None).
    """
    probe = tmp_path_factory.mktemp("adapter-probe")
    shutil.copytree(bundle, probe, dirs_exist_ok=True)
    source = (probe / "entry.py").read_text()
    assert source.count("METADATA_TIMEOUT_MS = 5000\n") == 1
    (probe / "cfmcp_entry.py").write_text(
        source.replace("METADATA_TIMEOUT_MS = 5000\n", "METADATA_TIMEOUT_MS = 500\n")
    )
    (probe / "entry.py").write_text(ADAPTER_PROBE)
    wrapped = request.param.startswith("SDK")
    with start_harness(probe, worker_env(new_pin()), sdk_wrapped_kv=wrapped) as info:
        yield info.origin


def probe(origin: str, **op: object):
    reply = httpx.post(origin, content=json.dumps(op), timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_kv_adapter_turns_jsnull_into_none(adapter_probe: str):
    assert probe(adapter_probe, op="round_trip") == [None, "value", None]


def test_kv_adapter_lists_every_key_across_pages(adapter_probe: str):
    names = probe(adapter_probe, op="list_keys", prefix="many:", count=1005)  # KV pages by 1000
    assert names == [f"many:{index:05d}" for index in range(1005)]


def test_metadata_fetch_returns_status_and_body(adapter_probe: str):
    server = DocumentServer()
    try:
        assert probe(adapter_probe, op="metadata", url=f"{server.origin}/small") == [
            200,
            '{"client_id": "x"}',
        ]
        assert probe(adapter_probe, op="metadata", url=f"{server.origin}/moved") == [302, ""]
        assert probe(adapter_probe, op="metadata", url=f"{server.origin}/huge") is None
        assert probe(adapter_probe, op="metadata", url=f"{server.origin}/slow") is None
        assert probe(adapter_probe, op="metadata", url="http://127.0.0.1:9/closed") is None
    finally:
        server.close()


def test_oversized_mcp_body_is_refused_without_reaching_upstream(bundle: Path, sse: GatedSse):
    pin = new_pin()
    with start_harness(bundle, worker_env(pin)) as info:
        flow = asyncio.run(token_reply_over_http(info.origin, pin))
        calls_before = len(sse.requests)

        def chunks() -> Iterator[bytes]:  # no Content-Length: the Worker must cap while reading
            for _ in range(5):
                yield b"x" * (1024 * 1024)

        reply = httpx.post(
            f"{info.origin}/mcp",
            content=chunks(),
            timeout=30,
            headers={
                "authorization": f"Bearer {flow.access_token}",
                "content-type": "application/json",
            },
        )
    assert reply.status_code == 413, reply.text
    assert len(sse.requests) == calls_before


def test_a_missing_secret_is_reported_without_revealing_the_others(bundle: Path):
    env = worker_env(new_pin())
    del env["AUTH_PIN"]
    with start_harness(bundle, env) as info:
        reply = httpx.get(f"{info.origin}/.well-known/oauth-authorization-server", timeout=30)
    assert reply.status_code == 500
    assert "AUTH_PIN" in reply.text and "cfmcp deploy" in reply.text
    assert env["SIGNING_KEY"] not in reply.text and PAT not in reply.text


def test_kv_write_rate_limit_is_absorbed_by_the_adapter(bundle: Path):
    """KV allows one write per second per key: a refresh right after the code exchange (and a
    retry with the previous refresh token) rewrite the grant at once; entry.py waits and retries
    instead of failing the request."""
    pin = new_pin()
    with start_harness(bundle, worker_env(pin), kv_write_limit=True) as info:

        async def refresh_twice():
            async with httpx.AsyncClient(base_url=info.origin, timeout=30) as client:
                flow = await run_async(
                    obtain_tokens(pin, resource=f"{info.origin}/mcp"), async_http_sender(client)
                )
                form = {
                    "grant_type": "refresh_token",
                    "client_id": flow.client_id,
                    "refresh_token": flow.token_reply.json()["refresh_token"],
                }
                headers = {"content-type": "application/x-www-form-urlencoded"}
                first = await client.post("/token", data=form, headers=headers)
                retried = await client.post("/token", data=form, headers=headers)
                return first, retried

        first, retried = asyncio.run(refresh_twice())
    assert first.status_code == 200, first.text
    assert retried.status_code == 200, retried.text  # previous token, inside the grace window


def test_a_code_and_its_tokens_work_at_once_at_another_location(bundle: Path, sse: GatedSse):
    """KV writes take up to 60 s to reach other edge locations. The browser approves at one
    location and the client redeems the code at another, at once; the token is then used back
    at the first. Both locations serve the same hostname (the first origin)."""
    pin = new_pin()
    with start_harness(
        bundle, worker_env(pin), locations=["browser", "client"], control=True, kv_write_limit=True
    ) as info:
        browser, client = info.origins["browser"], info.origins["client"]

        async def cross_location_flow():
            async with (
                httpx.AsyncClient(base_url=browser, timeout=30) as at_browser,
                httpx.AsyncClient(base_url=client, timeout=30) as at_client,
            ):
                send = split_sender(async_http_sender(at_browser), async_http_sender(at_client))
                flow = await run_async(obtain_tokens(pin, resource=f"{browser}/mcp"), send)
                sse.release.set()  # let the upstream answer at once
                used = await at_browser.post(
                    "/mcp",
                    json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                    headers={
                        "authorization": f"Bearer {flow.access_token}",
                        "accept": "application/json, text/event-stream",
                    },
                )
                await at_browser.post("/__harness__/kv-clock", params={"advance": 61})
                form = {
                    "grant_type": "refresh_token",
                    "client_id": flow.client_id,
                    "refresh_token": flow.token_reply.json()["refresh_token"],
                }
                refreshed = await at_browser.post("/token", data=form)
                return flow, used, refreshed

        flow, used, refreshed = asyncio.run(cross_location_flow())
    assert flow.token_reply.status == 200, flow.token_reply.body  # code redeemed elsewhere
    assert used.status_code == 200, used.text  # the new token works at the other place at once
    assert refreshed.status_code == 200, refreshed.text  # grant replicated after 60 s


def split_sender(browser: AsyncSend, client: AsyncSend) -> AsyncSend:
    """Consent at the browser's location; registration and /token at the client's."""

    async def send(request: Request):
        side = browser if urlsplit(request.url).path.startswith("/authorize") else client
        return await side(request)

    return send


def test_mcp_requests_write_nothing_to_kv(bundle: Path, sse: GatedSse):
    """The free plan allows 1,000 KV writes a day: proxying must not write to KV."""
    pin = new_pin()
    with start_harness(bundle, worker_env(pin), control=True) as info:
        flow = asyncio.run(token_reply_over_http(info.origin, pin))
        assert flow.token_reply.status == 200, flow.token_reply.body
        sse.release.set()
        headers = {
            "authorization": f"Bearer {flow.access_token}",
            "accept": "application/json, text/event-stream",
        }

        def ping() -> None:
            reply = httpx.post(
                f"{info.origin}/mcp",
                headers=headers,
                timeout=30,
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            )
            assert reply.status_code == 200, reply.text

        def kv() -> dict:
            return httpx.get(f"{info.origin}/__harness__/stats").json()["kv"]

        before = kv()
        ping()
        first = kv()
        for _ in range(5):
            ping()
        after = kv()
    assert after["writes"] == before["writes"]
    # The first request of an isolate reads at most the grant's status (then cached) and the
    # Worker's record of the PAT (pat_watch: once per isolate); later requests read nothing.
    assert first["reads"] - before["reads"] <= 2
    assert after["reads"] == first["reads"]


def test_the_log_lines_under_pyodide_name_each_request_and_hold_no_secret(
    bundle: Path, sse: GatedSse
):
    """The Worker's print() lines as the runtime gets them: one request line per request, the
    audit line of a tools/call, and none of the secrets of a whole flow."""
    pin = new_pin()
    env = worker_env(pin)
    with start_harness(bundle, env) as info:
        flow = asyncio.run(token_reply_over_http(info.origin, pin))
        sse.release.set()
        call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "echo"}}
        reply = httpx.post(
            f"{info.origin}/mcp",
            headers={
                "authorization": f"Bearer {flow.access_token}",
                "accept": "application/json, text/event-stream",
            },
            timeout=30,
            json=call,
        )
        assert reply.status_code == 200, reply.text
        log = info.log()
    printed = [text.removeprefix("[worker stdout] ") for text in log.splitlines()]
    lines = [json.loads(text) for text in printed if text.startswith('{"cfmcp"')]
    requests = [
        (line["method"], line["path"], line["status"])
        for line in lines
        if line["cfmcp"] == "request"
    ]
    assert ("POST", "/register", 201) in requests and ("POST", "/token", 200) in requests
    proxied = next(line for line in lines if line.get("mcp_method") == "tools/call")
    assert proxied["tool"] == "echo" and proxied["status"] == 200 and "headers_ms" in proxied
    audit = next(line for line in lines if line["cfmcp"] == "tools/call")
    assert audit["decision"] == "allowed" and audit["grant"] == proxied["grant"]
    for secret in (
        pin,
        PAT,
        env["SIGNING_KEY"],
        flow.access_token,
        str(flow.refresh_token),
        flow.client_id,
    ):
        assert secret not in log


def test_an_exception_in_the_entry_module_is_a_500_and_a_line_without_its_message(
    bundle: Path, tmp_path: Path
):
    """An exception's message can quote what a request carried: the runtime never sees it
    (no traceback in the logs), the `error` line names its type and where it was raised."""
    broken = tmp_path / "raising"
    shutil.copytree(bundle, broken)
    entry = broken / "entry.py"
    source = entry.read_text()
    line = "    method = str(js_request.method).upper()\n"
    assert source.count(line) == 1, "_to_http_request changed; update this test"
    raising = '    raise ValueError("cfat.a-token-in-an-exception " + str(js_request.url))\n'
    entry.write_text(source.replace(line, raising + line))
    with start_harness(broken, worker_env(new_pin())) as info:
        reply = httpx.get(f"{info.origin}/mcp?secret=query-value", timeout=30)
        log = info.log()
    assert reply.status_code == 500 and reply.json() == {"error": "server_error"}
    assert "a-token-in-an-exception" not in log and "query-value" not in log
    assert "Traceback" not in log
    printed = [text.removeprefix("[worker stdout] ") for text in log.splitlines()]
    (error,) = [json.loads(text) for text in printed if text.startswith('{"cfmcp":"error"')]
    assert error["type"] == "ValueError"
    assert error["where"][-1].startswith("entry.py:") and "_to_http_request" in error["where"][-1]
