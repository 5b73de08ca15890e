"""Measure the Worker under Pyodide: cold start and Python time per request.

    .venv/bin/python benchmarks/pyodide_runtime.py [--starts 3] [--requests 200] [--refreshes 50]

Runs the real rendered bundle in the Workers harness (tests/workers_runtime: Pyodide 0.28.2 in
Node, the runtime's `workers` SDK, in-memory KV) in front of a local JSON upstream, and prints:

- cold start: the time to import the Worker's main module beyond bare Pyodide start-up, with
  the `workers` SDK (the runtime's, imported first) reported separately; plus the slowest
  modules of that import. Goal: <= 50 ms.
- Python time per request for an authenticated proxied MCP request and for /token (refresh
  and authorization-code grants). Goal: <= 2 ms.

Needs the test setup (scripts/test installs it). It measures and prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from cfmcp.project.config import ProjectConfig  # noqa: E402
from cfmcp.worker.render import render_bundle  # noqa: E402
from tests.support.local_http import LocalHttpServer  # noqa: E402
from tests.support.oauth import (  # noqa: E402
    FORM_TYPE,
    async_http_sender,
    obtain_tokens,
    run_async,
)
from tests.workers_runtime.host import HarnessInfo, start_harness  # noqa: E402

TIME_HEADER = "x-harness-python-ms"
FETCH_CALL_HEADER = "x-harness-fetch-call-ms"
MCP_PING = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()

METHOD = """\
Method
  cold start   The harness times `import entry` inside Pyodide (time.perf_counter) after
               Pyodide has booted and after `import workers` (the SDK the runtime provides);
               this includes compiling the bundle's .py sources. On Workers the import runs
               once per deployment while the memory snapshot is taken.
  per request  The harness drives the fetch handler's coroutine step by step and adds up the
               time of each synchronous slice (time.perf_counter around every resumption), so
               the time spent suspended on KV reads/writes, the upstream fetch and body reads
               is excluded, while Python work and the JS calls it makes synchronously
               (building Requests/Responses/Headers) are included. It covers the runtime's
               own per-request wrapping (constructing Default, python_from_rpc/python_to_rpc).
               Streaming the upstream body to the client happens in JS, not in Python.
               The synchronous part of calling fetch() is counted too: in Node that is
               undici's JavaScript, in workerd native code, so it is also shown subtracted
               (timed by wrapping globalThis.fetch). Pyodide in Node runs on V8 like workerd,
               but absolute numbers depend on this machine's CPU; compare with the 10 ms
               free-plan CPU limit."""


class JsonUpstream:
    """A tiny upstream MCP endpoint that answers every POST with a JSON-RPC result."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = b'{"jsonrpc":"2.0","id":1,"result":{}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.http = LocalHttpServer(Handler)
        self.url = self.http.origin + "/mcp"

    def close(self) -> None:
        self.http.close()


@contextmanager
def rendered_bundle(upstream_url: str) -> Iterator[Path]:
    config = ProjectConfig()
    config.upstream.url = upstream_url
    with tempfile.TemporaryDirectory(prefix="cfmcp-bench-") as scratch:
        render_bundle(config.validate()).write(Path(scratch))
        yield Path(scratch)


def worker_env(pin: str) -> dict[str, str]:
    return {
        "UPSTREAM_TOKEN": "pat-benchmark",
        "AUTH_PIN": pin,
        "SIGNING_KEY": secrets.token_urlsafe(32),
    }


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return (
        f"median {statistics.median(ordered):6.2f} ms   p90 {p90:6.2f} ms   "
        f"max {ordered[-1]:6.2f} ms   (n={len(ordered)})"
    )


def python_ms(response: httpx.Response) -> float:
    return float(response.headers[TIME_HEADER])


