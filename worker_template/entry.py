"""The Worker's main module: adapts the Workers runtime (Pyodide) to the cfmcp core.

The only module importing `workers`, `js` and `pyodide`. It turns the JS Request into an
`HttpRequest`, gives the core a KV store over the `OAUTH_KV` binding, the exact state in the
`ExactState` Durable Object (SQLite-backed, one object per deployment) and a fetcher for Client
ID Metadata Documents, and carries out the core's decisions: a complete `HttpResponse`, or a
`Forward` to the upstream MCP server whose response body is handed back to the runtime as the
upstream's own ReadableStream (never read in Python, so SSE streams through event by event).

An exception here is logged as an `error` line (its type and frames, never its message, which
can quote request data) and answered with a 500, as the core does for its own.

Nothing here draws randomness or builds the app at import time: the runtime imports this module
while taking a memory snapshot, where entropy is unavailable. One `WorkerApp` is created on the
first request and reused for the isolate's lifetime.
"""

from __future__ import annotations

import asyncio
import json

import js  # the runtime's modules
from pyodide.ffi import create_proxy, to_js
from workers import DurableObject, WorkerEntrypoint

# isort: split
from cfmcp_worker import deployment, log_lines  # the core, bundled next to this module
from cfmcp_worker.app import WorkerApp
from cfmcp_worker.exact import ExactClient, ExactLedger, pin_limits
from cfmcp_worker.http_types import Forward, HttpRequest, HttpResponse, media_type
from cfmcp_worker.responses import server_error
from cfmcp_worker.settings import Secrets, Settings
from cfmcp_worker.tools_filter import MAX_HELD_BYTES

try:
    from pyodide.ffi import jsnull  # Pyodide >= 0.28 gives JS null as jsnull, not None
except ImportError:  # older Pyodide: JS null already arrives as None
    jsnull = None

KV_BINDING = "OAUTH_KV"
EXACT_BINDING = "EXACT_STATE"  # durable_object_namespace binding of class ExactState
EXACT_OBJECT_NAME = "cfmcp"  # one object holds a deployment's exact state
SECRET_BINDINGS = {
    "upstream_token": "UPSTREAM_TOKEN",
    "pin": "AUTH_PIN",
    "signing_key": "SIGNING_KEY",
}
METADATA_MAX_BYTES = 64 * 1024
METADATA_TIMEOUT_MS = 5000
PROBE_MAX_BYTES = MAX_HELD_BYTES  # what the tools/list filter holds at most
PROBE_TIMEOUT_MS = 10000
NULL_BODY_STATUSES = frozenset({101, 204, 205, 304})
KV_WRITE_ATTEMPTS = 3  # KV allows one write per second per key and answers 429 beyond that
KV_WRITE_RETRY_SECONDS = 1.0


def _is_null(value: object) -> bool:
    """True for JS null/undefined as Pyodide hands them to Python (None or jsnull)."""
    return value is None or value is jsnull


class JsKvStore:
    """The core's KvStore over a Workers KV namespace binding (the raw JS object)."""

    def __init__(self, binding) -> None:
        self._binding = binding

    async def get(self, key: str) -> str | None:
        value = await self._binding.get(key)
        if _is_null(value):
            return None
        return str(value)

    async def put(self, key: str, value: str, ttl: int | None = None) -> None:
        if ttl is None:
            await self._write(lambda: self._binding.put(key, value))
        else:  # keyword arguments reach JS as an options object
            await self._write(lambda: self._binding.put(key, value, expirationTtl=int(ttl)))

    async def delete(self, key: str) -> None:
        await self._write(lambda: self._binding.delete(key))

    @staticmethod
    async def _write(start_write) -> None:
        """Run a KV write, waiting and retrying when KV refuses a second write within 1 s."""
        for attempt in range(1, KV_WRITE_ATTEMPTS + 1):
            try:
                await start_write()
                return
            except Exception as exc:  # JsException: "KV PUT failed: 429 Too Many Requests"
                if attempt == KV_WRITE_ATTEMPTS or " 429 " not in str(exc):
                    raise
            await asyncio.sleep(KV_WRITE_RETRY_SECONDS)

    async def list_keys(self, prefix: str) -> list[str]:
        names: list[str] = []
        cursor = None
        while True:
            if cursor:
                page = await self._binding.list(prefix=prefix, cursor=cursor)
            else:
                page = await self._binding.list(prefix=prefix)
            page = page.to_py() if hasattr(page, "to_py") else page
            names.extend(str(entry["name"]) for entry in page["keys"])
            cursor = page.get("cursor")
            if page.get("list_complete", True) or _is_null(cursor) or not cursor:
                return names


