"""cfmcp side by side with the seed's JS Worker in Cloudflare's runtime. Prints tables; not a test.

Usage: .venv/bin/python benchmarks/workerd_vs_seed.py [--rounds 300] [--oauth-rounds 50]
           [--import-starts 3] [--no-dev]

Targets, all in front of the same demo MCP upstream on 127.0.0.1 (official SDK, PAT-only,
listening on a socket that does not stall):
- seed:   the seed's JavaScript Worker, ../shared/peers/seed-worker/worker.js, in workerd via
          miniflare (benchmarks/seed_worker.mjs), with an access token from its own OAuth flow;
          skipped, and said so, when that folder is absent;
- cfmcp:  cfmcp's rendered Python Worker in workerd: `cfmcp dev --runtime workerd` (its
          official runner, which puts a small JS front Worker, the Host check, before it);
- dev:    `cfmcp dev` on CPython, for reference.

Measured in ONE run, rounds interleaved (each round visits every target, the order rotating):
- proxied MCP `tools/call echo`: latency added over calling the upstream directly (median and
  p99 of each target minus those of the direct calls) and process CPU per request: workerd
  reports CPU time 0 locally, so it is read from /proc/<pid>/stat (utime + stime) before and
  after, for workerd alone and for the target's whole process tree (miniflare's Node, cfmcp dev);
- the OAuth endpoints: GET /authorize (the consent page), POST of the PIN (the code) and
  POST /token (authorization_code grant), with the CPU per whole flow;
- cold start: process start to the first 200 (GET /.well-known/oauth-authorization-server),
  one start each, one after another;
- main-module import time. workerd freezes the clock while a module's top level runs, so it is
  measured in the same engines outside it: cfmcp's entry.py in Pyodide 0.28.2 under Node (the
  tests' Workers harness, `import entry` after the SDK), the seed's worker.js in Node's V8.

Ratios are cfmcp ÷ seed: under 1 means cfmcp costs less. The machine is shared: compare the
ratios of one run rather than absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from proxy_overhead import Session, demo_upstream, percentile  # noqa: E402

from cfmcp.project.config import ProjectConfig  # noqa: E402
from cfmcp.worker.render import render_bundle  # noqa: E402
from tests.support.oauth import (  # noqa: E402
    authorize_url,
    consent_submission,
    obtain_tokens_over_http,
    register,
)

SEED_DIR = ROOT.parent / "shared" / "peers" / "seed-worker"
SEED_LAUNCHER = ROOT / "benchmarks" / "seed_worker.mjs"
REDIRECT_URI = "http://127.0.0.1:9/callback"
METADATA_PATH = "/.well-known/oauth-authorization-server"
START_TIMEOUT_SECONDS = 120.0
MS = 1000.0


# ---------------------------------------------------------------- processes and their CPU


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(comm, ppid, CPU seconds) of a process, None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return comm, int(fields[1]), ticks / os.sysconf("SC_CLK_TCK")


def process_tree(root: int) -> dict[int, str]:
    """pid -> comm for `root` and all its descendants."""
    children: dict[int, list[int]] = {}
    comms: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := _stat(int(entry.name))) is not None:
            comms[int(entry.name)] = info[0]
            children.setdefault(info[1], []).append(int(entry.name))
    tree, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in comms:
            tree[pid] = comms[pid]
            todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    return sum(info[2] for pid in pids if (info := _stat(pid)) is not None)


@dataclass
class Target:
    """A running Worker: where it answers and which processes do its work."""

    name: str
    label: str
    origin: str
    root_pid: int
    cold_start_s: float
    oauth: Callable[[httpx.Client], dict[str, float]] = field(repr=False, default=None)  # type: ignore[assignment]
    token: str = ""
    pids: list[int] = field(default_factory=list)
    workerd_pids: list[int] = field(default_factory=list)

    def find_processes(self) -> None:
        tree = process_tree(self.root_pid)
        self.pids = sorted(tree)
        self.workerd_pids = [pid for pid, comm in tree.items() if comm == "workerd"]

    def cpu(self) -> tuple[float, float]:
        """(workerd's CPU seconds, the whole tree's)."""
        return cpu_seconds(self.workerd_pids), cpu_seconds(self.pids)


def wait_first_200(origin: str, proc: subprocess.Popen[bytes], started: float, log: Path) -> float:
    """Seconds from `started` to the first 200 on the metadata document."""
    deadline = started + START_TIMEOUT_SECONDS
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(origin + METADATA_PATH, timeout=2, trust_env=False).status_code == 200:
                return time.perf_counter() - started
        time.sleep(0.02)
    raise RuntimeError(f"no 200 from {origin} in time:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def cfmcp_env(pat: str, pin: str, signing_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CFMCP_")}
    env.update(CFMCP_UPSTREAM_TOKEN=pat, CFMCP_PIN=pin, CFMCP_SIGNING_KEY=signing_key)
    return env


@contextlib.contextmanager
def run_cfmcp_dev(args: list[str], env: dict[str, str], tmp: Path, name: str) -> Iterator[tuple]:
    """`cfmcp dev ARGS --port P` until the first 200; yields (origin, process, cold start s)."""
    port, log = free_port(), tmp / f"{name}.log"
    command = [sys.executable, "-m", "cfmcp", "dev", *args, "--port", str(port)]
    with open(log, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        origin = f"http://127.0.0.1:{port}"
        yield origin, proc, wait_first_200(origin, proc, started, log)
    finally:
        stop(proc)


# ------------------------------------------------------------------------------ targets


@contextlib.contextmanager
def start_cfmcp_workerd(bundle: Path, env: dict[str, str], tmp: Path) -> Iterator[Target]:
    """cfmcp's Python Worker in workerd, through `cfmcp dev --runtime workerd` (the official
    runner). The one function to swap to run cfmcp's bundle in workerd another way."""
    args = ["--runtime", "workerd", "--bundle", str(bundle), "--state", str(tmp / "wd-state")]
    with run_cfmcp_dev(args, env, tmp, "cfmcp-workerd") as (origin, proc, cold):
        yield Target("cfmcp", "cfmcp Python Worker (workerd)", origin, proc.pid, cold)


