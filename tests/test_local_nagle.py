"""`cfmcp dev` answers without Nagle's ~40 ms stall (issue 11).

With Nagle on, a response written in two pieces (head, then body) waits for the client's
delayed ACK, ~40 ms per request on a keep-alive connection. asyncio disables Nagle only on
accepted sockets whose protocol is IPPROTO_TCP, so `bind_socket` must create its socket that
way. The latency check has a wide margin (10 ms against a 40 ms bug; unstalled it is ~0.6 ms).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cfmcp.local.server import bind_socket

STALLED_MS = 10.0


def test_listening_socket_disables_nagle() -> None:
    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP  # what asyncio checks before TCP_NODELAY
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        with socket.create_connection(sock.getsockname()[:2], timeout=5):
            accepted, _ = sock.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        sock.close()


@pytest.mark.integration
def test_dev_metadata_get_is_not_stalled(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CFMCP_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cfmcp",
            "dev",
            "--demo",
            "--port",
            "0",
            "--ready-file",
            str(ready),
            "--state",
            str(tmp_path / "state.sqlite3"),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert proc.poll() is None, "cfmcp dev exited"
            assert time.monotonic() < deadline, "cfmcp dev did not become ready"
            time.sleep(0.05)
        url = json.loads(ready.read_text())["origin"] + "/.well-known/oauth-authorization-server"
        times = []
        with httpx.Client(trust_env=False, timeout=10) as client:  # one keep-alive connection
            client.get(url).raise_for_status()
            for _ in range(15):
                start = time.perf_counter()
                client.get(url).raise_for_status()
                times.append((time.perf_counter() - start) * 1000)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    median = statistics.median(times)
    assert median < STALLED_MS, f"metadata GET median {median:.1f} ms: is Nagle back? {times}"