class DurableObjectSql:
    """The core's `Sql` interface over a SQLite-backed Durable Object's storage."""

    def __init__(self, storage) -> None:
        self._storage = storage
        self._sql = storage.sql

    def run(self, query: str, *params):
        return self._sql.exec(query, *params).raw().toArray().to_py()

    def atomically(self, work):
        callback = create_proxy(work)
        try:
            return self._storage.transactionSync(callback)
        finally:
            callback.destroy()


class ExactState(DurableObject):
    """The one serialising owner of what must be exact (see cfmcp_worker/exact.py).

    Its operations never `await`, so concurrent calls cannot interleave inside one.
    """

    def __init__(self, ctx, env) -> None:
        super().__init__(ctx, env)
        limits = pin_limits(Settings.from_mapping(deployment.SETTINGS))
        self._ledger = ExactLedger(DurableObjectSql(ctx.storage), limits)

    async def call(self, op, args_json):
        return self._ledger.handle(str(op), str(args_json))


def _exact_sender(namespace):
    """The core's transport to the ExactState object (a stub per call: stubs belong to the
    request that made them)."""
    object_id = None

    async def send(op: str, args_json: str) -> str:
        nonlocal object_id
        if object_id is None:
            object_id = namespace.idFromName(EXACT_OBJECT_NAME)
        return str(await namespace.get(object_id).call(op, args_json))

    return send


async def _read_stream(stream, limit: int) -> tuple[bytes, bool]:
    """Read a JS ReadableStream up to `limit` bytes; returns (bytes, whole stream read)."""
    reader = stream.getReader()
    chunks: list[bytes] = []
    size = 0
    while True:
        step = await reader.read()
        if step.done:
            return b"".join(chunks), True
        chunk = step.value.to_bytes()
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            await reader.cancel()
            return b"".join(chunks)[: limit + 1], False


async def fetch_metadata_document(url: str) -> tuple[int, bytes] | None:
    """GET a Client ID Metadata Document: no redirects, a timeout, 64 KiB at most.

    Returns None when it could not be fetched (the core then treats the client as unknown).
    The core has already checked the URL (https, public host); Workers' fetch cannot reach
    private addresses anyway.
    """
    init = js.Object.new()
    init.method = "GET"
    init.redirect = "manual"
    init.headers = to_js([("accept", "application/json")])
    init.signal = js.AbortSignal.timeout(METADATA_TIMEOUT_MS)
    try:
        response = await js.fetch(url, init)
        if _is_null(response.body):
            return int(response.status), b""
        body, complete = await _read_stream(response.body, METADATA_MAX_BYTES)
    except Exception as exc:  # JS TypeError/AbortError/TimeoutError arrive as JsException
        log_lines.note(f"client metadata document {url} not fetched: {_describe(exc)}")
        return None
    if not complete:
        log_lines.note(f"client metadata document {url} is larger than {METADATA_MAX_BYTES} bytes")
        return None
    return int(response.status), body


async def send_upstream(forward: Forward) -> tuple[int, list[tuple[str, str]], bytes]:
    """Send a request the core makes itself (the policy gate's tools/list) and read the whole
    answer, 16 MiB at most."""
    init = js.Object.new()
    init.method = forward.method
    init.headers = _js_headers(forward.headers)
    init.redirect = "manual"
    init.body = to_js(forward.body)
    init.signal = js.AbortSignal.timeout(PROBE_TIMEOUT_MS)
    response = await js.fetch(forward.url, init)
    headers = [(str(n), str(v)) for n, v in js.Array.from_(response.headers).to_py()]
    if _is_null(response.body):
        return int(response.status), headers, b""
    body, _ = await _read_stream(response.body, PROBE_MAX_BYTES)
    return int(response.status), headers, body


