"""What per-connection policy checks add to proxied MCP requests in workerd.

Usage: .venv/bin/python benchmarks/policy_overhead.py [--rounds N] [--baseline REF]

Two Workers run in workerd (`cfmcp dev --runtime workerd`) in front of one real MCP server
(the official SDK's, SSE responses): the Worker as it was before policies existed (rendered
from git REF, default 8e13dc5), and this checkout's Worker. Interleaved, per round:
- `tools/call` (echo) and `tools/list` on the baseline Worker (no policy code at all);
- the same on this Worker with a `full` connection (the body is read for the audit line);
- the same on this Worker with a `read-only` connection (body read, tool decided from the
  catalog, the tools/list response filtered).
Prints medians and the differences to the baseline; the goal is ≤ 0.2 ms per call. Not a
test: run it on a quiet machine and read ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from unittest import mock

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cfmcp import render  # noqa: E402
from cfmcp.config import ProjectConfig  # noqa: E402
from tests.hosts import start_workerd  # noqa: E402
from tests.integration.oauth import MCP_HEADERS, mcp_initialize  # noqa: E402
from tests.integration.upstream import RecordingUpstream  # noqa: E402
from tests.workers_runtime.oauth_flow import HttpxTransport, obtain_tokens  # noqa: E402

BASELINE = "8e13dc5"  # main before policies
POLICY_SETTINGS = ("policies", "default_policy", "client_policies")


def render_baseline(ref: str, config: ProjectConfig, out: Path) -> None:
    """Render `config` with the Worker template of git `ref` (its settings had no policies)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "worker_template"],
        check=True,
        capture_output=True,
    ).stdout
    old = out.parent / "baseline-template"
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(old, filter="data")
    settings = render.worker_settings

    def without_policies(*args, **kwargs):
        values = settings(*args, **kwargs)
        return {k: v for k, v in values.items() if k not in POLICY_SETTINGS}

    with (
        mock.patch.object(render, "template_dir", lambda: old / "worker_template"),
        mock.patch.object(render, "worker_settings", without_policies),
    ):
        render.render_bundle(config.validate()).write(out)


class Connection:
    """One MCP session through one Worker (the client's base URL), with one access token."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client, self.url = client, "/mcp"
        self.headers = {**MCP_HEADERS, "authorization": f"Bearer {token}"}

    async def open(self) -> Connection:
        reply = await self.client.post(self.url, json=mcp_initialize("bench"), headers=self.headers)
        assert reply.status_code == 200, reply.text
        self.headers["mcp-session-id"] = reply.headers["mcp-session-id"]
        self.headers["mcp-protocol-version"] = "2025-06-18"
        await self.client.post(
            self.url,
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers=self.headers,
        )
        return self

    async def timed(self, method: str, params: dict) -> float:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        started = time.perf_counter()
        reply = await self.client.post(self.url, json=body, headers=self.headers)
        elapsed = (time.perf_counter() - started) * 1000
        assert reply.status_code == 200 and '"result"' in reply.text, reply.text[:300]
        return elapsed


async def connect(client: httpx.AsyncClient, pin: str, policy: str | None) -> Connection:
    flow = await obtain_tokens(HttpxTransport(client), str(client.base_url), pin, policy)
    assert flow.token_reply.status == 200, flow.token_reply.body
    return await Connection(client, flow.access_token).open()


async def measure(baseline, current, pin: str, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    async with (
        httpx.AsyncClient(base_url=baseline.origin, timeout=60) as old,
        httpx.AsyncClient(base_url=current.origin, timeout=60) as new,
    ):
        connections = {
            "baseline": await connect(old, pin, None),
            "full": await connect(new, pin, "full"),
            "read-only": await connect(new, pin, "read-only"),
        }
        calls = {
            "tools/call": ("tools/call", {"name": "echo", "arguments": {"text": "bench"}}),
            "tools/list": ("tools/list", {}),
        }
        for _ in range(rounds):
            for kind, connection in connections.items():
                for label, (method, params) in calls.items():
                    elapsed = await connection.timed(method, params)
                    times.setdefault(f"{label} {kind}", []).append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--baseline", default=BASELINE, help="git ref of the baseline Worker")
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
            old, new = Path(tmp) / "baseline", Path(tmp) / "current"
            render_baseline(args.baseline, config, old)
            render.render_bundle(config.validate()).write(new)
            with start_workerd(old, env) as baseline, start_workerd(new, env) as current:
                times = asyncio.run(measure(baseline, current, pin, args.rounds))
    finally:
        upstream.stop()
    print(f"workerd, {args.rounds} interleaved rounds; baseline = Worker at {args.baseline}")
    print(f"{'request':<28} {'median ms':>10} {'p90 ms':>8} {'vs baseline':>12}")
    for label in ("tools/call", "tools/list"):
        base = statistics.median(times[f"{label} baseline"])
        for kind in ("baseline", "full", "read-only"):
            values = sorted(times[f"{label} {kind}"])
            median = statistics.median(values)
            p90 = values[int(0.9 * (len(values) - 1))]
            delta = "" if kind == "baseline" else f"{median - base:+.3f} ms"
            print(f"{label + ' ' + kind:<28} {median:>10.3f} {p90:>8.3f} {delta:>12}")


if __name__ == "__main__":
    main()
