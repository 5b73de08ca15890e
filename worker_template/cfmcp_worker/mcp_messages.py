"""Reading a client's JSON-RPC message the way a strict upstream would, before a policy decides.

Only connections whose policy can refuse a tool, or requests carrying MCP 2026-07-28's
`Mcp-Method` header, are read at all; everything else is forwarded unparsed.

The gate and the upstream must read the same message: a body two parsers read differently is a
bypass (Go's encoding/json, which GitHub's MCP server is written in, matches keys without regard
to case, and every JSON parser keeps a different one of two duplicate keys). So a body whose
objects repeat a key — compared case-insensitively — or spell a JSON-RPC/MCP member in another
case (`"Method"`; `"param\u017f"` with a long s, which Go folds too; GHSA-wvj2-96wp-fq3f) is
refused, as is one that is not UTF-8 JSON, nests too deeply, or has a member of the wrong type
where a policy looks.
"""

from __future__ import annotations

import json

from cfmcp_worker.http_types import HttpResponse
from cfmcp_worker.jsonin import JsonInputError, check_depth
from cfmcp_worker.responses import json_response

MAX_DEPTH = 128  # tool arguments nest; Pyodide's stack survives far deeper than this
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
# Members a case-insensitive decoder would take for these even when spelled otherwise.
MEMBERS = frozenset(
    {"jsonrpc", "id", "method", "params", "name", "uri", "arguments", "result", "error", "cursor"}
)
# What Mcp-Name mirrors, per method (MCP 2026-07-28).
NAME_PARAM = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


class MessageError(ValueError):
    """A body the gate refuses to forward: HTTP 400 with a JSON-RPC error."""


class Message:
    """One JSON-RPC message of a request body: its id, method and (for tools/call) tool."""

    __slots__ = ("id", "method", "name")

    def __init__(self, id: object, method: str | None, name: str | None) -> None:
        self.id = id
        self.method = method
        self.name = name


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    seen: set[str] = set()
    for key, _ in pairs:
        folded = key.casefold()
        if folded in seen:
            raise MessageError(f"the key {key!r} appears twice in one object")
        if folded in MEMBERS and key not in MEMBERS:
            raise MessageError(f"the key {key!r} is {folded!r} in another case")
        seen.add(folded)
    return dict(pairs)


def read_messages(body: bytes, max_bytes: int) -> tuple[list[Message], bool]:
    """The messages of a request body and whether it was a batch; MessageError if refused."""
    if len(body) > max_bytes:
        raise MessageError("the request is too large")
    try:
        text = body.decode("utf-8")
        check_depth(body, MAX_DEPTH)
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except MessageError:
        raise
    except (UnicodeDecodeError, JsonInputError, ValueError, RecursionError):
        raise MessageError("the request body is not JSON") from None
    batch = isinstance(data, list)
    items = data if batch else [data]
    if not items:
        raise MessageError("an empty batch")
    return [_message(item) for item in items], batch


def _message(item: object) -> Message:
    if not isinstance(item, dict):
        raise MessageError("a message is not a JSON object")
    method = item.get("method")
    if method is None:  # a response to a server's request (sampling, elicitation)
        return Message(item.get("id"), None, None)
    if not isinstance(method, str):
        raise MessageError("method is not a string")
    params = item.get("params")
    if params is not None and not isinstance(params, dict):
        if method == "tools/call":
            raise MessageError("tools/call params are not an object")
        params = None
    name = None
    key = NAME_PARAM.get(method)
    if key is not None and params is not None:
        name = params.get(key)
        if name is not None and not isinstance(name, str):
            raise MessageError(f"params.{key} is not a string")
    if method == "tools/call" and not name:
        raise MessageError("tools/call names no tool")
    if method == "tools/call" and item.get("id") is None:
        raise MessageError("tools/call is a request: it needs an id")
    return Message(item.get("id"), method, name)


def check_mirrors(headers: dict[str, str], messages: list[Message], batch: bool) -> None:
    """MCP 2026-07-28: Mcp-Method and Mcp-Name mirror the body; a mismatch is refused (400),
    so an upstream routing on the headers sees what the policy saw in the body."""
    method = headers.get("mcp-method")
    name = headers.get("mcp-name")
    if method is None and name is None:
        return
    if batch:
        raise MessageError("Mcp-Method or Mcp-Name on a batch")
    message = messages[0]
    if method is not None and method.strip() != (message.method or ""):
        raise MessageError("the Mcp-Method header does not match the body")
    if name is not None and name.strip() != (message.name or ""):
        raise MessageError("the Mcp-Name header does not match the body")


def error_object(id: object, code: int, message: str, data: dict | None = None) -> dict:
    error: dict = {"code": code, "message": message}
    if data:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": id, "error": error}


def refused(reason: str) -> HttpResponse:
    """400 for a body the gate will not forward."""
    return json_response(400, error_object(None, INVALID_REQUEST, f"cfmcp: {reason}"))
