"""Attacks on per-connection policies found by an adversarial review, one test each: every one
of them got through (or hung, or leaked) before its fix."""

from __future__ import annotations

import json
import time

from tests.core.flow import authorize_query, call, pkce_pair, register
from tests.core.policies import (
    POLICIES,
    connect,
    kind,
    post,
    rpc,
    through,
    tools_list_result,
)

# -- 1. a single case-variant "Method" key (Go's encoding/json reads it as "method") --------


async def test_case_variant_method_key_is_refused(policy_app, core):
    """{"Method":"tools/call"} with no lower-case twin: Python sees no method (a 'response')
    and forwards it; Go's case-insensitive decoder (the upstream mcp_messages.py names) reads
    a tools/call of delete_issue."""
    token = await connect(policy_app, core, "issues")
    for key in ("Method", "METHOD", "mEthod"):
        body = (
            f'{{"jsonrpc":"2.0","id":1,"{key}":"tools/call","params":{{"name":"delete_issue"}}}}'
        ).encode()
        result = await post(policy_app, core, token, body)
        assert kind(result) == "HttpResponse", f"{key}: forwarded unchecked to the upstream"


async def test_case_variant_method_key_in_a_batch_is_refused(policy_app, core):
    token = await connect(policy_app, core, "read-only")
    body = json.dumps(
        [
            rpc("ping", 1),
            {"jsonrpc": "2.0", "id": 2, "Method": "tools/call", "params": {"name": "delete_issue"}},
        ]
    ).encode()
    result = await post(policy_app, core, token, body)
    assert kind(result) == "HttpResponse"


# -- 2. GET /mcp (streamable HTTP resumption with Last-Event-ID) is never filtered ----------


async def test_resumed_get_stream_filters_tools_list(policy_app, core):
    """A client drops a POST tools/list stream and resumes it with GET + Last-Event-ID: the
    upstream replays the (unfiltered) tools/list result on the GET stream."""
    token = await connect(policy_app, core, "read-only")
    forward = await call(
        policy_app,
        core,
        "GET",
        "/mcp",
        headers={
            "authorization": f"Bearer {token}",
            "accept": "text/event-stream",
            "last-event-id": "stream-1:3",
        },
    )
    assert kind(forward) == "Forward"
    replay = f"id: stream-1:4\ndata: {json.dumps(tools_list_result())}\n\n".encode()
    out = through(forward, replay).decode()
    assert "delete_issue" not in out and "create_issue" not in out


# -- 3. audit: a tools/call the fast path does not recognise is never logged ----------------


async def test_escaped_tools_call_is_still_audited(policy_app, core):
    token = await connect(policy_app, core, "full")
    body = b'{"jsonrpc":"2.0","id":1,"method":"tools\\/call","params":{"name":"delete_issue"}}'
    forward = await post(policy_app, core, token, body)
    assert kind(forward) == "Forward"
    assert [tool for _, tool, _ in forward.audit] == ["delete_issue"], "no audit line"


async def test_full_connection_audit_and_mirror_not_fooled_by_case_twins(policy_app, core):
    """Non-strict parsing on full connections: Python keeps "name", Go (last case-insensitive
    match) calls "NAME". The audit line and the Mcp-Name mirror check see get_issue."""
    token = await connect(policy_app, core, "full")
    body = (
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call",'
        b'"params":{"name":"get_issue","NAME":"delete_issue"}}'
    )
    result = await post(
        policy_app, core, token, body, {"mcp-method": "tools/call", "mcp-name": "get_issue"}
    )
    assert kind(result) == "HttpResponse" or [t for _, t, _ in result.audit] != ["get_issue"]


# -- 4. consent: the client's scope overrides the owner's per-client-kind default -----------


async def test_requested_scope_does_not_preselect_more_than_the_client_kind_default(
    policy_app, core
):
    """claude.ai is configured read-only by default; any client asking scope=mcp:full gets
    `full` preselected (one PIN entry away), silently overriding the owner's default."""
    redirect = "https://claude.ai/api/mcp/auth_callback"
    client = await register(policy_app, core, redirect_uris=[redirect])
    _, challenge = pkce_pair()
    query = authorize_query(
        client["client_id"], challenge, redirect_uri=redirect, scope="mcp mcp:full"
    )
    page = await call(policy_app, core, "GET", "/authorize?" + query)
    html = page.body.decode()
    assert 'value="full" checked' not in html or "more than" in html.lower()


# -- 5. tools/list filter: JSON that does not start with { or [ is treated as SSE -----------


async def test_bom_prefixed_json_tools_list_is_not_passed_unfiltered(policy_app, core):
    """fetch's Response.json() strips a UTF-8 BOM; the filter decides 'SSE' from the first
    byte, finds no data: line and passes the whole body on unchanged (fail open)."""
    token = await connect(policy_app, core, "read-only")
    forward = await post(policy_app, core, token, rpc("tools/list"))
    body = b"\xef\xbb\xbf" + json.dumps(tools_list_result()).encode()
    out = through(forward, body)
    assert b"delete_issue" not in out


# -- 6. SSE: Python's splitlines() splits at U+2028/U+0085/\x0c, SSE does not ---------------


