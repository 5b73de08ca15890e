"""The HTTP front of the fake: a threaded server on 127.0.0.1 serving ``/client/v4``."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import (
    api_account,
    api_kv,
    api_scripts,
    api_secrets,
    api_subdomains,
    api_tails,
    api_triggers,
    multipart,
)
from .calls import Call, CallLog, matches, redact
from .envelope import ApiError, Response
from .faults import Fault, FaultPlan
from .routing import Request, Route, authenticate, find_route
from .state import FakeState

API_PREFIX = "/client/v4"
ROUTES: list[Route] = [
    *api_account.ROUTES,
    *api_kv.ROUTES,
    *api_scripts.ROUTES,
    *api_secrets.ROUTES,
    *api_subdomains.ROUTES,
    *api_tails.ROUTES,
    *api_triggers.ROUTES,
]


def parse_body_for_log(content_type: str, body: bytes) -> Any:
    """A loggable view of a request body with secret values redacted."""
    if not body:
        return None
    boundary = multipart.boundary_of(content_type)
    if boundary:
        try:
            parts = multipart.parse(body, boundary)
        except ApiError:
            return {"malformed_multipart": True, "size": len(body)}
        view: dict[str, Any] = {"parts": []}
        for part in parts:
            if part.name == "metadata":
                try:
                    view["metadata"] = redact(json.loads(part.content))
                except ValueError:
                    view["metadata"] = {"invalid_json": True}
            else:
                view["parts"].append(
                    {
                        "name": part.name,
                        "filename": part.filename,
                        "content_type": part.content_type,
                        "size": len(part.content),
                    }
                )
        return view
    if content_type.startswith("application/json") or body[:1] in (b"{", b"["):
        try:
            return redact(json.loads(body))
        except ValueError:
            pass
    return {"size": len(body)}


class ApiServer:
    """Owns the listening socket, the call log, faults and latency; dispatches to handlers."""

    def __init__(
        self,
        state: FakeState,
        *,
        state_path: Path | None = None,
        workers: Any = None,
        tails: Any = None,
    ) -> None:
        self.state = state
        self.state_path = state_path
        self.workers = workers
        self.tails = tails
        self.calls = CallLog()
        self.faults = FaultPlan()
        self.latency = 0.0  # seconds added to every call
        self.latency_rules: list[tuple[str | None, str | None, float]] = []  # per method/path
        self._httpd = _Server(("127.0.0.1", 0), _handler_class(self))
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-cloudflare", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- dispatch ------------------------------------------------------------------------
    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[Response | None, Call, Fault | None]:
        """Process one request. Returns (response or None to drop the connection, call, fault)."""
        started = time.monotonic()
        split = urlsplit(raw_path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        path = split.path[len(API_PREFIX) :] if split.path.startswith(API_PREFIX) else split.path
        call = self.calls.new(
            method=method,
            path=path or "/",
            query=query,
            body=parse_body_for_log(headers.get("content-type", ""), body),
            authorization="authorization" in headers,
            token_id=None,
            user_agent=headers.get("user-agent", ""),
        )
        fault = self.faults.take(method, call.path)
        delay = next(
            (
                seconds
                for want_method, want_path, seconds in self.latency_rules
                if matches(method, call.path, want_method, want_path)
            ),
            self.latency,
        )
        if delay:
            time.sleep(delay)
        response: Response | None
        if fault is not None:
            call.fault = fault.label
            if fault.apply:
                self._process(call, split.path, query, headers, body)
            response = self._fault_response(fault)
        else:
            response = self._process(call, split.path, query, headers, body)
        if response is not None:
            call.status = response.status
            call.error_codes = response.error_codes
        call.duration = time.monotonic() - started
        return response, call, fault

    def _fault_response(self, fault: Fault) -> Response | None:
        if fault.kind == "drop":
            return None
        if fault.kind == "timeout":
            time.sleep(fault.delay)
            return ApiError(504, 10000, "Gateway timeout (injected)").to_response()
        headers = {}
        if fault.retry_after is not None:
            headers["retry-after"] = f"{fault.retry_after:g}"
        if fault.status == 429:
            return ApiError(
                429, 971, "Please wait and consider throttling your request speed", headers=headers
            ).to_response()
        return ApiError(
            fault.status,
            10013 if fault.status >= 500 else 10000,
            "An unknown error has occurred (injected)",
            headers=headers,
        ).to_response()

    def _process(
        self,
        call: Call,
        full_path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> Response:
        if not full_path.startswith(API_PREFIX + "/"):
            call.unexpected = True
            return ApiError(404, 7000, "No route for that URI").to_response()
        found = find_route(ROUTES, call.method, call.path)
        if found is None:
            call.unexpected = True
            return ApiError(
                404, 7003, f"No route for {call.method} {call.path} in the fake Cloudflare API"
            ).to_response()
        route, params = found
        request = Request(
            call.method,
            call.path,
            query,
            headers,
            body,
            self.state,
            workers=self.workers,
            tails=self.tails,
        )
        try:
            with self.state.lock:
                request.token = authenticate(route, request, params)
                call.token_id = request.token.id
                response = route.handler(request, **params)
                if route.mutates and response.status < 400 and self.state_path is not None:
                    self.state.save(self.state_path)
        except ApiError as error:
            return error.to_response()
        return response


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stalled (faulted) request never blocks shutdown
    request_queue_size = 128  # many parallel clients (benchmarks) without refused connects


def _handler_class(server: ApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """One connection: reads each request and hands it to ``server.handle``."""

        protocol_version = "HTTP/1.1"
        server_version = "fake-cloudflare"
        disable_nagle_algorithm = True  # headers and body are separate writes

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the call log records requests."""

        def _read_body(self) -> bytes:
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("content-length") or 0)
            return self.rfile.read(length) if length else b""

        def _dispatch(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            body = self._read_body()
            response, _call, _fault = server.handle(self.command, self.path, headers, body)
            if response is None:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            try:
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(response.body)))
                self.send_header("cf-ray", "0000000000000000-FAKE")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    return Handler
