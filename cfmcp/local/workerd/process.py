"""Run the Node runner (runner.mjs: miniflare + workerd) as a child of `cfmcp dev`.

Secrets go to the runner as JSON through an inherited pipe, read to EOF and closed: never
argv, the environment or a file (the CFMCP_* secret variables are removed from the runner's
environment). The runner answers one JSON line on a second pipe once serving. Its stdin is a
lifeline: when this process dies, EOF ends the runner, and the runner's exit ends workerd.
The runner runs in its own session so Ctrl-C reaches `cfmcp dev` only, which stops it; its
stderr goes straight to this console, its stdout (the Worker's print() lines) to
`stdout_line` line by line when given (`cfmcp dev` shows them), else to this console too.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cfmcp.errors import CfmcpError
from cfmcp.local.worker_output import WorkerOutput
from cfmcp.local.workerd.locate import RUNNER, WorkerdSetup

START_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 5.0
SECRET_ENV_NAMES = ("CFMCP_UPSTREAM_TOKEN", "CFMCP_PIN", "CFMCP_SIGNING_KEY")


@dataclass(frozen=True)
class WorkerdOptions:
    """How to run one bundle. `state` None keeps KV and Durable Objects in memory."""

    bundle_dir: Path
    host: str
    port: int
    state: Path | None
    compatibility_date: str
    kv_binding: str
    exact_binding: str
    exact_class: str
    kv_latency_ms: int = 0
    count_ops: bool = False


@dataclass(frozen=True)
class WorkerdReady:
    """What the runner reports once serving."""

    origin: str
    control: str | None  # GET {control}/ops: operation counts (with count_ops)
    startup_ms: int
    workerd_version: str
    miniflare_version: str
    compatibility_date: str


class WorkerdProcess:
    """The runner process; `start()` returns once it serves, `stop()` ends it and workerd."""

    def __init__(
        self,
        setup: WorkerdSetup,
        options: WorkerdOptions,
        secrets: Mapping[str, str],
        stdout_line: WorkerOutput | None = None,
    ) -> None:
        self._setup = setup
        self._options = options
        self._secrets = dict(secrets)
        self._stdout_line = stdout_line
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self, secrets_fd: int, ready_fd: int) -> list[str]:
        o = self._options
        command = [
            self._setup.node,
            str(RUNNER),
            "--miniflare",
            str(self._setup.miniflare_dir),
            "--bundle",
            str(o.bundle_dir.resolve()),
            "--host",
            o.host,
            "--port",
            str(o.port),
            "--compatibility-date",
            o.compatibility_date,
            "--kv-binding",
            o.kv_binding,
            "--exact-binding",
            o.exact_binding,
            "--exact-class",
            o.exact_class,
            "--secrets-fd",
            str(secrets_fd),
            "--ready-fd",
            str(ready_fd),
            "--exit-on-stdin-eof",
        ]
        if o.state is not None:
            command += ["--state", str(o.state.resolve())]
        if self._setup.pyodide_cache is not None:
            command += ["--pyodide-cache", str(self._setup.pyodide_cache)]
        if o.kv_latency_ms:
            command += ["--kv-latency-ms", str(o.kv_latency_ms)]
        if o.count_ops:
            command.append("--count-ops")
        return command

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> WorkerdReady:
        secrets_r, secrets_w = os.pipe()
        ready_r, ready_w = os.pipe()
        try:
            payload = json.dumps(self._secrets).encode()
            # far below the pipe buffer: the write completes before the reader exists
            os.write(secrets_w, payload)
            os.close(secrets_w)
            secrets_w = -1
            env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV_NAMES}
            self.proc = subprocess.Popen(
                self.command(secrets_r, ready_w),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE if self._stdout_line is not None else None,
                env=env,
                pass_fds=(secrets_r, ready_w),
                start_new_session=True,
            )
        finally:
            for fd in (secrets_r, secrets_w, ready_w):
                if fd >= 0:
                    os.close(fd)
        if self._stdout_line is not None and self.proc.stdout is not None:
            self._stdout_line.relay(self.proc.stdout)
        try:
            message = self._read_ready(ready_r, timeout)
        except BaseException:
            self.stop()
            raise
        finally:
            os.close(ready_r)
        return message

    def _read_ready(self, fd: int, timeout: float) -> WorkerdReady:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        buffer = b""
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CfmcpError(
                        f"workerd did not start within {timeout:.0f} s", hint="its output is above"
                    )
                if not selector.select(min(left, 0.5)):
                    if self.proc.poll() is not None:
                        break
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                buffer += chunk
        line = buffer.split(b"\n", 1)[0]
        if not line:
            code = self.proc.wait()
            raise CfmcpError(
                f"the workerd runner exited with status {code} before serving",
                hint="its output is above",
            )
        data = json.loads(line)
        if "error" in data:
            raise _start_error(str(data["error"]), str(data.get("code", "")), self._options)
        return WorkerdReady(
            origin=str(data["origin"]),
            control=data.get("control"),
            startup_ms=int(data.get("startup_ms", 0)),
            workerd_version=str(data.get("workerd", "?")),
            miniflare_version=str(data.get("miniflare", "?")),
            compatibility_date=str(data.get("compatibility_date", "")),
        )

    def poll(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def wait(self) -> int:
        assert self.proc is not None
        return self.proc.wait()

    def stop(self) -> None:
        """SIGTERM the runner (it kills workerd), then SIGKILL whatever is left of its group."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=STOP_TIMEOUT_SECONDS)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # its session: workerd included
        proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()


def _start_error(message: str, code: str, options: WorkerdOptions) -> CfmcpError:
    if code == "ERR_ADDRESS_IN_USE":
        return CfmcpError(
            f"port {options.port} on {options.host} is already in use",
            hint="pick another with --port, or --port 0 for any free one",
        )
    return CfmcpError(f"workerd could not start: {message}", hint="its output is above")