@contextlib.contextmanager
def start_cfmcp_dev(bundle: Path, env: dict[str, str], tmp: Path) -> Iterator[Target]:
    args = ["--bundle", str(bundle), "--state", str(tmp / "dev-state.sqlite3")]
    with run_cfmcp_dev(args, env, tmp, "cfmcp-dev") as (origin, proc, cold):
        yield Target("dev", "cfmcp dev (CPython)", origin, proc.pid, cold)


def find_miniflare() -> Path:
    """The miniflare package cfmcp's runner uses, so both Workers run in the same workerd."""
    try:
        from cfmcp.local.workerd.locate import find_miniflare as locate

        return locate()
    except Exception:  # an older checkout, or not installed where it looks
        return ROOT / "benchmarks" / "node" / "node_modules" / "miniflare"


@contextlib.contextmanager
def start_seed(upstream_mcp: str, pat: str, pin: str, tmp: Path) -> Iterator[Target]:
    port, log = free_port(), tmp / "seed.log"
    origin = f"http://127.0.0.1:{port}"
    bindings = {
        "BASE_URL": origin,
        "UPSTREAM_MCP": upstream_mcp,
        "UPSTREAM_TOKEN": pat,
        "AUTH_PIN": pin,
    }
    command = [
        "node",
        str(SEED_LAUNCHER),
        str(find_miniflare()),
        str(SEED_DIR / "worker.js"),
        str(port),
    ]
    with open(log, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, cwd=SEED_DIR, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(bindings).encode())
        proc.stdin.close()
        cold = wait_first_200(origin, proc, started, log)
        yield Target("seed", "seed JS Worker (workerd)", origin, proc.pid, cold)
    finally:
        stop(proc)


# --------------------------------------------------------------------------- OAuth flows


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def timed(call: Callable[[], httpx.Response]) -> tuple[float, httpx.Response]:
    start = time.perf_counter()
    response = call()
    return time.perf_counter() - start, response


def code_of(response: httpx.Response, step: str) -> str:
    assert response.status_code in (302, 303), f"{step}: {response.status_code} {response.text}"
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]


