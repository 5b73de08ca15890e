"""Latency `cfmcp dev` adds in front of an MCP server. Prints a table; not a test.

Usage: .venv/bin/python benchmarks/proxy_overhead.py [--calls N] [--streams M]

Starts the demo MCP server (official SDK, PAT-only) in its own process, renders a bundle for
it, serves the bundle with `cfmcp dev`, obtains an access token through the real OAuth flow,
then times the same JSON-RPC traffic directly (with the PAT) and through the proxy (with the
token), in interleaved rounds: `tools/call echo` round trips, and time to the first SSE event of
a streaming tool.

The baseline must not stall: the upstream listens on a socket made here (IPPROTO_TCP and
TCP_NODELAY), not by cfmcp's own `bind_socket`, so a Nagle regression in `cfmcp dev` shows up as
~40 ms of added latency instead of hiding on both sides. The run warns when the baseline itself
looks stalled.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cfmcp.project.config import ProjectConfig  # noqa: E402
from cfmcp.worker.render import render_bundle  # noqa: E402
from tests.support.hosts import start_worker  # noqa: E402
from tests.support.oauth import obtain_tokens  # noqa: E402

UPSTREAM_CODE = """
import asyncio, json, os, socket
import uvicorn
from cfmcp.local.demo import demo_app
# Not cfmcp.local.server.bind_socket: the baseline must not share the code under test.
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
sock.bind(("127.0.0.1", 0))
sock.listen(128)
server = uvicorn.Server(uvicorn.Config(demo_app(os.environ["BENCH_PAT"]), log_level="warning",
                                       access_log=False, lifespan="on", ws="none"))
async def main():
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    tmp = os.environ["BENCH_READY"] + ".tmp"
    with open(tmp, "w") as handle:
        json.dump({"origin": "http://127.0.0.1:%d" % sock.getsockname()[1]}, handle)
    os.replace(tmp, os.environ["BENCH_READY"])
    await task