def _describe(exc: BaseException) -> str:
    message = str(getattr(exc, "message", "") or exc)
    return f"{type(exc).__name__}: {message[:200]}"


def _plain_var(env, name: str) -> str:
    value = getattr(env, name, None)
    return value if isinstance(value, str) and not _is_null(value) else ""


def _read_secrets(env) -> Secrets | None:
    values = {}
    for field, binding in SECRET_BINDINGS.items():
        value = getattr(env, binding, None)
        if _is_null(value) or not isinstance(value, str) or not value:
            return None
        values[field] = value
    return Secrets(**values)


BUNDLE_VAR = "CFMCP_BUNDLE_SHA256"  # plain_text binding set by `cfmcp deploy`
_cached_app: tuple[Secrets, WorkerApp] | None = None


def _worker_app(env) -> WorkerApp | None:
    """The isolate's WorkerApp, created on first use (None when a binding is missing)."""
    global _cached_app
    secrets = _read_secrets(env)
    if secrets is None:
        return None
    if _cached_app is None or _cached_app[0] != secrets:
        binding = getattr(env, KV_BINDING, None)
        namespace = getattr(env, EXACT_BINDING, None)
        if _is_null(binding) or _is_null(namespace):
            return None
        app = WorkerApp(
            settings=Settings.from_mapping(deployment.SETTINGS),
            secrets=secrets,
            kv=JsKvStore(binding),
            exact_state=ExactClient(_exact_sender(namespace)),
            fetch_metadata=fetch_metadata_document,
            send_upstream=send_upstream,
            bundle_sha256=_plain_var(env, BUNDLE_VAR),
        )
        _cached_app = (secrets, app)
    return _cached_app[1]


async def _to_http_request(js_request, max_body: int) -> tuple[HttpRequest, object]:
    """The core's HttpRequest, and the body as the JS ArrayBuffer it was read from (None when
    it was read otherwise), which `_proxy` sends on unchanged instead of converting it back."""
    # One string crossing is cheaper than converting a JS object to a dict entry by entry.
    headers = json.loads(js.JSON.stringify(js.Object.fromEntries(js_request.headers)))
    method = str(js_request.method).upper()
    body, buffer = b"", None
    if method not in ("GET", "HEAD"):
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) <= max_body:
            buffer = await js_request.arrayBuffer()
            body = buffer.to_bytes()
        elif not _is_null(stream := js_request.body):
            # unknown or too large: read one byte past the cap so the core answers 413
            body, _ = await _read_stream(stream, max_body)
    request = HttpRequest(
        method=method,
        url=str(js_request.url),
        headers=headers,
        body=body,
        client_ip=headers.get("cf-connecting-ip"),
    )
    return request, buffer


def _js_headers(pairs):
    """JS Headers built by appending (cheaper than converting a nested list with to_js)."""
    headers = js.Headers.new()
    for name, value in pairs:
        headers.append(name, value)
    return headers


def _response_init(status: int, headers: list[tuple[str, str]]):
    init = js.Object.new()
    init.status = status
    init.headers = _js_headers(headers)
    return init


def _to_js_response(response: HttpResponse):
    body = None
    if response.body and response.status not in NULL_BODY_STATUSES:
        body = to_js(response.body)
    return js.Response.new(body, _response_init(response.status, response.headers))


def _misconfigured_response():
    names = ", ".join(SECRET_BINDINGS.values())
    message = (
        f"cfmcp Worker is misconfigured: the secrets {names}, the KV binding "
        f"{KV_BINDING} and the Durable Object binding {EXACT_BINDING} must all be set "
        f"(`cfmcp deploy` sets them).\n"
    )
    return _to_js_response(
        HttpResponse(
            500,
            [("content-type", "text/plain; charset=utf-8"), ("cache-control", "no-store")],
            message.encode(),
        )
    )