def seed_flow(origin: str, pin: str) -> Callable[[httpx.Client], dict[str, float]]:
    """One OAuth flow against the seed, timed step by step (it registers once)."""
    client_id = httpx.post(
        f"{origin}/register", json={"client_name": "bench", "redirect_uris": [REDIRECT_URI]}
    ).json()["client_id"]

    def flow(http: httpx.Client) -> dict[str, float]:
        verifier, challenge = pkce()
        params = {
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        get_s, page = timed(lambda: http.get(f"{origin}/authorize?{urlencode(params)}"))
        assert page.status_code == 200, page.text
        post_s, redirect = timed(
            lambda: http.post(f"{origin}/authorize", data={**params, "pin": pin})
        )
        code = code_of(redirect, "seed PIN POST")
        token_s, token = timed(
            lambda: http.post(
                f"{origin}/token",
                data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier},
            )
        )
        assert token.status_code == 200, token.text
        return {"authorize_get": get_s, "authorize_post": post_s, "token": token_s}

    return flow


def cfmcp_flow(origin: str, pin: str) -> Callable[[httpx.Client], dict[str, float]]:
    """One OAuth flow against cfmcp (consent page, PIN form, code grant), timed step by step."""
    client_id = register(origin, redirect_uri=REDIRECT_URI, client_name="bench")

    def flow(http: httpx.Client) -> dict[str, float]:
        verifier, challenge = pkce()
        url = authorize_url(origin, client_id, challenge, "s", REDIRECT_URI)
        get_s, page = timed(lambda: http.get(url, headers={"Accept": "text/html"}))
        assert page.status_code == 200, page.text
        action, data = consent_submission(url, page.text, pin)
        headers = {"Origin": origin, "Referer": url}
        post_s, redirect = timed(lambda: http.post(action, data=data, headers=headers))
        code = code_of(redirect, "cfmcp consent POST")
        token_s, token = timed(
            lambda: http.post(
                f"{origin}/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT_URI,
                    "client_id": client_id,
                    "code_verifier": verifier,
                    "resource": f"{origin}/mcp",
                },
            )
        )
        assert token.status_code == 200, token.text
        return {"authorize_get": get_s, "authorize_post": post_s, "token": token_s}

    return flow


def seed_access_token(origin: str, pin: str) -> str:
    """An access token from the seed's own flow (register, PIN POST, code grant)."""
    client_id = httpx.post(
        f"{origin}/register", json={"client_name": "bench", "redirect_uris": [REDIRECT_URI]}
    ).json()["client_id"]
    verifier, challenge = pkce()
    redirect = httpx.post(
        f"{origin}/authorize",
        data={
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "pin": pin,
        },
    )
    token = httpx.post(
        f"{origin}/token",
        data={
            "grant_type": "authorization_code",
            "code": code_of(redirect, "seed PIN POST"),
            "code_verifier": verifier,
        },
    )
    token.raise_for_status()
    return token.json()["access_token"]


# ------------------------------------------------------------------------------ import time


def cfmcp_import_ms(bundle: Path, env: dict[str, str], starts: int) -> tuple[list[float], str]:
    """`import entry` in Pyodide 0.28.2 under Node (the tests' Workers harness), per start."""
    try:
        from tests.workers_runtime.host import missing_prerequisites, start_harness
    except ImportError as exc:
        return [], f"no Workers harness ({exc})"
    missing = missing_prerequisites()
    if missing:
        return [], missing
    times = []
    for _ in range(starts):
        with start_harness(bundle, env) as info:
            times.append(info.main_import_ms)
    return times, "Pyodide 0.28.2 in Node, after `import workers`"


SEED_IMPORT_JS = """
const t0 = performance.now();
await import(process.argv[1]);
console.log(performance.now() - t0);
"""


def seed_import_ms(starts: int) -> list[float]:
    """`import worker.js` in a fresh Node process (V8, workerd's engine), per start."""
    url = (SEED_DIR / "worker.js").as_uri()
    return [
        float(
            subprocess.run(
                ["node", "--input-type=module", "-e", SEED_IMPORT_JS, url],
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            ).stdout.strip()
        )
        for _ in range(starts)
    ]


# ------------------------------------------------------------------------------- running


def run_rounds(
    targets: list[Target],
    rounds: int,
    one: Callable[[Target], dict[str, float]],
) -> tuple[dict[str, dict[str, list[float]]], dict[str, tuple[float, float]]]:
    """`rounds` interleaved rounds (order rotating); samples and CPU seconds per target."""
    samples: dict[str, dict[str, list[float]]] = {t.name: {} for t in targets}
    before = {t.name: t.cpu() for t in targets}
    for i in range(rounds):
        order = targets[i % len(targets) :] + targets[: i % len(targets)]
        for target in order:
            for key, value in one(target).items():
                samples[target.name].setdefault(key, []).append(value)
    after = {t.name: t.cpu() for t in targets}
    cpu = {
        name: (after[name][0] - before[name][0], after[name][1] - before[name][1])
        for name in before
    }
    return samples, cpu


def fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def ratio(cfmcp: float | None, seed: float | None) -> str:
    if cfmcp is None or seed is None or seed <= 0:
        return "n/a"
    return f"{cfmcp / seed:.2f}"


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(line(headers))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300, help="proxied tools/call rounds")
    parser.add_argument("--oauth-rounds", type=int, default=50, help="authorize + token rounds")
    parser.add_argument("--import-starts", type=int, default=3)
    parser.add_argument("--no-dev", action="store_true", help="leave out `cfmcp dev` (CPython)")
    args = parser.parse_args()

    pat, pin = secrets.token_urlsafe(24), f"{secrets.randbelow(10**8):08d}"
    env = cfmcp_env(pat, pin, secrets.token_urlsafe(32))
    has_seed = (SEED_DIR / "worker.js").is_file()
    if not has_seed:
        print(f"note: the seed Worker is not at {SEED_DIR}: its rows and the ratios are left out\n")
    with contextlib.ExitStack() as stack:
        upstream = stack.enter_context(demo_upstream(pat))
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cfmcp-bench-")))
        bundle = tmp / "bundle"
        config = ProjectConfig()
        config.upstream.url = f"{upstream}/mcp"
        render_bundle(config.validate(), public_url="").write(bundle)

        targets: list[Target] = []  # started one after another: each cold start alone
        if has_seed:
            seed = stack.enter_context(start_seed(f"{upstream}/mcp", pat, pin, tmp))
            seed.token, seed.oauth = (
                seed_access_token(seed.origin, pin),
                seed_flow(seed.origin, pin),
            )
            targets.append(seed)
        cfmcp = stack.enter_context(start_cfmcp_workerd(bundle, env, tmp))
        targets.append(cfmcp)
        if not args.no_dev:
            targets.append(stack.enter_context(start_cfmcp_dev(bundle, env, tmp)))
        for target in targets:
            if target.name != "seed":
                target.token = obtain_tokens_over_http(target.origin, pin).access_token
                target.oauth = cfmcp_flow(target.origin, pin)
            target.find_processes()

        direct = Session(f"{upstream}/mcp", pat)
        sessions = {t.name: Session(f"{t.origin}/mcp", t.token) for t in targets}
        for _ in range(30):  # warm-up: connections, isolates, caches
            direct.time_call()
            for session in sessions.values():
                session.time_call()
        direct_times: list[float] = []

        def one_call(target: Target) -> dict[str, float]:
            if target is targets[0]:
                direct_times.append(direct.time_call())
            return {"call": sessions[target.name].time_call()}

        calls, call_cpu = run_rounds(targets, args.rounds, one_call)
        clients = {
            t.name: stack.enter_context(httpx.Client(trust_env=False, timeout=30)) for t in targets
        }
        for target in targets:  # warm-up
            target.oauth(clients[target.name])
        oauth, oauth_cpu = run_rounds(
            targets, args.oauth_rounds, lambda t: t.oauth(clients[t.name])
        )
        for session in [direct, *sessions.values()]:
            session.close()
        harness_env = {"UPSTREAM_TOKEN": pat, "AUTH_PIN": pin, "SIGNING_KEY": "k" * 43}
        imports = {"cfmcp": cfmcp_import_ms(bundle, harness_env, args.import_starts)}
        if has_seed:
            imports["seed"] = (seed_import_ms(max(args.import_starts, 5)), "Node's V8")
    report(targets, args, direct_times, calls, call_cpu, oauth, oauth_cpu, imports)


