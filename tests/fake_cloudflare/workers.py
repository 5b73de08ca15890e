"""Run uploaded Workers locally: each upload/secret change (re)starts ``cfmcp dev --bundle``.

A Worker process prints its log lines as JSON (``--json-logs``) on stdout: each line goes to
its log file and to ``on_line(account_id, script_name, line)`` (the live tails); stderr goes
to the log file only."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .envelope import ApiError
from .model import Script
from .proxy import StableProxy

REPO_ROOT = Path(__file__).resolve().parents[2]
# Worker secret binding -> environment variable read by `cfmcp dev`.
SECRET_ENV = {
    "UPSTREAM_TOKEN": "CFMCP_UPSTREAM_TOKEN",
    "AUTH_PIN": "CFMCP_PIN",
    "SIGNING_KEY": "CFMCP_SIGNING_KEY",
}
_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


@dataclass
class _Running:
    process: subprocess.Popen[bytes]
    origin: str
    bundle_dir: Path
    log_path: Path


def worker_env(secrets: dict[str, str]) -> dict[str, str]:
    """An explicit environment for a Worker process: the basics plus this Worker's secrets,
    and nothing else from the test process (no unrelated credentials leak in)."""
    env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    for binding, variable in SECRET_ENV.items():
        if binding in secrets:
            env[variable] = secrets[binding]
    return env


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


class WorkerRunner:
    """Keeps one ``cfmcp dev`` process per uploaded Worker behind a stable local origin."""

    def __init__(
        self,
        root: Path | str | None = None,
        *,
        start_timeout: float = 60.0,
        required_secrets: tuple[str, ...] = tuple(SECRET_ENV),
        kv_path: Callable[[Script], Path | None] | None = None,
        on_line: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.on_line = on_line
        self._own_root = root is None
        self.root = (
            Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="fake-cf-workers-"))
        )
        self.root.mkdir(parents=True, exist_ok=True)
        self.start_timeout = start_timeout
        self.required_secrets = required_secrets
        self.kv_path = kv_path  # the --state file for a Worker (None: its own file)
        self._proxies: dict[str, StableProxy] = {}
        self._lock = threading.RLock()  # deploy/stop/origin may come from several threads
        self._running: dict[str, _Running] = {}
        self._generation = 0

    def origin(self, account_id: str, script_name: str) -> str:
        """The stable origin for this Worker (allocated on first use)."""
        return self._proxy(f"{account_id}/{script_name}").origin

    def _proxy(self, key: str) -> StableProxy:
        with self._lock:
            if key not in self._proxies:
                self._proxies[key] = StableProxy()
            return self._proxies[key]

    def command(self, bundle: Path, ready: Path, kv_state: Path) -> list[str]:
        """The ``cfmcp dev`` command line for a bundle."""
        return [
            sys.executable,
            "-c",
            "from cfmcp.cli import main; main()",
            "dev",
            "--bundle",
            str(bundle),
            "--port",
            "0",
            "--ready-file",
            str(ready),
            "--state",
            str(kv_state),
            "--json-logs",
        ]

    def deploy(self, script: Script) -> str | None:
        """See :meth:`_deploy` (serialised)."""
        with self._lock:
            return self._deploy(script)

    def _deploy(self, script: Script) -> str | None:
        """Write ``script``'s modules out, start a process for them and switch the Worker's
        origin to it; the previous process is stopped. A Worker that fails to start is an
        upload error (400, code 10021) and leaves the previous process serving.

        Until the Worker has every secret in ``required_secrets`` no process runs (``cfmcp
        dev`` cannot start without an upstream token) and its origin answers 503.
        Returns the process's own origin, or None when not started.
        """
        key = f"{script.account_id}/{script.name}"
        missing = [name for name in self.required_secrets if name not in script.secrets()]
        if missing:
            self.stop(script.account_id, script.name)
            self._proxy(key).missing = missing
            return None
        self._generation += 1
        home = self.root / _safe(key)
        bundle = home / f"bundle-{self._generation}"
        for module in script.modules:
            target = (bundle / module.name).resolve()
            if not target.is_relative_to(bundle.resolve()):
                raise ApiError(400, 10021, f"Invalid module name '{module.name}'")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(module.content)
        ready = home / f"ready-{self._generation}.json"
        kv_state = (self.kv_path(script) if self.kv_path else None) or home / "kv.sqlite3"
        log_path = home / f"worker-{self._generation}.log"
        with log_path.open("ab") as log:  # O_APPEND: the stdout relay appends too
            process = subprocess.Popen(
                self.command(bundle, ready, kv_state),
                cwd=str(home),
                env=worker_env(script.secrets()),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        self._relay(process, log_path, script.account_id, script.name)
        origin = self._wait_ready(process, ready, log_path)
        previous = self._running.get(key)
        self._running[key] = _Running(process, origin, bundle, log_path)
        proxy = self._proxy(key)
        proxy.backend_port = int(origin.rsplit(":", 1)[1])
        proxy.missing = []
        if previous is not None:
            _terminate(previous.process)
            shutil.rmtree(previous.bundle_dir, ignore_errors=True)
        return origin

    def _relay(
        self, process: subprocess.Popen[bytes], log_path: Path, account_id: str, name: str
    ) -> None:
        """Copy the process's stdout to its log file and hand each line to ``on_line``."""

        def pump() -> None:
            assert process.stdout is not None
            with log_path.open("ab") as log:
                for raw in iter(process.stdout.readline, b""):
                    log.write(raw)
                    log.flush()
                    if self.on_line is not None:
                        self.on_line(account_id, name, raw.decode("utf-8", "replace"))

        threading.Thread(target=pump, name=f"worker-stdout-{name}", daemon=True).start()

    def _wait_ready(self, process: subprocess.Popen[bytes], ready: Path, log_path: Path) -> str:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if ready.exists():
                try:
                    return json.loads(ready.read_text())["origin"]
                except (ValueError, KeyError):
                    pass  # written atomically by contract; retry if caught mid-write anyway
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise ApiError(
                    400,
                    10021,
                    f"Uncaught error at Worker startup (exit {process.returncode}): {tail}",
                )
            time.sleep(0.05)
        _terminate(process)
        raise ApiError(400, 10021, f"Worker did not start within {self.start_timeout:g}s")

    def process_pid(self, account_id: str, script_name: str) -> int | None:
        """The pid of the Worker's current process, if one runs."""
        running = self._running.get(f"{account_id}/{script_name}")
        return running.process.pid if running else None

    def process_log(self, account_id: str, script_name: str) -> str:
        """The current process's output (for debugging failing tests)."""
        running = self._running.get(f"{account_id}/{script_name}")
        return running.log_path.read_text(errors="replace") if running else ""

    def stop(self, account_id: str, script_name: str) -> None:
        """Stop a Worker's process (its origin then answers 503)."""
        key = f"{account_id}/{script_name}"
        with self._lock:
            running = self._running.pop(key, None)
            if key in self._proxies:
                self._proxies[key].backend_port = None
        if running is not None:
            _terminate(running.process)

    def close(self) -> None:
        """Stop every process and proxy; remove the temporary directory if we made it."""
        for key in list(self._running):
            account_id, script_name = key.split("/", 1)
            self.stop(account_id, script_name)
        for proxy in self._proxies.values():
            proxy.close()
        self._proxies.clear()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
