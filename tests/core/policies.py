"""What the policy tests share: policies, the upstream's tools, and request helpers."""

from __future__ import annotations

import json

from tests.core.flow import call, full_flow

POLICIES = {
    "read-only": {"read_only": True, "headers": {"X-MCP-Toolsets": "repos"}},
    "issues": {"allow": ["*_issue", "list_*"], "deny": ["delete_*"]},
    "careful": {"allow": ["get_*"], "step_up": True},
}
TOOLS = [
    {"name": "get_issue", "annotations": {"readOnlyHint": True}},
    {"name": "list_issues", "annotations": {"readOnlyHint": True}},
    {"name": "create_issue", "annotations": {"readOnlyHint": False}},
    {"name": "delete_issue"},
]


def rpc(method: str, id: object = 1, **params) -> dict:
    message = {"jsonrpc": "2.0", "id": id, "method": method}
    if params:
        message["params"] = params
    return message


def tools_list_result(id: object = 1) -> dict:
    return {"jsonrpc": "2.0", "id": id, "result": {"tools": [dict(t) for t in TOOLS]}}


async def connect(app, core, policy: str | None) -> str:
    _, tokens = await full_flow(app, core, policy)
    return tokens["access_token"]


async def post(app, core, token: str, payload, headers=None, path="/mcp"):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return await call(
        app,
        core,
        "POST",
        path,
        body=body,
        headers={"authorization": f"Bearer {token}", **(headers or {})},
    )


def kind(result) -> str:
    return result.__class__.__name__


def through(forward, body: bytes) -> bytes:
    """The upstream body as the client receives it through the Forward's rewriter; the media
    type the app would pass on from the upstream's headers is what the body looks like."""
    if forward.rewrite is None:
        return body
    if hasattr(forward.rewrite, "begin"):
        looks_json = body.lstrip()[:1] in (b"{", b"[", b"\xef")  # \xef: a BOM before JSON
        forward.rewrite.begin("application/json" if looks_json else "text/event-stream")
    out = b"".join(forward.rewrite.feed(body[i : i + 7]) for i in range(0, len(body), 7))
    return out + forward.rewrite.flush()