def measure_cold_starts(bundle: Path, starts: int) -> None:
    infos: list[HarnessInfo] = []
    for index in range(starts):
        with start_harness(bundle, worker_env("00000000"), import_profile=index == 0) as info:
            infos.append(info)
    pyodide = statistics.median(i.pyodide_ms for i in infos)
    sdk = statistics.median(i.sdk_import_ms for i in infos)
    main = statistics.median(i.main_import_ms for i in infos)
    print(f"Cold start (median of {starts} fresh isolates)")
    print(f"  bare Pyodide start-up             {pyodide:8.1f} ms   (not the Worker's)")
    print(f"  import workers (runtime SDK)      {sdk:8.1f} ms   (the runtime's, not ours)")
    print(
        f"  import entry (Worker main module) {main:8.1f} ms   goal <= 50 ms: "
        f"{'met' if main <= 50 else 'NOT met'}"
    )
    print("  slowest modules of that import (self time, first run, profiler on):")
    for name, self_ms, total_ms in infos[0].import_profile[:8]:
        print(f"    {name:38s} {self_ms:7.2f} ms  (incl. imports {total_ms:7.2f} ms)")


async def measure_requests(bundle: Path, requests: int, refreshes: int, codes: int) -> None:
    pin = f"{secrets.randbelow(10**8):08d}"
    with start_harness(bundle, worker_env(pin), measure_cpu=True, control=True) as info:
        async with httpx.AsyncClient(base_url=info.origin, timeout=30) as client:
            first = await client.get("/.well-known/oauth-protected-resource/mcp")
            code_grants: list[float] = []
            flow = None
            for _ in range(codes):
                flow = await run_async(
                    obtain_tokens(pin, resource=f"{info.origin}/mcp"), async_http_sender(client)
                )
                assert flow.token_reply.status == 200, flow.token_reply.body
                code_grants.append(float(flow.token_reply.headers[TIME_HEADER]))
            assert flow is not None
            headers = {
                "authorization": f"Bearer {flow.access_token}",
                "content-type": "application/json",
                "accept": "application/json, text/event-stream",
            }
            proxied: list[float] = []
            fetch_calls: list[float] = []
            kv_before = (await client.get("/__harness__/stats")).json()["kv"]
            for _ in range(requests):
                reply = await client.post("/mcp", content=MCP_PING, headers=headers)
                assert reply.status_code == 200, reply.text
                proxied.append(python_ms(reply))
                fetch_calls.append(float(reply.headers[FETCH_CALL_HEADER]))
            kv_after = (await client.get("/__harness__/stats")).json()["kv"]
            refresh_token = flow.token_reply.json()["refresh_token"]
            refreshed: list[float] = []
            for _ in range(refreshes):
                form = {
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                    "client_id": flow.client_id,
                }
                reply = await client.post(
                    "/token", content=urlencode(form).encode(), headers={"content-type": FORM_TYPE}
                )
                assert reply.status_code == 200, reply.text
                refresh_token = reply.json()["refresh_token"]
                refreshed.append(python_ms(reply))
            memory = (await client.get("/__harness__/stats")).json()["wasm_memory_bytes"]
    skip = 5 if len(proxied) > 10 else 0
    warm = proxied[skip:]
    without_fetch = [total - call for total, call in zip(warm, fetch_calls[skip:], strict=True)]
    print("\nPython time per request (goal <= 2 ms)")
    print(f"  first request of the isolate (creates WorkerApp)  {python_ms(first):6.2f} ms")
    print(f"  proxied MCP request (bearer check + forward)  {summary(warm)}")
    print(f"    without the fetch() call itself (Node's undici JS)  {summary(without_fetch)}")
    print(
        f"    KV over {requests} proxied requests: "
        f"{kv_after['reads'] - kv_before['reads']} reads, "
        f"{kv_after['writes'] - kv_before['writes']} writes"
    )
    print(f"  /token refresh_token grant (with rotation)    {summary(refreshed)}")
    print(f"  /token authorization_code grant               {summary(code_grants)}")
    print(
        f"\nPyodide heap after these requests: {memory / 2**20:.0f} MiB "
        "(Workers allows 128 MB per isolate)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3, help="cold starts to measure")
    parser.add_argument("--requests", type=int, default=200, help="proxied MCP requests")
    parser.add_argument("--refreshes", type=int, default=50, help="refresh_token grants")
    parser.add_argument("--codes", type=int, default=10, help="authorization_code grants")
    args = parser.parse_args()
    upstream = JsonUpstream()
    try:
        with rendered_bundle(upstream.url) as bundle:
            measure_cold_starts(bundle, max(1, args.starts))
            asyncio.run(
                measure_requests(
                    bundle, max(1, args.requests), max(1, args.refreshes), max(1, args.codes)
                )
            )
    finally:
        upstream.close()
    print()
    print(METHOD)


if __name__ == "__main__":
    main()
