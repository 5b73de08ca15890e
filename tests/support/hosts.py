"""Start a rendered Worker bundle on one of its hosts and yield its origin.

kind "cpython": `python -m cfmcp dev --bundle ...` in a subprocess (the local runtime).
kind "pyodide": the Workers runtime harness in tests/workers_runtime (Pyodide in Node).
kind "workerd": `python -m cfmcp dev --runtime workerd --bundle ...`: Cloudflare's own runtime
(workerd via miniflare, from tests/node), KV and the ExactState Durable Object on disk.
`env` uses the Worker's binding names: UPSTREAM_TOKEN, AUTH_PIN, SIGNING_KEY.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

KINDS = ("cpython", "pyodide", "workerd")
START_TIMEOUT_SECONDS = 30.0
WORKERD_START_TIMEOUT_SECONDS = 90.0  # ~2.5 s alone; far more on a loaded 2-core machine
_ENV_NAMES = {
    "UPSTREAM_TOKEN": "CFMCP_UPSTREAM_TOKEN",
    "AUTH_PIN": "CFMCP_PIN",
    "SIGNING_KEY": "CFMCP_SIGNING_KEY",
}


def pyodide_harness_available() -> bool:
    """False only when the harness module does not exist (yet); its own bugs still raise."""
    try:
        from tests.workers_runtime.host import run_pyodide_worker  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name in ("tests.workers_runtime", "tests.workers_runtime.host"):
            return False
        raise
    return True


def workerd_unavailable() -> str | None:
    """Why the workerd host cannot run here (node or miniflare missing), else None."""
    from cfmcp.errors import CfmcpError
    from cfmcp.local.workerd.locate import locate

    try:
        locate()
    except CfmcpError as exc:
        return exc.message
    return None


@dataclass(frozen=True)
class DevHost:
    """A `cfmcp dev` child: its origin and, with count_ops, the runner's control origin."""

    origin: str
    control: str | None = None
    pid: int = 0  # the `cfmcp dev` process
    log_path: Path | None = None  # its output (the Worker's print() lines among it)

    def ops(self) -> dict[str, int]:
        """KV operations and Durable Object calls so far (workerd with count_ops)."""
        assert self.control, "start the workerd host with count_ops=True"
        return dict(httpx.get(f"{self.control}/ops", timeout=10).json())

    def reset_ops(self) -> None:
        assert self.control, "start the workerd host with count_ops=True"
        httpx.post(f"{self.control}/ops/reset", timeout=10).raise_for_status()


@contextlib.contextmanager
def start_worker(
    kind: str, bundle_dir: Path, env: dict[str, str], *, kv_latency_ms: int = 0
) -> Iterator[str]:
    """Serve `bundle_dir` on host `kind`; yield the origin, e.g. "http://127.0.0.1:53121".

    `kv_latency_ms` (workerd only) makes every KV operation wait that long, like an edge
    location's KV round trip.
    """
    if kv_latency_ms and kind != "workerd":
        raise ValueError("kv_latency_ms needs the workerd host")
    if kind == "cpython":
        with _dev_worker(bundle_dir, env) as host:
            yield host.origin
    elif kind == "workerd":
        with start_workerd(bundle_dir, env, kv_latency_ms=kv_latency_ms) as host:
            yield host.origin
    elif kind == "pyodide":
        from tests.workers_runtime.host import run_pyodide_worker

        with run_pyodide_worker(bundle_dir, env) as origin:
            yield origin
    else:
        raise ValueError(f"unknown worker host {kind!r}; use one of {KINDS}")


@contextlib.contextmanager
def start_workerd(
    bundle_dir: Path,
    env: dict[str, str],
    *,
    kv_latency_ms: int = 0,
    count_ops: bool = False,
    state: Path | None = None,
    port: int = 0,
) -> Iterator[DevHost]:
    """`cfmcp dev --runtime workerd` for `bundle_dir`; yield its DevHost.

    `count_ops` counts KV operations and Durable Object calls (`DevHost.ops()`); `state` is
    the state directory (default: a fresh temporary one) and `port` the port (default: any
    free one), to restart on the same state and origin.
    """
    extra = ["--runtime", "workerd"]
    if kv_latency_ms:
        extra += ["--kv-latency-ms", str(kv_latency_ms)]
    if count_ops:
        extra.append("--count-ops")
    with _dev_worker(
        bundle_dir, env, extra, state=state, port=port, timeout=WORKERD_START_TIMEOUT_SECONDS
    ) as host:
        yield host


@contextlib.contextmanager
def _dev_worker(
    bundle_dir: Path,
    env: dict[str, str],
    extra: list[str] | None = None,
    *,
    state: Path | None = None,
    port: int = 0,
    timeout: float = START_TIMEOUT_SECONDS,
) -> Iterator[DevHost]:
    with tempfile.TemporaryDirectory(prefix="cfmcp-host-") as tmp:
        ready = Path(tmp) / "ready.json"
        log_path = Path(tmp) / "dev.log"
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("CFMCP_")}
        child_env.update({_ENV_NAMES.get(k, k): v for k, v in env.items()})
        if state is None:
            state = Path(tmp) / ("state" if extra else "kv.sqlite3")
        command = [
            sys.executable,
            "-m",
            "cfmcp",
            "dev",
            "--bundle",
            str(bundle_dir),
            "--port",
            str(port),
            "--ready-file",
            str(ready),
            "--state",
            str(state),
            *(extra or []),
        ]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                command,
                env=child_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            data = _wait_ready(proc, ready, log_path, timeout)
            try:
                yield DevHost(str(data["origin"]), data.get("control"), proc.pid, log_path)
            except Exception:
                sys.stderr.write(f"--- cfmcp dev log ---\n{_tail(log_path)}\n")
                raise
        finally:
            _stop(proc)


def _tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-4000:] if log_path.exists() else ""


def _wait_ready(proc: subprocess.Popen[bytes], ready: Path, log_path: Path, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.exists():
            return dict(json.loads(ready.read_text(encoding="utf-8")))
        if proc.poll() is not None:
            raise RuntimeError(f"cfmcp dev exited with {proc.returncode}:\n{_tail(log_path)}")
        time.sleep(0.05)
    raise RuntimeError(f"cfmcp dev did not become ready in time:\n{_tail(log_path)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