async def _proxy(
    app: WorkerApp, request: HttpRequest, forward: Forward, buffer=None, in_background=None
):
    """Send the Forward upstream and return the runtime Response for the client. `buffer`:
    the request body's ArrayBuffer, sent as it is when the Forward carries that same body;
    `in_background(coroutine)` runs the core's after-response work (ctx.waitUntil)."""
    init = js.Object.new()
    init.method = forward.method
    init.headers = _js_headers(forward.headers)
    init.redirect = "manual"
    if forward.body and forward.method not in ("GET", "HEAD"):
        same = buffer is not None and forward.body is request.body
        init.body = buffer if same else to_js(forward.body)
    try:
        upstream = await js.fetch(forward.url, init)
    except Exception as exc:  # network failure: a JsException from fetch()
        return _to_js_response(app.upstream_error(request, _describe(exc), forward))
    status = int(upstream.status)
    headers = [(str(name), str(value)) for name, value in js.Array.from_(upstream.headers).to_py()]
    verdict = app.upstream_response(request, status, headers, forward)
    work = app.background_work() if in_background is not None else None  # left due if not
    if work is not None:
        in_background(work)
    stream = None if _is_null(upstream.body) else upstream.body
    if isinstance(verdict, HttpResponse):
        if stream is not None:
            await stream.cancel()
        return _to_js_response(verdict)
    if verdict.status in NULL_BODY_STATUSES:
        if stream is not None:
            await stream.cancel()
        stream = None
    rewrite = forward.rewrite  # a legacy SSE upstream's endpoint event, a tools/list filter
    if rewrite is not None and stream is not None:
        if media_type(verdict.headers) == "application/json":
            # One finite JSON body (a filtered tools/list): read and rewritten in one piece,
            # which costs far less than a TransformStream calling into Python per chunk. Read
            # at most one byte past what the filter holds: beyond that it answers an error.
            body, _ = await _read_stream(stream, PROBE_MAX_BYTES)
            out = rewrite.feed(body) + rewrite.flush()
            return js.Response.new(to_js(out), _response_init(verdict.status, verdict.headers))
        stream = _rewritten_stream(stream, rewrite)
    # The upstream's ReadableStream is passed through untouched: the runtime streams it.
    return js.Response.new(stream, _response_init(verdict.status, verdict.headers))


def _rewritten_stream(stream, rewrite):
    """The upstream stream piped through a TransformStream whose transform is the core's
    rewriter (legacy SSE `endpoint` event, tools/list filter): every chunk goes on as soon as
    it is fed."""

    def transform(chunk, controller):
        out = rewrite.feed(chunk.to_bytes())
        if out:
            controller.enqueue(to_js(out))

    def flush(controller):
        out = rewrite.flush()
        if out:
            controller.enqueue(to_js(out))
        release()

    def release(*_):
        if proxies:  # once; not from inside their own calls, but after this one returned
            held = proxies[:]
            proxies.clear()
            asyncio.get_event_loop().call_soon(lambda: [p.destroy() for p in held])

    # One set of proxies per rewritten stream (none on unfiltered streamable HTTP), released
    # when the stream ends or is cancelled.
    proxies = [create_proxy(transform), create_proxy(flush), create_proxy(release)]
    transformer = js.Object.new()
    transformer.transform, transformer.flush, transformer.cancel = proxies[:]
    return stream.pipeThrough(js.TransformStream.new(transformer))


class Default(WorkerEntrypoint):
    """The Worker's fetch handler (compatibility dates from 2025-08-14 need this class)."""

    async def fetch(self, request):
        try:
            return await self._fetch(request)
        except Exception as exc:  # logged without its message: it may quote request data
            log_lines.error(exc)
            return _to_js_response(server_error())

    async def _fetch(self, request):
        # Since 2025 the runtime hands over a `workers.Request`; earlier, the JS Request itself.
        js_request = getattr(request, "js_object", request)
        app = _worker_app(self.env)
        if app is None:
            return _misconfigured_response()
        http_request, buffer = await _to_http_request(js_request, app.settings.max_request_bytes)
        result = await app.handle(http_request)
        if isinstance(result, Forward):
            return await _proxy(app, http_request, result, buffer, self._in_background)
        return _to_js_response(result)

    def _in_background(self, work) -> None:
        """Run `work` after the response: the runtime keeps the request alive for it."""
        task = asyncio.ensure_future(work)
        proxy = create_proxy(task)  # crosses into JS; destroyed once the task settles
        task.add_done_callback(lambda _: proxy.destroy())
        self.ctx.waitUntil(proxy)
