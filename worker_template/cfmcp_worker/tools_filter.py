"""`tools/list` results seen through a policy: tools outside it are removed before the client
sees them, in a JSON body or in the SSE event that carries the result.

A response is recognised by its shape (a JSON-RPC result holding a `tools` list), not by the
request it answers, so the filter also holds on a legacy SSE stream, where every result comes
back on the one GET stream. Other events pass unchanged, each as soon as it is complete.

Every tool seen is also remembered with its `readOnlyHint` (`ToolCatalog`, per isolate), so a
later `tools/call` under a read-only policy is decided without asking the upstream.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from cfmcp_worker.jsonin import JsonInputError, loads_bounded
from cfmcp_worker.policy import Policy

MAX_HELD_BYTES = 16 * 1024 * 1024  # one JSON body or SSE event held for filtering
CATALOG_SECONDS = 300.0
CATALOG_SIZE = 4096
MAX_DEPTH = 128
_EVENT_ENDS = (b"\r\n\r\n", b"\n\n", b"\r\r")
# What a client gets instead of a JSON body the filter could not check.
UNCHECKED = (
    b'{"jsonrpc":"2.0","id":null,"error":{"code":-32603,'
    b'"message":"cfmcp: the upstream answer could not be checked against this policy"}}'
)


class ToolCatalog:
    """The upstream's tools as last seen in this isolate: name → readOnlyHint (None: unsaid)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._hints: dict[str, tuple[bool | None, float]] = {}

    def learn(self, tools: list) -> None:
        now = self._clock()
        if len(self._hints) + len(tools) > CATALOG_SIZE:
            self._hints.clear()
        for tool in tools:
            if isinstance(tool, dict) and isinstance(tool.get("name"), str):
                self._hints[tool["name"]] = (read_only_hint(tool), now)

    def lookup(self, name: str) -> tuple[bool, bool | None]:
        """(known, readOnlyHint) for a tool seen within the last CATALOG_SECONDS."""
        entry = self._hints.get(name)
        if entry is None or entry[1] + CATALOG_SECONDS < self._clock():
            return False, None
        return True, entry[0]


def read_only_hint(tool: dict) -> bool | None:
    annotations = tool.get("annotations")
    if not isinstance(annotations, dict):
        return None
    hint = annotations.get("readOnlyHint")
    return hint if isinstance(hint, bool) else None


def tools_of(message: object) -> list | None:
    """The `tools` list of a tools/list result, else None."""
    if isinstance(message, dict):
        result = message.get("result")
        if isinstance(result, dict) and isinstance(result.get("tools"), list):
            return result["tools"]
    return None


def filter_payload(payload: object, policy: Policy, catalog: ToolCatalog) -> bool:
    """Remove the tools `policy` refuses from every tools/list result in `payload` (a message
    or a batch); True when it held one."""
    messages = payload if isinstance(payload, list) else [payload]
    found = False
    for message in messages:
        tools = tools_of(message)
        if tools is None:
            continue
        found = True
        catalog.learn(tools)
        message["result"]["tools"] = [
            tool
            for tool in tools
            if isinstance(tool, dict)
            and isinstance(tool.get("name"), str)
            and policy.permits(tool["name"], read_only_hint(tool))
        ]
    return found


class ToolsListFilter:
    """A body rewriter (`Forward.rewrite`: feed/flush) applying a policy to tools/list results."""

    def __init__(self, policy: Policy, catalog: ToolCatalog) -> None:
        self._policy = policy
        self._catalog = catalog
        self._held = bytearray()
        self._sse: bool | None = None  # None until the first non-blank byte says which
        self._overflowed = False

    def feed(self, chunk: bytes) -> bytes:
        if self._overflowed:
            return b""
        self._held += chunk
        if self._sse is None:
            start = self._held.lstrip()
            if not start:
                return b""
            self._sse = start[:1] not in (b"{", b"[")
        if len(self._held) > MAX_HELD_BYTES:  # fail closed: what cannot be checked is not sent
            self._held.clear()
            self._overflowed = True
            return b""
        return self._complete_events() if self._sse else b""

    def flush(self) -> bytes:
        held, self._held = bytes(self._held), bytearray()
        if self._overflowed:
            return UNCHECKED if not self._sse else b""
        if not self._sse:
            return self._filtered_json(held)
        return self._filtered_event(held) if held else b""

    def _complete_events(self) -> bytes:
        out = bytearray()
        while True:
            ends = [(at, len(end)) for end in _EVENT_ENDS if (at := self._held.find(end)) >= 0]
            if not ends:
                return bytes(out)
            at, size = min(ends)
            event = bytes(self._held[: at + size])
            del self._held[: at + size]
            out += self._filtered_event(event)

    def _filtered_json(self, body: bytes) -> bytes:
        try:
            payload = loads_bounded(body, max_bytes=MAX_HELD_BYTES, max_depth=MAX_DEPTH)
        except JsonInputError:  # a client's parser might still read a tool list in it
            return UNCHECKED if b"tools" in body else body
        if not filter_payload(payload, self._policy, self._catalog):
            return body
        return json.dumps(payload, separators=(",", ":")).encode()

    def _filtered_event(self, event: bytes) -> bytes:
        if b"tools" not in event:  # cheap: most events are not tools/list results
            return event
        lines = event.decode("utf-8", "replace").splitlines()
        data = [line[5:].removeprefix(" ") for line in lines if line.startswith("data:")]
        if not data:
            return event
        try:
            payload = loads_bounded(
                "\n".join(data).encode(), max_bytes=MAX_HELD_BYTES, max_depth=MAX_DEPTH
            )
        except JsonInputError:
            return b""  # holds "tools" but cannot be checked: dropped
        if not filter_payload(payload, self._policy, self._catalog):
            return event
        kept = [line for line in lines if line and not line.startswith("data:")]
        kept.append("data: " + json.dumps(payload, separators=(",", ":")))
        return ("\n".join(kept) + "\n\n").encode()