async def test_sse_tools_list_with_unicode_line_separator_is_delivered(policy_app, core):
    """JSON.stringify (a TypeScript upstream) writes U+2028 raw inside strings. The filter
    cuts the data line there, cannot parse it, and drops the event: the client never gets
    its tools/list answer (hangs until its timeout)."""
    token = await connect(policy_app, core, "read-only")
    forward = await post(policy_app, core, token, rpc("tools/list", 5))
    result = tools_list_result(5)
    result["result"]["tools"][0]["description"] = "line one\u2028line two"
    event = ("event: message\ndata: " + json.dumps(result, ensure_ascii=False) + "\n\n").encode()
    out = through(forward, event).decode()
    assert out, "the tools/list answer was dropped"
    data = json.loads(out.split("data: ", 1)[1])
    assert [t["name"] for t in data["result"]["tools"]] == ["get_issue", "list_issues"]


async def test_probe_reads_sse_with_unicode_line_separator(make_app, core):
    async def send_upstream(forward):
        ident = json.loads(forward.body)["id"]
        result = tools_list_result(ident)
        result["result"]["tools"][0]["description"] = "a\u2028b"
        return (
            200,
            [("content-type", "text/event-stream")],
            ("data: " + json.dumps(result, ensure_ascii=False) + "\n\n").encode(),
        )

    app = make_app(policies=POLICIES, send_upstream=send_upstream)
    token = await connect(app, core, "read-only")
    assert kind(await post(app, core, token, rpc("tools/call", name="get_issue"))) == "Forward"


# -- 7. SSE filter rescans the whole held buffer on every chunk (quadratic CPU) -------------


async def test_sse_filter_is_linear_in_event_size(policy_app, core):
    """A 4 MiB event (a big tool result in a batch with tools/list, or any result on a legacy
    SSE stream) arriving in 4 KiB chunks costs seconds of CPU: every feed re-finds three
    terminators from the start of the held buffer."""
    token = await connect(policy_app, core, "read-only")
    listed = await post(policy_app, core, token, rpc("tools/list"))
    through(listed, json.dumps(tools_list_result()).encode())  # the isolate learns get_issue
    forward = await post(
        policy_app, core, token, [rpc("tools/list", 1), rpc("tools/call", 2, name="get_issue")]
    )
    text = {
        "jsonrpc": "2.0",
        "id": 2,
        "result": {"content": [{"type": "text", "text": "x" * (4 << 20)}]},
    }
    data = b"data: " + json.dumps(text).encode() + b"\n\n"
    forward.rewrite.begin("text/event-stream")
    started = time.perf_counter()
    for i in range(0, len(data), 4096):
        forward.rewrite.feed(data[i : i + 4096])
    forward.rewrite.flush()
    assert time.perf_counter() - started < 1.0


# -- 8. probe amplification: unknown names are probed again on every call -------------------


async def test_unknown_tool_names_do_not_probe_on_every_call(make_app, core):
    sent = []

    async def send_upstream(forward):
        sent.append(forward)
        ident = json.loads(forward.body)["id"]
        return (
            200,
            [("content-type", "application/json")],
            json.dumps(tools_list_result(ident)).encode(),
        )

    app = make_app(policies=POLICIES, send_upstream=send_upstream)
    token = await connect(app, core, "read-only")
    for n in range(20):
        await post(app, core, token, rpc("tools/call", n + 1, name=f"no_such_tool_{n}"))
    assert len(sent) <= 2, f"{len(sent)} upstream tools/list for 20 client requests"


# -- 9. catalog learns readOnlyHint from any message shaped like a tools/list result --------


async def test_catalog_learns_only_from_answers_to_tools_list(policy_app, core):
    """In a batch [tools/list, tools/call get_issue], the tools/call result is also read for
    `result.tools`: a tool result carrying attacker-shaped data teaches the isolate that
    delete_issue is read-only, for every read-only connection."""
    token = await connect(policy_app, core, "read-only")
    forward = await post(
        policy_app, core, token, [rpc("tools/list", 1), rpc("tools/call", 2, name="get_issue")]
    )
    # (get_issue is unknown to the catalog; the batch is decided before the probe teaches it)
    if kind(forward) != "Forward":
        listed = await post(policy_app, core, token, rpc("tools/list"))
        through(listed, json.dumps(tools_list_result()).encode())
        forward = await post(
            policy_app, core, token, [rpc("tools/list", 1), rpc("tools/call", 2, name="get_issue")]
        )
    assert kind(forward) == "Forward"
    poisoned = {
        "jsonrpc": "2.0",
        "id": 2,
        "result": {
            "content": [],
            "tools": [{"name": "delete_issue", "annotations": {"readOnlyHint": True}}],
        },
    }
    through(forward, json.dumps([tools_list_result(1), poisoned]).encode())
    result = await post(policy_app, core, token, rpc("tools/call", 9, name="delete_issue"))
    assert kind(result) == "HttpResponse", "delete_issue now passes the read-only policy"


# -- 10. the consent page (shown before any PIN) prints every policy header value ----------


async def test_consent_page_does_not_disclose_policy_header_values(make_app, core):
    """in_words() says "The upstream is told: X-Tenant-Key: ..." to anyone who opens
    /authorize (registration is open, no PIN needed to see the page)."""
    app = make_app(policies={"tenant": {"headers": {"X-Tenant-Key": "s3cret-tenant-key"}}})
    client = await register(app, core)
    _, challenge = pkce_pair()
    page = await call(
        app, core, "GET", "/authorize?" + authorize_query(client["client_id"], challenge)
    )
    assert page.status == 200
    assert b"s3cret-tenant-key" not in page.body
