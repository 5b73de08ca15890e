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
import re
import time
from collections.abc import Callable

from cfmcp_worker.http_types import SSE
from cfmcp_worker.jsonin import JsonInputError, loads_bounded
from cfmcp_worker.policy import Policy

MAX_HELD_BYTES = 16 * 1024 * 1024  # one JSON body or SSE event held for filtering
CATALOG_SECONDS = 300.0
CATALOG_SIZE = 4096
MAX_DEPTH = 128
# SSE line ends: CRLF, or a CR or LF alone; an event ends at a blank line (two line ends).
_LINE_END = re.compile(r"\r\n|\r|\n")
_EVENT_END = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r(?!\n)|\n)")
# What a client gets instead of a JSON body the filter could not check.
UNCHECKED = (
    b'{"jsonrpc":"2.0","id":null,"error":{"code":-32603,'
    b'"message":"cfmcp: the upstream answer could not be checked against this policy"}}'
)


class ToolCatalog:
    """The upstream's tools as last seen in this isolate, per set of policy headers (they may
    change what the upstream offers): name → readOnlyHint (None: unsaid)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._hints: dict[tuple[str, str], tuple[bool | None, float]] = {}

    def learn(self, tools: list, key: str) -> None:
        now = self._clock()
        if len(self._hints) + len(tools) > CATALOG_SIZE:
            self._hints.clear()
        for tool in tools:
            if isinstance(tool, dict) and isinstance(tool.get("name"), str):
                self._hints[(key, tool["name"])] = (read_only_hint(tool), now)

    def lookup(self, name: str, key: str) -> tuple[bool, bool | None]:
        """(known, readOnlyHint) for a tool seen within the last CATALOG_SECONDS."""
        entry = self._hints.get((key, name))
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


class Learning:
    """Which answers may teach the catalog: those to this request's tools/list ids."""

    __slots__ = ("catalog", "ids", "key")

    def __init__(self, catalog: ToolCatalog, key: str, ids: set) -> None:
        self.catalog = catalog
        self.key = key
        self.ids = ids


def filter_payload(payload: object, policy: Policy, learning: Learning | None) -> bool:
    """Remove the tools `policy` refuses from every tools/list-shaped result in `payload` (a
    message or a batch); True when it held one. Only answers to the request's own tools/list
    teach the catalog (a tool's result shaped like a tool list must not)."""
    messages = payload if isinstance(payload, list) else [payload]
    found = False
    for message in messages:
        tools = tools_of(message)
        if tools is None:
            continue
        found = True
        if learning is not None and _hashable(message.get("id")) in learning.ids:
            learning.catalog.learn(tools, learning.key)
        message["result"]["tools"] = [
            tool
            for tool in tools
            if isinstance(tool, dict)
            and isinstance(tool.get("name"), str)
            and policy.permits(tool["name"], read_only_hint(tool))
        ]
    return found


def _hashable(value: object) -> object:
    return value if isinstance(value, str | int | float) else None


def split_lines(text: str) -> list[str]:
    """Lines as SSE reads them: ended by CRLF, CR or LF only (not U+2028, U+0085, …)."""
    return _LINE_END.split(text)


def data_lines(lines: list[str]) -> list[str]:
    """The values of an event's `data:` fields (one leading space dropped, as SSE does)."""
    return [line[5:].removeprefix(" ") for line in lines if line.startswith("data:")]


def event_payloads(text: str) -> list[str]:
    """The data of every event in an SSE stream's text, each event's lines joined."""
    events: list[list[str]] = [[]]
    for line in split_lines(text):
        if line:
            events[-1].append(line)
        elif events[-1]:
            events.append([])
    return ["\n".join(data) for data in map(data_lines, events) if data]


class ToolsListFilter:
    """A body rewriter (`Forward.rewrite`: begin/feed/flush) applying a policy to tools/list
    results; `learning` names the answers that may teach the catalog (None: none may)."""

    def __init__(self, policy: Policy, learning: Learning | None = None) -> None:
        self._policy = policy
        self._learning = learning
        self._held = bytearray()
        self._scanned = 0  # the held bytes already searched for an event end
        # From the answer's media type (`begin`, which the app calls before any body); until
        # then the body is one JSON body, held whole: what is not known is not streamed.
        self._sse = False
        self._overflowed = False

    def begin(self, media_type: str) -> None:
        """The upstream answer's media type: SSE events, or else one body read as JSON."""
        self._sse = media_type == SSE

    def feed(self, chunk: bytes) -> bytes:
        if self._overflowed:
            return b""
        self._held += chunk
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
        """Every complete event held (ended by a blank line), each filtered; each search
        starts where the last one stopped, so a large event costs linear time."""
        out = bytearray()
        while True:
            end = _EVENT_END.search(self._held, max(0, self._scanned - 2))
            if end is None:
                self._scanned = len(self._held)
                return bytes(out)
            event = bytes(self._held[: end.end()])
            del self._held[: end.end()]
            self._scanned = 0
            out += self._filtered_event(event)

    def _filtered_json(self, body: bytes) -> bytes:
        unmarked = body.removeprefix(b"\xef\xbb\xbf")  # a BOM a client's parser may skip
        try:
            payload = loads_bounded(unmarked, max_bytes=MAX_HELD_BYTES, max_depth=MAX_DEPTH)
        except JsonInputError:  # a client's parser might still read a tool list in it
            return UNCHECKED if b"tools" in body else body
        if not filter_payload(payload, self._policy, self._learning):
            return body
        return json.dumps(payload, separators=(",", ":")).encode()

    def _filtered_event(self, event: bytes) -> bytes:
        if b"tools" not in event:  # cheap: most events are not tools/list results
            return event
        lines = split_lines(event.decode("utf-8", "replace"))
        data = data_lines(lines)
        if not data:
            return event
        try:
            payload = loads_bounded(
                "\n".join(data).encode(), max_bytes=MAX_HELD_BYTES, max_depth=MAX_DEPTH
            )
        except JsonInputError:
            return b""  # holds "tools" but cannot be checked: dropped
        if not filter_payload(payload, self._policy, self._learning):
            return event
        kept = [line for line in lines if line and not line.startswith("data:")]
        kept.append("data: " + json.dumps(payload, separators=(",", ":")))
        return ("\n".join(kept) + "\n\n").encode()