asyncio.run(main())
"""
STALL_MS = 10.0  # a loopback round trip over this is waiting for a delayed ACK (Nagle)
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@contextmanager
def demo_upstream(pat: str) -> Iterator[str]:
    """The demo MCP server in a subprocess; yields its origin."""
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready.json"
        env = {**os.environ, "BENCH_PAT": pat, "BENCH_READY": str(ready)}
        proc = subprocess.Popen([sys.executable, "-c", UPSTREAM_CODE], env=env, cwd=ROOT)
        try:
            deadline = time.monotonic() + 30
            while not ready.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the demo upstream did not start")
                time.sleep(0.05)
            yield json.loads(ready.read_text())["origin"]
        finally:
            proc.terminate()
            proc.wait(timeout=10)


class Session:
    """A JSON-RPC MCP session over streamable HTTP with one bearer token."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.client = httpx.Client(
            timeout=30, trust_env=False, headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"}
        )
        self.next_id = 0
        init = self.rpc(
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "0"},
            },
        )
        self.client.headers["Mcp-Session-Id"] = init.headers["mcp-session-id"]
        self.client.headers["MCP-Protocol-Version"] = "2025-06-18"
        self.client.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"})

    def rpc(self, method: str, params: dict) -> httpx.Response:
        self.next_id += 1
        response = self.client.post(
            self.url,
            json={"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params},
        )
        response.raise_for_status()
        return response

    def time_call(self) -> float:
        start = time.perf_counter()
        response = self.rpc("tools/call", {"name": "echo", "arguments": {"text": "ping"}})
        assert "ping" in response.text, response.text
        return time.perf_counter() - start

    def time_first_event(self) -> float:
        """Seconds from sending a streaming tools/call to its first SSE event."""
        self.next_id += 1
        body = {
            "jsonrpc": "2.0",
            "id": self.next_id,
            "method": "tools/call",
            "params": {
                "name": "slow_count",
                "arguments": {"count": 3, "delay": 0.05},
                "_meta": {"progressToken": f"p{self.next_id}"},
            },
        }
        start = time.perf_counter()
        first = None
        with self.client.stream("POST", self.url, json=body) as response:
            for line in response.iter_lines():
                if first is None and line.startswith("data:"):
                    first = time.perf_counter() - start
        assert first is not None, "no SSE event arrived"
        return first

    def close(self) -> None:
        self.client.close()


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def measure(direct: Session, proxied: Session, calls: int, streams: int) -> dict[str, list[float]]:
    """Interleaved rounds: each round times the direct call, then the proxied one."""
    for _ in range(20):
        direct.time_call()  # warm up connections and caches
        proxied.time_call()
    samples: dict[str, list[float]] = {"d_lat": [], "p_lat": [], "d_first": [], "p_first": []}
    for _ in range(calls):
        samples["d_lat"].append(direct.time_call())
        samples["p_lat"].append(proxied.time_call())
    for _ in range(streams):
        samples["d_first"].append(direct.time_first_event())
        samples["p_first"].append(proxied.time_first_event())
    return samples


def time_metadata(origin: str, rounds: int = 50) -> list[float]:
    """GET the authorization server metadata, `rounds` times on one keep-alive connection."""
    url = f"{origin}/.well-known/oauth-authorization-server"
    with httpx.Client(trust_env=False) as client:
        client.get(url).raise_for_status()
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            client.get(url).raise_for_status()
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--streams", type=int, default=30)
    args = parser.parse_args()
    pat, pin = secrets.token_urlsafe(24), f"{secrets.randbelow(10**8):08d}"
    with demo_upstream(pat) as upstream, tempfile.TemporaryDirectory() as bundle_dir:
        config = ProjectConfig()
        config.upstream.url = f"{upstream}/mcp"
        render_bundle(config.validate(), public_url="").write(Path(bundle_dir))
        env = {"UPSTREAM_TOKEN": pat, "AUTH_PIN": pin, "SIGNING_KEY": secrets.token_urlsafe(32)}
        with start_worker("cpython", Path(bundle_dir), env) as origin:
            token = obtain_tokens(origin, pin).access_token
            direct = Session(f"{upstream}/mcp", pat)
            proxied = Session(f"{origin}/mcp", token)
            samples = measure(direct, proxied, args.calls, args.streams)
            metadata = time_metadata(origin)
            direct.close()
            proxied.close()
    d_lat, p_lat = samples["d_lat"], samples["p_lat"]
    d_first, p_first = samples["d_first"], samples["p_first"]
    ms = 1000.0
    rows = [
        ("tools/call median", statistics.median(d_lat), statistics.median(p_lat)),
        ("tools/call p99", percentile(d_lat, 99), percentile(p_lat, 99)),
        ("first SSE event median", statistics.median(d_first), statistics.median(p_first)),
        ("first SSE event p99", percentile(d_first, 99), percentile(p_first, 99)),
    ]
    print(f"{'metric (ms)':<26}{'direct':>10}{'via dev':>10}{'added':>10}")
    for label, direct_s, proxied_s in rows:
        print(
            f"{label:<26}{direct_s * ms:>10.2f}{proxied_s * ms:>10.2f}"
            f"{(proxied_s - direct_s) * ms:>10.2f}"
        )
    print(f"{'metadata GET median':<26}{'':>10}{statistics.median(metadata) * ms:>10.2f}")
    print(
        f"\n{args.calls} interleaved echo rounds and {args.streams} streaming rounds; "
        "first SSE event includes the tool's 50 ms delay"
    )
    added = (statistics.median(p_lat) - statistics.median(d_lat)) * ms
    print(
        f"goal: added tools/call median <= 1 ms: {'met' if added <= 1.0 else 'NOT met'} "
        f"({added:+.2f} ms)"
    )
    if statistics.median(d_lat) * ms > STALL_MS:
        print(
            f"warning: the direct baseline's median is over {STALL_MS:.0f} ms: it looks "
            "stalled (Nagle + delayed ACK), so the added latency above means nothing"
        )
    if statistics.median(metadata) * ms > STALL_MS:
        print(f"warning: cfmcp dev's metadata GET takes over {STALL_MS:.0f} ms: is Nagle back?")


if __name__ == "__main__":
    main()
