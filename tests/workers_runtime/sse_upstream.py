"""A local SSE server that proves streaming: it holds its stream open until the test says so."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler

import httpx

from tests.support.local_http import LocalHttpServer


class GatedSse:
    """Answers GET and POST with an event stream: "one", then it waits for `release`.

    The second event is "two" when released in time, "late" when the gate timed out, so a
    body of "one" + "two" proves the first event reached the client while the upstream was
    still holding the stream open. `requests` records (method, path, headers) of each call.
    """

    def __init__(self, gate_seconds: float = 5.0) -> None:
        self.release = threading.Event()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def stream(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                outer.requests.append((self.command, self.path, dict(self.headers.items())))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(b"data: one\n\n")
                self.wfile.flush()
                released = outer.release.wait(timeout=gate_seconds)
                self.wfile.write(b"data: two\n\n" if released else b"data: late\n\n")
                self.wfile.flush()

            do_GET = stream
            do_POST = stream

            def log_message(self, *args: object) -> None:
                pass

        self.http = LocalHttpServer(Handler)
        self.url = self.http.origin + "/mcp"

    def close(self) -> None:
        self.release.set()
        self.http.close()


def read_events_gated(method: str, url: str, sse: GatedSse, **kwargs: object) -> list:
    """Read the stream; release the upstream's second event once the first one arrived.

    Returns [(chunk, whether the gate was already open when the chunk arrived)].
    """
    sse.release.clear()
    arrived: list[tuple[bytes, bool]] = []
    with httpx.stream(method, url, timeout=30, **kwargs) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for chunk in response.iter_raw():
            arrived.append((chunk, sse.release.is_set()))
            if b"one" in chunk:
                time.sleep(0.2)  # a buffering host would keep holding the first event
                sse.release.set()
    return arrived