def report(
    targets: list[Target],
    args: argparse.Namespace,
    direct_times: list[float],
    calls: dict,
    call_cpu: dict,
    oauth: dict,
    oauth_cpu: dict,
    imports: dict[str, tuple[list[float], str]],
) -> None:
    by_name = {t.name: t for t in targets}
    d_med, d_p99 = statistics.median(direct_times), percentile(direct_times, 99)
    stats: dict[str, dict[str, float]] = {}
    for t in targets:
        xs = calls[t.name]["call"]
        workerd_cpu, tree_cpu = call_cpu[t.name]
        stats[t.name] = {
            "median": (statistics.median(xs) - d_med) * MS,
            "p99": (percentile(xs, 99) - d_p99) * MS,
            "cpu_workerd": workerd_cpu / len(xs) * MS if t.workerd_pids else None,
            "cpu_tree": tree_cpu / len(xs) * MS,
        }
    print(
        f"Proxied MCP tools/call, {args.rounds} interleaved rounds; direct to the upstream: "
        f"median {d_med * MS:.2f} ms, p99 {d_p99 * MS:.2f} ms\n"
    )
    rows = [
        [
            t.label,
            f"+{stats[t.name]['median']:.2f} / +{stats[t.name]['p99']:.2f}",
            fmt(stats[t.name]["cpu_workerd"]),
            fmt(stats[t.name]["cpu_tree"]),
        ]
        for t in targets
    ]
    if "seed" in stats:
        s, c = stats["seed"], stats["cfmcp"]
        rows.append(
            [
                "ratio cfmcp ÷ seed (workerd)",
                f"{ratio(c['median'], s['median'])} / {ratio(c['p99'], s['p99'])}",
                ratio(c["cpu_workerd"], s["cpu_workerd"]),
                ratio(c["cpu_tree"], s["cpu_tree"]),
            ]
        )
    print_table(
        [
            "target",
            "added latency, median / p99 (ms)",
            "CPU/request, workerd (ms)",
            "CPU/request, all its processes (ms)",
        ],
        rows,
    )

    steps = [
        ("authorize_get", "GET /authorize"),
        ("authorize_post", "POST PIN → code"),
        ("token", "POST /token"),
    ]
    print(f"OAuth endpoints, {args.oauth_rounds} interleaved flows (ms, median / p99)\n")
    rows = []
    for t in targets:
        row = [t.label]
        for key, _ in steps:
            xs = oauth[t.name][key]
            row.append(f"{statistics.median(xs) * MS:.2f} / {percentile(xs, 99) * MS:.2f}")
        workerd_cpu, tree_cpu = oauth_cpu[t.name]
        n = len(oauth[t.name]["token"])
        row.append(
            f"{fmt(workerd_cpu / n * MS if t.workerd_pids else None)} / {tree_cpu / n * MS:.2f}"
        )
        rows.append(row)
    if "seed" in by_name:
        row = ["ratio cfmcp ÷ seed (workerd)"]
        for key, _ in steps:
            c, s = oauth["cfmcp"][key], oauth["seed"][key]
            row.append(
                f"{ratio(statistics.median(c), statistics.median(s))} / "
                f"{ratio(percentile(c, 99), percentile(s, 99))}"
            )
        cw, ct = oauth_cpu["cfmcp"]
        sw, st = oauth_cpu["seed"]
        row.append(f"{ratio(cw, sw)} / {ratio(ct, st)}")
        rows.append(row)
    print_table(
        ["target", *(label for _, label in steps), "CPU per flow, workerd / all (ms)"], rows
    )

    print("Start-up\n")
    rows = []
    for t in targets:
        name = t.name if t.name in imports else None
        times, how = imports.get(name, ([], "")) if name else ([], "")
        rows.append(
            [
                t.label,
                f"{t.cold_start_s * MS:.0f}",
                f"{statistics.median(times):.1f} ({how})"
                if times
                else (f"n/a: {how}" if how else "n/a (same core as above, CPython)"),
            ]
        )
    if "seed" in by_name:
        c_imp, s_imp = imports["cfmcp"][0], imports["seed"][0]
        rows.append(
            [
                "ratio cfmcp ÷ seed",
                ratio(by_name["cfmcp"].cold_start_s, by_name["seed"].cold_start_s),
                ratio(
                    statistics.median(c_imp) if c_imp else None,
                    statistics.median(s_imp) if s_imp else None,
                ),
            ]
        )
    print_table(
        ["target", "cold start: process start → first 200 (ms)", "main-module import (ms, median)"],
        rows,
    )
    if "cfmcp" in by_name:
        print(
            "cfmcp's cold start includes `python -m cfmcp dev` itself (~0.2 s) before its "
            "runner starts miniflare; its requests pass the runner's JS front Worker (the "
            "Host check) first."
        )


if __name__ == "__main__":
    main()
