"""The policy gate on `/mcp`: what a connection's policy lets through to the upstream.

For a request whose token the proxy accepted, and the `Forward` it would send:
- a policy that refuses no tool (`full`), no `Mcp-Method` header and nothing in the body that
  could spell `tools/call`: forwarded as it is, unread;
- otherwise the body is read strictly (`mcp_messages`), `Mcp-Method`/`Mcp-Name` are checked
  against it (400 on a mismatch), and every `tools/call` in it is decided. A refused call
  never reaches the upstream: the answer is a JSON-RPC error (-32602, as for a tool the
  upstream does not have), or — for a policy with `step_up = true` when another policy would
  allow the tool — the MCP step-up answer, 403 `insufficient_scope` naming that policy's scope.
  A batch with one refused call is answered whole and forwarded not at all;
- a `tools/list` gets the `ToolsListFilter` on its response, and so does every GET stream (a
  resumed stream replays answers; a legacy SSE stream carries them all); only answers to the
  request's own tools/list ids teach the isolate's tool catalog. The policy's headers are
  added. A tool the catalog does not know is looked up by asking the upstream's tools/list
  (at most once per PROBE_EVERY_SECONDS per isolate and header set; still unknown: refused).
Each `tools/call` logs one audit line (`audit.py`) when its answer is known.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable

from cfmcp_worker import audit
from cfmcp_worker.crypto import random_token
from cfmcp_worker.http_types import SSE, Forward, Headers, HttpRequest, HttpResponse, media_type
from cfmcp_worker.jsonin import JsonInputError, loads_bounded
from cfmcp_worker.mcp_messages import (
    INVALID_PARAMS,
    Message,
    MessageError,
    check_mirrors,
    error_object,
    read_messages,
    refused,
)
from cfmcp_worker.policy import Policies, PolicyChain
from cfmcp_worker.responses import json_response
from cfmcp_worker.tools_filter import (
    MAX_HELD_BYTES,
    Learning,
    ToolCatalog,
    ToolsListFilter,
    event_payloads,
    tools_of,
)

# The host's way to send one request upstream and read the whole answer (status, headers, body).
SendUpstream = Callable[[Forward], Awaitable[tuple[int, Headers, bytes]]]
PROBE_PAGES = 10
PROBE_EVERY_SECONDS = 30.0
_MIRROR_HEADERS = ("mcp-method", "mcp-name")


class Chained:
    """Two body rewriters in a row (the legacy SSE endpoint rewriter, then the tools filter)."""

    def __init__(self, first, second) -> None:
        self._first = first
        self._second = second

    def begin(self, media_type: str) -> None:
        self._second.begin(media_type)

    def feed(self, chunk: bytes) -> bytes:
        return self._second.feed(self._first.feed(chunk))

    def flush(self) -> bytes:
        return self._second.feed(self._first.flush()) + self._second.flush()


class ToolGate:
    def __init__(
        self,
        policies: Policies,
        send_upstream: SendUpstream | None,
        max_request_bytes: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policies = policies
        self.catalog = ToolCatalog(clock)
        self._send = send_upstream
        self._max_bytes = max_request_bytes
        self._clock = clock
        self._probed_at: dict[str, float] = {}

    def chain_for(self, scope: str, narrowed_to: str | None) -> PolicyChain | None:
        """The policies a token's scope and its grant's narrowing name; None when one of them
        no longer exists in this deployment (the request is then refused)."""
        granted = self.policies.of_scope(scope)
        if granted is None:
            return None
        if narrowed_to is None:
            return PolicyChain((granted,))
        narrowed = self.policies.get(narrowed_to)
        return PolicyChain((granted, narrowed)) if narrowed is not None else None

    async def admit(
        self,
        request: HttpRequest,
        forward: Forward,
        chain: PolicyChain,
        who: audit.Caller,
        step_up_challenge: Callable[[str], str],
        *,
        legacy_message: bool = False,
    ) -> Forward | HttpResponse:
        """The Forward to send (filtered, with the policy's headers), or the gate's own answer.
        `legacy_message`: a legacy SSE upstream's POST /mcp/message (answers come back on the
        GET stream, so no tools/list of the Worker's own is asked there)."""
        _add_headers(forward, chain.headers)
        if request.method == "GET":
            if chain.restricts_tools:
                _add_rewrite(forward, ToolsListFilter(chain))
            return forward
        if request.method != "POST":
            return forward
        mirrored = any(name in request.headers for name in _MIRROR_HEADERS)
        body = request.body
        if not (chain.restricts_tools or mirrored or b"tools" in body or b"\\u" in body):
            return forward  # nothing to decide or audit (no escape could spell tools/call)
        try:
            messages, batch = read_messages(body, self._max_bytes)
            check_mirrors(request.headers, messages, batch)
        except MessageError as exc:
            return refused(str(exc))
        if request.line is not None:
            request.line.name_messages(messages, batch)
        calls = [m for m in messages if m.method == "tools/call"]
        if chain.restricts_tools:
            denied = await self._denied_calls(calls, chain, forward, not legacy_message)
            if denied:  # nothing of this request is forwarded: every call in it is refused
                for message in calls:
                    who.log(message.name, chain.name, True, None)
                return self._refusal(
                    messages, denied, chain, batch, step_up_challenge, legacy_message
                )
            listing = {m.id for m in messages if m.method == "tools/list" and m.id is not None}
            if listing:
                learning = Learning(self.catalog, _catalog_key(chain), listing)
                _add_rewrite(forward, ToolsListFilter(chain, learning))
        forward.audit = [(who, m.name, chain.name) for m in calls]
        return forward

    async def _denied_calls(
        self, calls: list[Message], chain: PolicyChain, forward: Forward, can_probe: bool
    ) -> list[Message]:
        denied = []
        for message in calls:
            hint = None
            if chain.read_only and chain.permits_name(message.name):
                hint = await self._read_only_hint(message.name, chain, forward, can_probe)
            if not chain.permits(message.name, hint):
                denied.append(message)
        return denied

    async def _read_only_hint(
        self, tool: str, chain: PolicyChain, forward: Forward, can_probe: bool
    ) -> bool | None:
        """What the upstream says of a tool; asked when this isolate has not seen it lately
        (not on a legacy SSE upstream, whose answers come back on the client's stream)."""
        key = _catalog_key(chain)
        known, hint = self.catalog.lookup(tool, key)
        if not known and can_probe and self._send is not None:
            now = self._clock()
            if self._probed_at.get(key, -PROBE_EVERY_SECONDS) + PROBE_EVERY_SECONDS <= now:
                if len(self._probed_at) > 64:
                    self._probed_at.clear()
                self._probed_at[key] = now
                await self._probe(forward, key)
                known, hint = self.catalog.lookup(tool, key)
        return hint

    async def _probe(self, forward: Forward, key: str) -> None:
        """Ask the upstream for its tools (as this client, in its session) to learn what a
        tools/call names; a failure teaches nothing, and the call is then refused."""
        headers = [
            (name, value)
            for name, value in forward.headers
            if name.lower() not in _MIRROR_HEADERS and not name.lower().startswith("mcp-param-")
        ]
        if any(name.lower() == "mcp-method" for name, _ in forward.headers):
            headers.append(("Mcp-Method", "tools/list"))
        cursor = None
        for _ in range(PROBE_PAGES):
            ident = "cfmcp-" + random_token(8)
            body = {"jsonrpc": "2.0", "id": ident, "method": "tools/list"}
            if cursor:
                body["params"] = {"cursor": cursor}
            probe = Forward("POST", forward.url, headers, json.dumps(body).encode())
            try:
                status, answer_headers, answer = await self._send(probe)
            except Exception as exc:  # the host's fetch failed; decided as unknown
                audit.note(f"tools/list probe failed: {type(exc).__name__}")
                return
            result = _answer_with_id(answer, media_type(answer_headers), ident)
            if status != 200:
                result = None
            tools = tools_of(result)
            if tools is None:
                audit.note(f"tools/list probe answered HTTP {status} without a tool list")
                return
            self.catalog.learn(tools, key)
            cursor = result["result"].get("nextCursor")
            if not isinstance(cursor, str) or not cursor:
                return

    def _refusal(
        self,
        messages: list[Message],
        denied: list[Message],
        chain: PolicyChain,
        batch: bool,
        step_up_challenge: Callable[[str], str],
        legacy_message: bool,
    ) -> HttpResponse:
        first = denied[0]
        if chain.step_up and not batch:
            _, hint = self.catalog.lookup(first.name, _catalog_key(chain))
            wider = self.policies.widening_for(first.name, hint, chain)
            if wider is not None:
                return json_response(
                    403,
                    {
                        "error": "insufficient_scope",
                        "error_description": f"the tool {first.name} needs {wider.scope}",
                    },
                    [("WWW-Authenticate", step_up_challenge(wider.scope))],
                )
        errors = [
            error_object(
                m.id,
                INVALID_PARAMS,
                f"cfmcp: the tool {m.name!r} is not allowed for this connection "
                f"(policy {chain.name!r})",
                {"policy": chain.name, "tool": m.name},
            )
            if m in denied
            else error_object(
                m.id, INVALID_PARAMS, f"cfmcp: batch refused: it calls {first.name!r}"
            )
            for m in messages
            if m.method is not None and m.id is not None
        ]
        # Legacy SSE message endpoints answer on the stream, not here: an error status makes
        # the client see the refusal instead of waiting for a reply that never comes.
        status = 403 if legacy_message else 200
        return json_response(status, errors if batch else errors[0])


def _catalog_key(chain: PolicyChain) -> str:
    """The upstream headers a policy adds decide which tools the upstream offers it."""
    return json.dumps(sorted(chain.headers.items()))


def _add_headers(forward: Forward, extra: dict[str, str]) -> None:
    if extra:
        names = {name.lower() for name in extra}
        forward.headers = [(n, v) for n, v in forward.headers if n.lower() not in names]
        forward.headers += list(extra.items())


def _add_rewrite(forward: Forward, rewrite) -> None:
    forward.rewrite = rewrite if forward.rewrite is None else Chained(forward.rewrite, rewrite)


def _answer_with_id(body: bytes, media: str, ident: str) -> dict | None:
    """The JSON-RPC message with id `ident` in a JSON body or an SSE stream's events."""
    text = body.decode("utf-8", "replace")
    candidates = event_payloads(text) if media == SSE else [text]
    for candidate in candidates:
        try:
            payload = loads_bounded(candidate.encode(), max_bytes=MAX_HELD_BYTES, max_depth=128)
        except JsonInputError:
            continue
        for message in payload if isinstance(payload, list) else [payload]:
            if isinstance(message, dict) and message.get("id") == ident:
                return message
    return None
