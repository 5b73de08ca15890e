"""The consent page in a real browser: Debian's Chromium, driven by playwright-core.

Catches what form parsers cannot: a Content-Security-Policy that makes the browser block the
redirect after the POST (Chrome applies `form-action` to it), or Enter submitting Deny.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.integration.running import RunningWorker
from tests.support.oauth import authorize_url, pkce_pair, token_request

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
DRIVER = NODE_DIR / "consent_in_browser.mjs"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or ""

pytestmark = pytest.mark.skipif(
    not CHROMIUM or not (NODE_DIR / "node_modules" / "playwright-core").is_dir(),
    reason="needs Debian's chromium and tests/node's playwright-core (scripts/test installs both)",
)


class _Callback(BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"the client received the code")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def callback_server():
    hits: list[str] = []
    handler = type("Callback", (_Callback,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/callback", hits
    server.shutdown()
    server.server_close()


def _drive(url: str, pin: str, callback: str) -> dict:
    result = subprocess.run(
        ["node", str(DRIVER), url, pin, callback],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "CHROMIUM": CHROMIUM},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_typing_the_pin_and_enter_reaches_the_client_callback(
    worker: RunningWorker, callback_server
) -> None:
    callback, hits = callback_server
    registered = httpx.post(
        f"{worker.origin}/register",
        timeout=15,
        json={
            "client_name": "Browser client",
            "redirect_uris": [callback],
            "token_endpoint_auth_method": "none",
        },
    )
    client_id = registered.json()["client_id"]
    verifier, challenge = pkce_pair()
    url = authorize_url(worker.origin, client_id, challenge, "browser-state", redirect_uri=callback)
    report = _drive(url, worker.pin, callback)
    assert report["error"] is None, report
    assert report["final_url"].startswith(callback + "?"), report
    assert len(hits) >= 1 and hits[0].startswith("/callback?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(hits[0]).query).items()}
    assert params["state"] == "browser-state" and params["iss"] == worker.origin
    tokens = token_request(
        worker.origin,
        {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": callback,
            "client_id": client_id,
            "code_verifier": verifier,
        },
    )
    assert tokens.status_code == 200, tokens.text
