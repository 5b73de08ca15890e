"""Run a rendered Worker bundle under Pyodide (the Workers runtime harness) from Python tests.

    secrets = {"UPSTREAM_TOKEN": ..., "AUTH_PIN": ..., "SIGNING_KEY": ...}
    with run_pyodide_worker(bundle_dir, secrets) as origin:
        httpx.get(f"{origin}/.well-known/oauth-authorization-server")

The harness (harness.mjs) is a Node.js process: Pyodide 0.28.2 + the workers-runtime-sdk 1.9.5
wheel, an in-memory KV bound as OAUTH_KV, served over node:http on 127.0.0.1. Its log (the
Worker's prints and tracebacks) goes to a temporary file that is echoed to stderr when the
harness fails to start or the `with` block raises.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.workers_runtime.exact_server import ExactStateServer

HERE = Path(__file__).resolve().parent
HARNESS = HERE / "harness.mjs"
NODE_MODULES = HERE.parent / "node" / "node_modules"
WHEEL_DIR = HERE / "wheels"
SETUP_HINT = "run scripts/test once (it downloads the wheel and runs npm ci in tests/node)"
START_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 10.0
LOG_TAIL_CHARS = 8000


class HarnessError(RuntimeError):
    """The harness could not start; the message carries its log."""


@dataclass(frozen=True)
class HarnessInfo:
    """What the harness reports once it serves: origin and start-up timings (ms)."""

    origin: str
    pyodide_ms: float
    sdk_import_ms: float
    main_import_ms: float
    log_path: Path
    import_profile: tuple[tuple[str, float, float], ...] = ()  # (module, self ms, total ms)
    origins: dict[str, str] = field(default_factory=dict)  # location -> origin (--locations)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def missing_prerequisites() -> str | None:
    """Why the harness cannot run here (None when it can)."""
    if shutil.which("node") is None:
        return "node is not on PATH"
    if not (NODE_MODULES / "pyodide" / "pyodide.mjs").is_file():
        return f"npm package pyodide missing under {NODE_MODULES}: {SETUP_HINT}"
    if not any(WHEEL_DIR.glob("workers_runtime_sdk-1.9.5-*.whl")):
        return f"workers-runtime-sdk 1.9.5 wheel missing in {WHEEL_DIR}: {SETUP_HINT}"
    return None


def _tail(path: Path) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-LOG_TAIL_CHARS:]


def _wait_ready(process: subprocess.Popen, ready_file: Path, log_path: Path) -> dict:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if ready_file.exists():
            return json.loads(ready_file.read_text())
        if process.poll() is not None:
            raise HarnessError(
                f"the Workers harness exited with status {process.returncode} before serving:\n"
                f"{_tail(log_path)}"
            )
        time.sleep(0.05)
    raise HarnessError(
        f"the Workers harness did not serve within {START_TIMEOUT_SECONDS:.0f} s:\n"
        f"{_tail(log_path)}"
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def start_harness(
    bundle_dir: Path,
    env: Mapping[str, str],
    *,
    port: int = 0,
    measure_cpu: bool = False,
    control: bool = False,
    import_profile: bool = False,
    sdk_wrapped_kv: bool = False,
    kv_write_limit: bool = False,
    locations: Sequence[str] = (),
    kv_replication_delay: float | None = None,
) -> Iterator[HarnessInfo]:
    """Start the harness for `bundle_dir` and yield its HarnessInfo; stop it on exit.

    `env` becomes the Worker's env (secrets and vars, strings). `measure_cpu` adds an
    `x-harness-python-ms` header to responses; `control` enables the /__harness__/ endpoints;
    `import_profile` reports per-module import times of the main module; `sdk_wrapped_kv`
    lets the `workers` SDK wrap OAUTH_KV (null becomes None), as the vendored SDK does from
    compatibility date 2026-04-21, instead of handing it over raw as the runtime does now;
    `kv_write_limit` enforces KV's one write per second per key (429 errors); `locations`
    runs one isolate per named edge location (see `HarnessInfo.origins`) sharing a KV whose
    writes reach the other locations after `kv_replication_delay` seconds (default 60).
    """
    problem = missing_prerequisites()
    if problem:
        raise HarnessError(problem)
    bundle_dir = Path(bundle_dir).resolve()
    with tempfile.TemporaryDirectory(prefix="cfmcp-harness-") as scratch:
        ready_file = Path(scratch) / "ready.json"
        log_path = Path(scratch) / "harness.log"
        command = [
            "node",
            str(HARNESS),
            "--bundle",
            str(bundle_dir),
            "--port",
            str(port),
            "--ready-file",
            str(ready_file),
        ]
        if measure_cpu:
            command.append("--measure-cpu")
        if control:
            command.append("--control")
        if import_profile:
            command.append("--import-profile")
        if sdk_wrapped_kv:
            command.append("--sdk-wrapped-kv")
        if kv_write_limit:
            command.append("--kv-write-limit")
        if locations:
            command += ["--locations", ",".join(locations)]
        if kv_replication_delay is not None:
            command += ["--kv-replication-delay", str(kv_replication_delay)]
        child_env = {**os.environ, "CFMCP_HARNESS_WORKER_ENV": json.dumps(dict(env))}
        exact_state = None  # a probe bundle that is not cfmcp's has no ledger to serve
        if (bundle_dir / "cfmcp_worker" / "exact.py").is_file():
            exact_state = ExactStateServer(bundle_dir)
            child_env["CFMCP_HARNESS_EXACT_URL"] = exact_state.url
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=child_env,
                cwd=HERE,
            )
        try:
            ready = _wait_ready(process, ready_file, log_path)
            info = HarnessInfo(
                origin=ready["origin"],
                pyodide_ms=ready["pyodide_ms"],
                sdk_import_ms=ready["sdk_import_ms"],
                main_import_ms=ready["main_import_ms"],
                log_path=log_path,
                import_profile=tuple(tuple(row) for row in ready.get("import_profile", ())),
                origins=dict(ready.get("origins", {})),
            )
            try:
                yield info
            except BaseException:
                sys.stderr.write(f"--- Workers harness log ({bundle_dir.name}) ---\n")
                sys.stderr.write(_tail(log_path) + "\n")
                raise
        finally:
            _stop(process)
            if exact_state is not None:
                exact_state.close()


@contextmanager
def run_pyodide_worker(bundle_dir: Path, env: dict[str, str], *, port: int = 0) -> Iterator[str]:
    """Serve `bundle_dir` under Pyodide on 127.0.0.1; yield the origin "http://127.0.0.1:PORT".

    `env` holds the Worker's secrets (UPSTREAM_TOKEN, AUTH_PIN, SIGNING_KEY) and optional
    vars. KV enforces its limits including one write per second per key. Raises HarnessError
    (with the harness log) when the Worker cannot start.
    """
    with start_harness(bundle_dir, env, port=port, kv_write_limit=True) as info:
        yield info.origin
