"""Live checks of a deployed Worker over HTTP: is the new version answering, correctly?

After an upload, workers.dev routes and new certificates can take a while: `wait_until_live`
polls the authorization server metadata until its `issuer` is the public URL (or times out with
a clear message). Then four checks, each (name, ok, detail):

- AS metadata `issuer` equals the public URL;
- protected resource metadata `resource` equals the MCP URL;
- `/mcp` without a token answers 401 with `resource_metadata` in `WWW-Authenticate`;
- `/register` accepts a (public, loopback) client.

`via` connects to another origin than the public URL (the fake Cloudflare API serves uploaded
Workers on 127.0.0.1; or a local tunnel), while every value is still compared with the public URL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from cfmcp.worker.contract import AS_METADATA_PATH, BUNDLE_HEADER, RESOURCE_METADATA_PATH

SMOKE_CLIENT = {
    "client_name": "cfmcp smoke test",
    "redirect_uris": ["http://127.0.0.1:8976/callback"],
    "token_endpoint_auth_method": "none",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
}


@dataclass(frozen=True)
class SmokeCheck:
    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


class SmokeTester:
    """Checks one deployment; `public_url` is the issuer, `via` the origin actually contacted."""

    def __init__(
        self,
        public_url: str,
        *,
        via: str | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        expected_bundle: str = "",
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.mcp_url = self.public_url + "/mcp"
        self.origin = (via or self.public_url).rstrip("/")
        self._client = client or httpx.Client(
            timeout=10.0, follow_redirects=False, headers={"User-Agent": "cfmcp-smoke"}
        )
        self._sleep = sleep
        self._clock = clock
        self.expected_bundle = expected_bundle  # wait for this version, not the previous one

    def close(self) -> None:
        self._client.close()

    def _get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._client.get(self.origin + path, **kwargs)

    def wait_until_live(self, timeout: float, interval: float = 1.0) -> SmokeCheck:
        """Poll the AS metadata until `issuer` is the public URL, or `timeout` seconds pass."""
        deadline = self._clock() + timeout
        last = "no answer yet"
        while True:
            check = self.check_issuer()
            if check.ok:
                return check
            last = check.detail
            if self._clock() >= deadline:
                return SmokeCheck(
                    "issuer",
                    False,
                    f"{self.origin} did not answer as expected within {timeout:.0f}s "
                    f"(last: {last}); workers.dev routes and new certificates can take a few "
                    "minutes: re-run `cfmcp deploy` or `cfmcp doctor` shortly",
                )
            self._sleep(interval)

    def check_issuer(self) -> SmokeCheck:
        data, problem, headers = self._json_with_headers(AS_METADATA_PATH)
        if problem:
            return SmokeCheck("issuer", False, problem)
        live_bundle = headers.get(BUNDLE_HEADER, "")
        if self.expected_bundle and live_bundle != self.expected_bundle:
            return SmokeCheck(
                "issuer",
                False,
                f"the previous version still answers (bundle "
                f"{live_bundle[:12] or 'unknown'}, expected "
                f"{self.expected_bundle[:12]})",
            )
        issuer = data.get("issuer")
        if issuer != self.public_url:
            return SmokeCheck(
                "issuer", False, f"issuer is {issuer!r}, expected {self.public_url!r}"
            )
        return SmokeCheck("issuer", True, f"issuer = {issuer}")

    def check_resource(self) -> SmokeCheck:
        data, problem = self._json(RESOURCE_METADATA_PATH)
        if problem:
            return SmokeCheck("resource", False, problem)
        resource = data.get("resource")
        if resource != self.mcp_url:
            return SmokeCheck(
                "resource", False, f"resource is {resource!r}, expected {self.mcp_url!r}"
            )
        return SmokeCheck("resource", True, f"resource = {resource}")

    def check_unauthenticated(self) -> SmokeCheck:
        try:
            response = self._client.post(
                self.origin + "/mcp",
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                headers={"Accept": "application/json, text/event-stream"},
            )
        except httpx.HTTPError as exc:
            return SmokeCheck("mcp-401", False, f"POST /mcp failed: {type(exc).__name__}")
        challenge = response.headers.get("www-authenticate", "")
        if response.status_code != 401 or "resource_metadata" not in challenge:
            return SmokeCheck(
                "mcp-401",
                False,
                f"POST /mcp without a token gave {response.status_code} "
                f"(WWW-Authenticate: {challenge or 'none'}), expected 401 "
                "with resource_metadata",
            )
        return SmokeCheck("mcp-401", True, "POST /mcp without a token → 401 with resource_metadata")

    def check_register(self) -> SmokeCheck:
        try:
            response = self._client.post(self.origin + "/register", json=SMOKE_CLIENT)
        except httpx.HTTPError as exc:
            return SmokeCheck("register", False, f"POST /register failed: {type(exc).__name__}")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if (
            response.status_code not in (200, 201)
            or not isinstance(body, dict)
            or not body.get("client_id")
        ):
            return SmokeCheck(
                "register",
                False,
                f"POST /register gave {response.status_code}, expected 201 with a client_id",
            )
        return SmokeCheck("register", True, "POST /register accepted a client")

    def run(self, timeout: float) -> list[SmokeCheck]:
        """Wait for the deployment, then run every check (stops early if it never answers)."""
        first = self.wait_until_live(timeout)
        if not first.ok:
            return [first]
        return [first, self.check_resource(), self.check_unauthenticated(), self.check_register()]

    def _json(self, path: str) -> tuple[dict[str, Any], str]:
        data, problem, _ = self._json_with_headers(path)
        return data, problem

    def _json_with_headers(self, path: str) -> tuple[dict[str, Any], str, httpx.Headers]:
        try:
            response = self._get(path)
        except httpx.HTTPError as exc:
            return {}, f"GET {path}: {type(exc).__name__}", httpx.Headers()
        if response.status_code != 200:
            return {}, f"GET {path} gave {response.status_code}", response.headers
        try:
            data = response.json()
        except ValueError:
            return {}, f"GET {path} did not return JSON", response.headers
        if not isinstance(data, dict):
            return {}, f"GET {path} did not return a JSON object", response.headers
        return data, "", response.headers
