"""The harness's stand-in for the ExactState Durable Object: the bundle's own ledger, served.

A Durable Object is a remote, serialising owner of SQLite state; here that owner is this
process: the bundle's `cfmcp_worker/exact.py` over SQLite, behind a one-thread HTTP server
(requests are handled one at a time, as a Durable Object runs one operation at a time). The
harness's `EXACT_STATE` binding posts `{"op", "args"}` to it (see harness.mjs).
"""

from __future__ import annotations

import importlib.util
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType

from cfmcp.local.exact import SqliteSql


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ExactStateServer:
    """Serve one bundle's ExactLedger on 127.0.0.1 until `close()`."""

    def __init__(self, bundle_dir: Path) -> None:
        core = Path(bundle_dir) / "cfmcp_worker"
        exact = _load(core / "exact.py", "_harness_exact")
        settings_mod = _load(core / "settings.py", "_harness_settings")
        deployment = _load(core / "deployment.py", "_harness_deployment")
        settings = settings_mod.Settings.from_mapping(deployment.SETTINGS)
        self._sql = SqliteSql(":memory:")
        ledger = exact.ExactLedger(self._sql, exact.pin_limits(settings))
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["content-length"])))
                outer.calls += 1
                body = ledger.handle(request["op"], request["args"]).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = HTTPServer(("127.0.0.1", 0), Handler)  # one request at a time
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._sql.close()
