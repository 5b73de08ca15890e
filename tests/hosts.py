"""Start a rendered Worker bundle on one of its hosts and yield its origin.

kind "cpython": `python -m cfmcp dev --bundle ...` in a subprocess (the local runtime).
kind "pyodide": the Workers runtime harness in tests/workers_runtime (Pyodide in Node).
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
from pathlib import Path

KINDS = ("cpython", "pyodide")
START_TIMEOUT_SECONDS = 30.0
_ENV_NAMES = {"UPSTREAM_TOKEN": "CFMCP_UPSTREAM_TOKEN", "AUTH_PIN": "CFMCP_PIN",
              "SIGNING_KEY": "CFMCP_SIGNING_KEY"}


def pyodide_harness_available() -> bool:
    """False only when the harness module does not exist (yet); its own bugs still raise."""
    try:
        from tests.workers_runtime.host import run_pyodide_worker  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name in ("tests.workers_runtime", "tests.workers_runtime.host"):
            return False
        raise
    return True


@contextlib.contextmanager
def start_worker(kind: str, bundle_dir: Path, env: dict[str, str]) -> Iterator[str]:
    """Serve `bundle_dir` on host `kind`; yield the origin, e.g. "http://127.0.0.1:53121"."""
    if kind == "cpython":
        with _cpython_worker(bundle_dir, env) as origin:
            yield origin
    elif kind == "pyodide":
        from tests.workers_runtime.host import run_pyodide_worker

        with run_pyodide_worker(bundle_dir, env) as origin:
            yield origin
    else:
        raise ValueError(f"unknown worker host {kind!r}; use one of {KINDS}")


@contextlib.contextmanager
def _cpython_worker(bundle_dir: Path, env: dict[str, str]) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="cfmcp-host-") as tmp:
        ready = Path(tmp) / "ready.json"
        log_path = Path(tmp) / "dev.log"
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("CFMCP_")}
        child_env.update({_ENV_NAMES.get(k, k): v for k, v in env.items()})
        command = [sys.executable, "-m", "cfmcp", "dev", "--bundle", str(bundle_dir),
                   "--port", "0", "--ready-file", str(ready),
                   "--state", str(Path(tmp) / "kv.sqlite3")]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(command, env=child_env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        try:
            origin = _wait_ready(proc, ready, log_path)
            yield origin
        finally:
            _stop(proc)


def _wait_ready(proc: subprocess.Popen[bytes], ready: Path, log_path: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if ready.exists():
            return str(json.loads(ready.read_text(encoding="utf-8"))["origin"])
        if proc.poll() is not None:
            raise RuntimeError(f"cfmcp dev exited with {proc.returncode}:\n"
                               + log_path.read_text(errors="replace")[-4000:])
        time.sleep(0.05)
    raise RuntimeError("cfmcp dev did not become ready in time:\n"
                       + log_path.read_text(errors="replace")[-4000:])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
