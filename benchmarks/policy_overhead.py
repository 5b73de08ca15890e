"""What per-connection policy checks add to proxied MCP requests in workerd.

Usage: .venv/bin/python benchmarks/policy_overhead.py [--rounds N] [--baseline REF]

Two Workers run in workerd (`cfmcp dev --runtime workerd`) in front of one real MCP server
(the official SDK's, SSE responses): the Worker as it was before policies existed (rendered
from git REF, default 8e13dc5), and this checkout's Worker. Interleaved, per round:
- `tools/call` (echo) and `tools/list` on the baseline Worker (no policy code at all);
- the same on this Worker with a `full` connection (the body is read for the audit line);
- the same on this Worker with a `read-only` connection (body read, tool decided from the
  catalog, the tools/list response filtered).
Prints medians, and the median of the per-round differences to the baseline (paired, so slow
drift of a loaded machine cancels); the goal is ≤ 0.2 ms per call. With `--pyodide` it also
runs both bundles in the Pyodide harness and prints the Python time of the fetch handler per
tools/call (CPU only, no network: the part of the cost that is ours, with little noise). Not a
test: run it on a quiet machine and read ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import asyncio
import random
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

from cfmcp.project.config import ProjectConfig  # noqa: E402
from cfmcp.worker import render  # noqa: E402
from tests.integration.upstream import RecordingUpstream  # noqa: E402
from tests.support.hosts import start_workerd  # noqa: E402
from tests.support.oauth import (  # noqa: E402
    MCP_HEADERS,
    async_http_sender,
    mcp_initialize,
    obtain_tokens,
    run_async,
)
from tests.workers_runtime.host import start_harness  # noqa: E402

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

    async def timed(self, method: str, params: dict, python_ms: bool = False) -> float:
        """Wall time of one request (or the harness's Python time of its fetch handler)."""
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        started = time.perf_counter()
        reply = await self.client.post(self.url, json=body, headers=self.headers)
        elapsed = (time.perf_counter() - started) * 1000
        assert reply.status_code == 200 and '"result"' in reply.text, reply.text[:300]
        return float(reply.headers["x-harness-python-ms"]) if python_ms else elapsed


async def connect(client: httpx.AsyncClient, pin: str, policy: str | None) -> Connection:
    resource = str(client.base_url).rstrip("/") + "/mcp"
    flow = obtain_tokens(pin, resource=resource, policy=policy)
    tokens = await run_async(flow, async_http_sender(client))
    return await Connection(client, tokens.access_token).open()


async def measure(
    baseline: str, current: str, pin: str, rounds: int, python_ms: bool = False
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    async with (
        httpx.AsyncClient(base_url=baseline, timeout=60) as old,
        httpx.AsyncClient(base_url=current, timeout=60) as new,
    ):
        # Two connections per Worker and a new random order every round: neither a Worker
        # process nor a place in the round is favoured (an A/A run, --baseline HEAD, showed
        # the first place ~1 ms slower with a fixed order).
        connections = {
            "baseline": await connect(old, pin, None),
            "baseline-2": await connect(old, pin, None),
            "full": await connect(new, pin, "full"),
            "read-only": await connect(new, pin, "read-only"),
        }
        order = random.Random(7)
        calls = {
            "tools/call": ("tools/call", {"name": "echo", "arguments": {"text": "bench"}}),
            "tools/list": ("tools/list", {}),
        }
        for _ in range(rounds):
            for kind, connection in order.sample(list(connections.items()), len(connections)):
                for label, (method, params) in calls.items():
                    elapsed = await connection.timed(method, params, python_ms)
                    times.setdefault(f"{label} {kind}", []).append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--baseline", default=BASELINE, help="git ref of the baseline Worker")
    parser.add_argument("--pyodide", action="store_true", help="also Python time in Pyodide")
    parser.add_argument("--json", action="store_true", help="an upstream answering in JSON")
    args = parser.parse_args()
    upstream = RecordingUpstream(json_response=args.json).start()
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
                times = asyncio.run(measure(baseline.origin, current.origin, pin, args.rounds))
            cpu = None
            if args.pyodide:
                with (
                    start_harness(old, env, measure_cpu=True) as baseline,
                    start_harness(new, env, measure_cpu=True) as current,
                ):
                    cpu = asyncio.run(
                        measure(baseline.origin, current.origin, pin, args.rounds, True)
                    )
    finally:
        upstream.stop()
    answers = "JSON" if args.json else "SSE"
    print(
        f"workerd, {args.rounds} interleaved rounds, upstream answers in {answers}; "
        f"baseline = Worker at {args.baseline}"
    )
    report(times, ("tools/call", "tools/list"))
    if cpu is not None:
        print("Pyodide harness: Python time of the fetch handler (a filtered tools/list body is")
        print("filtered after the handler returns: only its decision is counted here)")
        report(cpu, ("tools/call", "tools/list"))


def report(times: dict[str, list[float]], labels: tuple[str, ...]) -> None:
    print(f"{'request':<28} {'median ms':>10} {'p90 ms':>8} {'paired Δ median':>16}")
    for label in labels:
        base = times[f"{label} baseline"]
        for kind in ("baseline", "full", "read-only"):
            values = times[f"{label} {kind}"]
            ordered = sorted(values)
            p90 = ordered[int(0.9 * (len(ordered) - 1))]
            paired = statistics.median(v - b for v, b in zip(values, base, strict=True))
            delta = "" if kind == "baseline" else f"{paired:+.3f} ms"
            print(
                f"{label + ' ' + kind:<28} {statistics.median(values):>10.3f} {p90:>8.3f} "
                f"{delta:>16}"
            )


if __name__ == "__main__":
    main()
