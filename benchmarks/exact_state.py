"""What the ExactState Durable Object costs in workerd, and proof that /mcp never calls it.

Usage: .venv/bin/python benchmarks/exact_state.py [--rounds N] [--kv-latency-ms MS]

Runs the rendered Worker in workerd (Cloudflare's runtime, via `cfmcp dev --runtime workerd`
with the runner counting every KV operation and Durable Object call) in front of a real MCP
server, and times, in interleaved rounds:
- POST /authorize with Deny (no Durable Object call) against a wrong PIN (one call: the
  atomic check-and-count), the difference being the call plus re-rendering the consent page;
- POST /token refresh (one call: the compare-and-swap rotation, plus one KV read and write);
- POST /mcp (initialize, proxied) — and counts the Durable Object calls each kind made.
Prints a table; not a test. Locally a Durable Object lives in the same process; on Cloudflare
a call from a far location adds a network round trip (that is why /mcp makes none).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cfmcp.project.config import ProjectConfig  # noqa: E402
from cfmcp.worker.render import render_bundle  # noqa: E402
from tests.integration.upstream import RecordingUpstream  # noqa: E402
from tests.support.hosts import start_workerd  # noqa: E402
from tests.support.oauth import (  # noqa: E402  # noqa: E402
    MCP_HEADERS,
    async_http_sender,
    mcp_initialize,
    obtain_tokens,
    run_async,
)
from tests.test_workerd_exact import consent_token  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def measure(host, pin: str, rounds: int, count: bool) -> dict[str, tuple[list[float], int]]:
    """Times per request kind, and (when `count`) the Durable Object calls each made."""
    times: dict[str, list[float]] = {k: [] for k in ("deny", "wrong_pin", "refresh", "mcp")}
    calls = dict.fromkeys(times, 0)
    async with httpx.AsyncClient(base_url=host.origin, timeout=60) as client:
        flow = await run_async(
            obtain_tokens(pin, resource=f"{host.origin}/mcp"), async_http_sender(client)
        )
        refresh_token = flow.token_reply.json()["refresh_token"]
        access = flow.access_token
        token = await consent_token(client)

        async def timed(kind: str, send) -> httpx.Response:
            before = host.ops()["do_call"] if count else 0
            started = time.perf_counter()
            reply = await send()
            times[kind].append((time.perf_counter() - started) * 1000)
            if count:
                calls[kind] += host.ops()["do_call"] - before
            return reply

        for i in range(rounds):
            address = f"10.{i // 250}.{i % 250}.1"  # a fresh address: never locked out
            await timed(
                "deny", lambda: client.post("/authorize", data={"request": token, "action": "deny"})
            )
            reply = await timed(
                "wrong_pin",
                lambda a=address: client.post(
                    "/authorize",
                    data={"request": token, "pin": "wrong-pin-0000", "action": "approve"},
                    headers={"cf-connecting-ip": a},
                ),
            )
            assert reply.status_code in (401, 429), reply.status_code
            reply = await timed(
                "refresh",
                lambda r=refresh_token: client.post(
                    "/token",
                    data={
                        "grant_type": "refresh_token",
                        "client_id": flow.client_id,
                        "refresh_token": r,
                    },
                ),
            )
            assert reply.status_code == 200, reply.text
            refresh_token = reply.json()["refresh_token"]
            access = reply.json()["access_token"]
            reply = await timed(
                "mcp",
                lambda a=access: client.post(
                    "/mcp",
                    json=mcp_initialize("bench"),
                    headers={**MCP_HEADERS, "authorization": f"Bearer {a}"},
                ),
            )
            assert reply.status_code == 200, reply.text
    return {kind: (times[kind], calls[kind]) for kind in times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--kv-latency-ms", type=int, default=0)
    args = parser.parse_args()
    upstream = RecordingUpstream().start()
    pin = "bench-" + secrets.token_hex(6)
    env = {
        "UPSTREAM_TOKEN": upstream.pat,
        "AUTH_PIN": pin,
        "SIGNING_KEY": secrets.token_urlsafe(32),
    }
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = ProjectConfig()
            config.upstream.url = upstream.mcp_url
            config.oauth.refresh_grace_seconds = 0
            render_bundle(config.validate(), public_url="").write(Path(tmp))
            # Timed without counting (counting wraps every binding call in one more call),
            # then counted on a second Worker.
            with start_workerd(Path(tmp), env, kv_latency_ms=args.kv_latency_ms) as host:
                results = asyncio.run(measure(host, pin, args.rounds, count=False))
            with start_workerd(Path(tmp), env, count_ops=True) as host:
                counted = asyncio.run(measure(host, pin, min(args.rounds, 20), count=True))
    finally:
        upstream.stop()
    print(f"workerd, {args.rounds} interleaved rounds, KV latency {args.kv_latency_ms} ms")
    print(f"{'request':<34} {'median ms':>10} {'p99 ms':>8} {'DO calls/req':>13}")
    labels = {
        "deny": "POST /authorize, Deny (no DO)",
        "wrong_pin": "POST /authorize, wrong PIN",
        "refresh": "POST /token, refresh",
        "mcp": "POST /mcp (proxied initialize)",
    }
    for kind, (values, _) in results.items():
        calls = counted[kind][1] / len(counted[kind][0])
        print(
            f"{labels[kind]:<34} {statistics.median(values):>10.2f} "
            f"{percentile(values, 0.99):>8.2f} {calls:>13.1f}"
        )
    deny = statistics.median(results["deny"][0])
    wrong = statistics.median(results["wrong_pin"][0])
    print(f"wrong PIN minus Deny (a DO call + the page): {wrong - deny:+.2f} ms median")
    mcp_calls, mcp_count = counted["mcp"][1], len(counted["mcp"][0])
    print(f"/mcp Durable Object calls over {mcp_count} counted requests: {mcp_calls}")


if __name__ == "__main__":
    main()
