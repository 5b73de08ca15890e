"""Live tails: the WebSocket server behind `POST …/scripts/{s}/tails`, fed by running Workers.

A tail is a WebSocket at `ws://127.0.0.1:PORT/tail/<id>` (one server per fake, started with
the first tail). It accepts only the `trace-v1` subprotocol, as Cloudflare's tail does; the
client's first message (wrangler sends `{"debug": false}`) is recorded, then the connection
receives every event of its Worker until the tail is deleted (the server then closes it, code
1000) or the client goes. Events are built from what the Worker process really prints: each
stdout line of the Worker's `cfmcp dev --json-logs` is one of the event's `logs`, and the
Worker's `request` line ends the event (it is the last line of a request), in the shape
wrangler reads: `outcome`, `scriptName`, `eventTimestamp`, `event.request{url, method,
headers}`, `event.response.status`, `logs[{message: [line], level, timestamp}]`,
`exceptions`. Lines of concurrent requests would be grouped in print order (tests make
requests one at a time). `inject` sends a hand-made event (exceptions, other prints).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .state import WORKERS_SUBDOMAIN

PROTOCOL = "trace-v1"
TAIL_LIFETIME = timedelta(hours=6)
FIRST_MESSAGE_TIMEOUT = 10.0


@dataclass
class FakeTail:
    id: str
    account_id: str
    script: str
    expires_at: str
    deleted: bool = False
    first_messages: list[str] = field(default_factory=list)  # one per connection
    connections: list[Any] = field(default_factory=list)  # open ServerConnections


class TailHub:
    """Every tail of the fake and the one WebSocket server they share."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tails: dict[str, FakeTail] = {}
        self._pending: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._server: Any = None
        self._connected = threading.Condition(self._lock)

    # -- the API side ---------------------------------------------------------------------
    def create(self, account_id: str, script: str) -> FakeTail:
        self._start()
        expires = (datetime.now(UTC) + TAIL_LIFETIME).isoformat(timespec="seconds")
        tail = FakeTail(secrets.token_hex(16), account_id, script, expires.replace("+00:00", "Z"))
        with self._lock:
            self.tails[tail.id] = tail
        return tail

    def url(self, tail: FakeTail) -> str:
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/tail/{tail.id}"

    def delete(self, account_id: str, script: str, tail_id: str) -> bool:
        """Delete a tail (False when there is none); its open WebSockets are closed."""
        with self._lock:
            tail = self.tails.get(tail_id)
            if (
                tail is None
                or tail.deleted
                or (tail.account_id, tail.script)
                != (
                    account_id,
                    script,
                )
            ):
                return False
            tail.deleted = True
            open_now = list(tail.connections)
        for connection in open_now:
            connection.close(1000, "tail deleted")
        return True

    def of_script(self, script: str) -> list[FakeTail]:
        with self._lock:
            return [tail for tail in self.tails.values() if tail.script == script]

    def wait_connected(self, script: str, timeout: float = 15.0) -> FakeTail:
        """The first live tail of `script` with an open WebSocket (after its first message)."""
        deadline = time.monotonic() + timeout
        with self._connected:
            while True:
                for tail in self.tails.values():
                    if tail.script == script and not tail.deleted and tail.connections:
                        return tail
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no tail of {script!r} connected within {timeout:g} s")
                self._connected.wait(left)

    # -- the Worker side ------------------------------------------------------------------
    def worker_line(self, account_id: str, script: str, text: str) -> None:
        """One line the Worker printed; its `request` line sends the event."""
        text = text.rstrip("\r\n")
        if not text:
            return
        now_ms = int(time.time() * 1000)
        key = (account_id, script)
        with self._lock:
            logs = self._pending.setdefault(key, [])
            logs.append({"message": [text], "level": "log", "timestamp": now_ms})
            try:
                line = json.loads(text)
            except ValueError:
                return
            if not (isinstance(line, dict) and line.get("cfmcp") == "request"):
                return
            del self._pending[key]
        self.inject(
            account_id,
            script,
            {
                "outcome": "ok",
                "scriptName": script,
                "eventTimestamp": logs[0]["timestamp"],
                "event": {
                    "request": {
                        "url": f"https://{script}.{WORKERS_SUBDOMAIN}.workers.dev"
                        + str(line.get("path", "/")),
                        "method": str(line.get("method", "GET")),
                        "headers": {},
                    },
                    "response": {"status": line.get("status")},
                },
                "logs": logs,
                "exceptions": [],
            },
        )

    def inject(self, account_id: str, script: str, event: dict[str, Any]) -> int:
        """Send `event` to every open WebSocket of the script's live tails; how many got it."""
        with self._lock:
            targets = [
                connection
                for tail in self.tails.values()
                if (tail.account_id, tail.script) == (account_id, script) and not tail.deleted
                for connection in tail.connections
            ]
        from websockets.exceptions import ConnectionClosed

        sent = 0
        for connection in targets:
            try:
                connection.send(json.dumps(event))
                sent += 1
            except ConnectionClosed:
                continue
        return sent

    # -- the WebSocket server -------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            from websockets.sync.server import serve

            self._server = serve(
                self._serve,
                "127.0.0.1",
                0,
                subprotocols=[PROTOCOL],  # type: ignore[list-item]
                process_request=self._check,
                compression=None,
            )
        threading.Thread(
            target=self._server.serve_forever, name="fake-cloudflare-tails", daemon=True
        ).start()

    def _tail_of(self, path: str) -> FakeTail | None:
        tail_id = path.split("?", 1)[0].removeprefix("/tail/")
        with self._lock:
            tail = self.tails.get(tail_id)
        return tail if tail is not None and not tail.deleted else None

    def _check(self, connection: Any, request: Any) -> Any:
        if self._tail_of(request.path) is None:
            return connection.respond(404, "no such tail\n")
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        if PROTOCOL not in [p.strip() for p in offered.split(",")]:
            return connection.respond(400, f"the tail speaks the {PROTOCOL} subprotocol only\n")
        return None

    def _serve(self, connection: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        tail = self._tail_of(connection.request.path)
        if tail is None:
            return
        try:
            first = connection.recv(timeout=FIRST_MESSAGE_TIMEOUT)
        except (TimeoutError, ConnectionClosed):
            return
        with self._connected:
            tail.first_messages.append(first if isinstance(first, str) else first.decode())
            tail.connections.append(connection)
            self._connected.notify_all()
        try:
            for _ in connection:  # nothing more is expected from the client
                pass
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                if connection in tail.connections:
                    tail.connections.remove(connection)

    def close(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            connections = [c for tail in self.tails.values() for c in tail.connections]
        for connection in connections:
            connection.close(1001, "fake stopped")
        if server is not None:
            server.shutdown()
