"""Deploy benchmark: cfmcp vs wrangler 4.60 against the fake Cloudflare API with injected latency.

    .venv/bin/python benchmarks/deploy.py [--latency 0.1] [--runs 3] [--json]

Both tools deploy the same Worker (the bundle `cfmcp render` writes, with its wrangler.toml) to
a fresh fake account; each call to the fake is delayed by --latency seconds. Measured per run:
wall time of the whole command(s), number of API calls.

- cfmcp, fresh: `cfmcp deploy --yes --skip-smoke` (KV namespace, upload with secrets, workers.dev)
- cfmcp, no change: the same command again (and once more without .cfmcp/state.json)
- wrangler, fresh: `wrangler kv namespace create`, `wrangler deploy`, 3 x `wrangler secret put`
  (what it takes wrangler to reach the same state); also `wrangler deploy` alone
- wrangler, no change: `wrangler deploy` again

wrangler needs `npm ci` in benchmarks/node (Node 20). Without it only cfmcp is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_cloudflare.fake import FakeCloudflare  # noqa: E402

CFMCP = [sys.executable, "-c", "from cfmcp.cli import main; main()"]
WRANGLER = ROOT / "benchmarks" / "node" / "node_modules" / ".bin" / "wrangler"
NAME = "bench-mcp"
SECRETS = {
    "UPSTREAM_TOKEN": "FAKE-bench-pat-000000000000000000000",
    "AUTH_PIN": "FAKE-bench-pin",
    "SIGNING_KEY": "FAKE-bench-signing-key-0000000000000",
}


@dataclass
class Sample:
    seconds: float
    calls: int


def _run(cmd: list[str], cwd: Path, env: dict[str, str], stdin: str | None = None) -> None:
    result = subprocess.run(
        cmd, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed:\n{result.stdout}\n{result.stderr}")


def _measure(fake: FakeCloudflare, steps: Callable[[], None]) -> Sample:
    fake.calls.clear()
    start = time.perf_counter()
    steps()
    return Sample(time.perf_counter() - start, len(fake.calls))


def _base_env(fake: FakeCloudflare, home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLOUDFLARE_", "CFMCP_", "WRANGLER_"))
    }
    return {
        **env,
        **fake.env(),
        "HOME": str(home),
        "WRANGLER_SEND_METRICS": "false",
        "CI": "1",
        "NO_COLOR": "1",
    }


def bench_cfmcp(latency: float) -> dict[str, Sample]:
    from cfmcp.project.config import ProjectConfig, save_config

    with tempfile.TemporaryDirectory() as tmp, FakeCloudflare() as fake:
        work = Path(tmp)
        save_config(ProjectConfig(name=NAME, account_id=fake.account_id), work / "cfmcp.toml")
        env = {
            **_base_env(fake, work),
            "CFMCP_UPSTREAM_TOKEN": SECRETS["UPSTREAM_TOKEN"],
            "CFMCP_PIN": SECRETS["AUTH_PIN"],
            "CFMCP_SIGNING_KEY": SECRETS["SIGNING_KEY"],
        }
        fake.set_latency(latency)
        # The upstream (api.githubcopilot.com) is not reachable offline, and wrangler has no
        # such check: compare the Cloudflare side alone.
        cmd = [*CFMCP, "deploy", "--yes", "--skip-smoke", "--skip-pat-check"]
        fresh = _measure(fake, lambda: _run(cmd, work, env))
        again = _measure(fake, lambda: _run(cmd, work, env))
        shutil.rmtree(work / ".cfmcp")
        lost = _measure(fake, lambda: _run(cmd, work, env))
        fake.set_latency(0)
        startup = _measure(fake, lambda: _run([*CFMCP, "--version"], work, env))
        return {
            "fresh": fresh,
            "no_change": again,
            "no_change_lost": lost,
            "process_startup": startup,
        }


def bench_wrangler(latency: float) -> dict[str, Sample]:
    from cfmcp.project.config import ProjectConfig
    from cfmcp.worker.render import render_bundle, render_wrangler_toml

    with tempfile.TemporaryDirectory() as tmp, FakeCloudflare() as fake:
        work = Path(tmp)
        env = _base_env(fake, work)
        config = ProjectConfig(name=NAME, account_id=fake.account_id).validate()
        public_url = config.public_origin("fake-subdomain")
        bundle = render_bundle(config, public_url=public_url)
        bundle.write(work)
        fake.set_latency(latency)
        wrangler = [str(WRANGLER)]
        created: dict[str, str] = {}

        def kv_create() -> None:
            result = subprocess.run(
                [*wrangler, "kv", "namespace", "create", f"{NAME}-oauth"],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if result.returncode != 0:
                raise RuntimeError(result.stdout + result.stderr)
            match = re.search(r"id\W+([0-9a-f]{32})", result.stdout)
            if match is None:
                raise RuntimeError(f"no namespace id in:\n{result.stdout}")
            created["kv"] = match.group(1)
            (work / "wrangler.toml").write_text(
                render_wrangler_toml(config, bundle, created["kv"]), encoding="utf-8"
            )

        def deploy() -> None:
            _run([*wrangler, "deploy"], work, env)

        def secrets() -> None:
            for name, value in SECRETS.items():
                _run([*wrangler, "secret", "put", name], work, env, stdin=value + "\n")

        kv = _measure(fake, kv_create)
        first_deploy = _measure(fake, deploy)
        secret_puts = _measure(fake, secrets)
        again = _measure(fake, deploy)
        fresh = Sample(
            kv.seconds + first_deploy.seconds + secret_puts.seconds,
            kv.calls + first_deploy.calls + secret_puts.calls,
        )
        fake.set_latency(0)
        startup = _measure(fake, lambda: _run([*wrangler, "--version"], work, env))
        return {
            "fresh": fresh,
            "deploy_only": first_deploy,
            "no_change": again,
            "process_startup": startup,
        }


def _median(samples: list[dict[str, Sample]], key: str) -> Sample:
    return Sample(
        statistics.median(s[key].seconds for s in samples),
        int(statistics.median(s[key].calls for s in samples)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added per API call")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    results: dict[str, dict[str, Sample]] = {}
    runs = [bench_cfmcp(args.latency) for _ in range(args.runs)]
    results["cfmcp"] = {k: _median(runs, k) for k in runs[0]}
    if WRANGLER.exists():
        runs = [bench_wrangler(args.latency) for _ in range(args.runs)]
        results["wrangler 4.60.0"] = {k: _median(runs, k) for k in runs[0]}
    else:
        print("wrangler not installed: run `npm ci` in benchmarks/node", file=sys.stderr)

    if args.json:
        print(
            json.dumps(
                {tool: {k: vars(v) for k, v in r.items()} for tool, r in results.items()}, indent=2
            )
        )
        return
    print(f"latency {args.latency * 1000:.0f} ms per API call, median of {args.runs} runs")
    print(f"{'tool':<18}{'scenario':<18}{'wall time':>10}{'API calls':>11}")
    for tool, rows in results.items():
        for scenario, sample in rows.items():
            print(f"{tool:<18}{scenario:<18}{sample.seconds:>9.2f}s{sample.calls:>11}")


if __name__ == "__main__":
    main()
