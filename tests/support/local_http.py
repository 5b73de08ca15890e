"""A local HTTP server for tests and benchmarks: a handler class served on 127.0.0.1 (a free
port) by a daemon thread until `close()` (or the end of a `with` block)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalHttpServer:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> LocalHttpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
