"""Per-connection policies: consent choice, enforcement at /mcp, filtering, narrowing, audit.

One test per rule; each fails when the rule it names is removed.
"""

from __future__ import annotations

import json

import pytest

from tests.core.flow import (
    body_json,
    call,
    full_flow,
    header,
    register,
    request,
    token_request,
)
from tests.core.policies import (
    POLICIES,
    connect,
    kind,
    post,
    rpc,
    through,
    tools_list_result,
)

# -- consent ------------------------------------------------------------------------------


async def test_consent_page_offers_every_policy_in_words_and_preselects_the_default(
    policy_app, core
):
    client = await register(policy_app, core)
    from tests.core.flow import authorize_query, pkce_pair

    _, challenge = pkce_pair()
    page = await call(
        policy_app, core, "GET", "/authorize?" + authorize_query(client["client_id"], challenge)
    )
    html = page.body.decode()
    for name in ("full", "read-only", "issues", "careful"):
        assert f'name="policy" value="{name}"' in html
    assert 'value="full" checked' in html  # loopback client: the deployment's default
    assert "Only tools the upstream server marks as read-only." in html
    assert "Never the tools delete_*." in html


async def test_client_kind_default_is_preselected(policy_app, core):
    from tests.core.flow import authorize_query, pkce_pair

    redirect = "https://claude.ai/api/mcp/auth_callback"
    client = await register(policy_app, core, redirect_uris=[redirect])
    _, challenge = pkce_pair()
    query = authorize_query(client["client_id"], challenge, redirect_uri=redirect)
    page = await call(policy_app, core, "GET", "/authorize?" + query)
    assert 'value="read-only" checked' in page.body.decode()


async def test_a_requested_policy_scope_is_preselected(policy_app, core):
    from tests.core.flow import authorize_query, pkce_pair

    client = await register(policy_app, core)
    _, challenge = pkce_pair()
    query = authorize_query(client["client_id"], challenge, scope="mcp mcp:read-only mcp:issues")
    page = await call(policy_app, core, "GET", "/authorize?" + query)
    assert 'value="issues" checked' in page.body.decode()


async def test_the_chosen_policy_is_the_granted_scope(policy_app, core):
    _, tokens = await full_flow(policy_app, core, "read-only")
    assert tokens["scope"] == "mcp mcp:read-only"


async def test_an_unknown_policy_choice_is_refused_before_the_pin_counts(policy_app, core):
    from tests.core.flow import authorize_query, pkce_pair, request_token_from, submit_pin

    client = await register(policy_app, core)
    _, challenge = pkce_pair()
    page = await call(
        policy_app, core, "GET", "/authorize?" + authorize_query(client["client_id"], challenge)
    )
    token = request_token_from(page.body)
    for _ in range(8):  # more than the per-address PIN limit: none of these is an attempt
        refused = await submit_pin(policy_app, core, token, "wrong-pin-000", policy="root")
        assert refused.status == 400 and b"Choose the access" in refused.body
    approved = await submit_pin(policy_app, core, token, policy="issues")
    assert approved.status == 302


# -- enforcement --------------------------------------------------------------------------


async def test_read_only_connection_refuses_a_write_tool_without_reaching_the_upstream(
    policy_app, core, capsys
):
    token = await connect(policy_app, core, "read-only")
    listed = await post(policy_app, core, token, rpc("tools/list"))
    through(listed, json.dumps(tools_list_result()).encode())  # the isolate learns the tools
    refused = await post(policy_app, core, token, rpc("tools/call", 7, name="create_issue"))
    assert kind(refused) == "HttpResponse" and refused.status == 200
    error = body_json(refused)
    assert error["id"] == 7 and error["error"]["code"] == -32602
    assert error["error"]["data"] == {"policy": "read-only", "tool": "create_issue"}
    allowed = await post(policy_app, core, token, rpc("tools/call", 8, name="get_issue"))
    assert kind(allowed) == "Forward"
    lines = [json.loads(text) for text in capsys.readouterr().out.strip().splitlines()]
    line = [line for line in lines if line["cfmcp"] == "tools/call"][-1]
    assert line["tool"] == "create_issue" and line["decision"] == "denied"


async def test_full_connection_calls_every_tool(policy_app, core):
    token = await connect(policy_app, core, "full")
    result = await post(policy_app, core, token, rpc("tools/call", name="delete_issue"))
    assert kind(result) == "Forward" and result.rewrite is None


async def test_tokens_from_before_policies_keep_full_access(policy_app, core):
    """A scope naming no policy (`mcp`, every token issued before policies) is `full`."""
    assert policy_app.gate.chain_for("mcp", None).name == "full"
    assert policy_app.gate.chain_for("mcp mcp:gone", None) is None


async def test_name_rules_allow_and_deny(policy_app, core):
    token = await connect(policy_app, core, "issues")
    for tool, allowed in [("get_issue", True), ("delete_issue", False), ("get_me", False)]:
        result = await post(policy_app, core, token, rpc("tools/call", name=tool))
        assert (kind(result) == "Forward") is allowed, tool


async def test_tools_list_is_filtered_in_json(policy_app, core):
    token = await connect(policy_app, core, "read-only")
    forward = await post(policy_app, core, token, rpc("tools/list"))
    body = through(forward, json.dumps(tools_list_result()).encode())
    names = [t["name"] for t in json.loads(body)["result"]["tools"]]
    assert names == ["get_issue", "list_issues"]


async def test_tools_list_is_filtered_in_sse_and_other_events_pass_unchanged(policy_app, core):
    token = await connect(policy_app, core, "issues")
    forward = await post(policy_app, core, token, rpc("tools/list", 3))
    progress = b'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n'
    result = f"event: message\nid: 9\ndata: {json.dumps(tools_list_result(3))}\r\n\r\n"
    body = through(forward, progress + result.encode())
    assert body.startswith(progress)
    event = body[len(progress) :].decode()
    assert event.startswith("event: message\nid: 9\ndata: ")
    data = json.loads(event.split("data: ", 1)[1])
    names = [t["name"] for t in data["result"]["tools"]]
    assert names == ["get_issue", "list_issues", "create_issue"]  # not delete_issue


async def test_filtered_response_loses_the_upstream_content_length(policy_app, core):
    token = await connect(policy_app, core, "read-only")
    forward = await post(policy_app, core, token, rpc("tools/list"))
    verdict = policy_app.upstream_response(
        request(core, "POST", "/mcp"), 200, [("Content-Length", "999")], forward
    )
    assert header(verdict, "content-length") is None


async def test_policy_headers_reach_the_upstream_and_replace_the_clients(policy_app, core):
    token = await connect(policy_app, core, "read-only")
    forward = await post(
        policy_app, core, token, rpc("tools/list"), {"mcp-toolsets-x": "1", "x-mcp-toolsets": "all"}
    )
    sent = [(n.lower(), v) for n, v in forward.headers]
    assert ("x-mcp-toolsets", "repos") in sent and ("x-mcp-toolsets", "all") not in sent


@pytest.mark.parametrize(
    ("headers", "payload"),
    [
        ({"mcp-method": "tools/list"}, rpc("tools/call", name="create_issue")),
        (
            {"mcp-method": "tools/call", "mcp-name": "get_issue"},
            rpc("tools/call", name="create_issue"),
        ),
    ],
)
async def test_mcp_method_and_name_headers_must_mirror_the_body(policy_app, core, headers, payload):
    token = await connect(policy_app, core, "full")  # checked on every connection
    result = await post(policy_app, core, token, payload, headers)
    assert kind(result) == "HttpResponse" and result.status == 400


@pytest.mark.parametrize(
    "body",
    [
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_issue",'
        b'"NAME":"create_issue"}}',
        b'{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call",'
        b'"params":{"name":"create_issue"}}',
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":["get_issue"]}}',
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call"}',
        b"not json",
        b"[]",
    ],
)
async def test_bodies_two_parsers_could_read_differently_are_refused(policy_app, core, body):
    token = await connect(policy_app, core, "issues")
    result = await post(policy_app, core, token, body)
    assert kind(result) == "HttpResponse" and result.status == 400


async def test_a_batch_with_one_refused_call_is_answered_whole(policy_app, core):
    token = await connect(policy_app, core, "issues")
    batch = [rpc("tools/call", 1, name="get_issue"), rpc("tools/call", 2, name="delete_issue")]
    result = await post(policy_app, core, token, batch)
    assert kind(result) == "HttpResponse"
    answers = body_json(result)
    assert [a["id"] for a in answers] == [1, 2] and all("error" in a for a in answers)
    ok = await post(policy_app, core, token, [batch[0], rpc("tools/list", 3)])
    assert kind(ok) == "Forward" and ok.rewrite is not None


async def test_step_up_policy_answers_403_insufficient_scope(policy_app, core):
    token = await connect(policy_app, core, "careful")
    result = await post(policy_app, core, token, rpc("tools/call", name="create_issue"))
    assert result.status == 403
    challenge = header(result, "www-authenticate")
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="mcp:issues"' in challenge  # the first policy allowing it (full last)
    assert "resource_metadata=" in challenge


async def test_read_only_asks_the_upstream_for_a_tool_it_has_not_seen(make_app, core):
    sent = []

    async def send_upstream(forward):
        sent.append(json.loads(forward.body))
        return (
            200,
            [("content-type", "text/event-stream")],
            (f"data: {json.dumps(tools_list_result(sent[-1]['id']))}\n\n".encode()),
        )

    app = make_app(policies=POLICIES, send_upstream=send_upstream)
    token = await connect(app, core, "read-only")
    assert kind(await post(app, core, token, rpc("tools/call", name="get_issue"))) == "Forward"
    assert kind(await post(app, core, token, rpc("tools/call", name="delete_issue"))) != "Forward"
    assert [m["method"] for m in sent] == ["tools/list"]  # learned once, then remembered


async def test_an_unanswered_probe_refuses_the_call(make_app, core):
    async def send_upstream(forward):
        raise OSError("unreachable")

    app = make_app(policies=POLICIES, send_upstream=send_upstream)
    token = await connect(app, core, "read-only")
    assert kind(await post(app, core, token, rpc("tools/call", name="get_issue"))) != "Forward"


async def test_every_tools_call_is_audited_without_its_arguments(policy_app, core, capsys):
    token = await connect(policy_app, core, "full")
    call_ = rpc("tools/call", name="create_issue", arguments={"body": "secret-text-123"})
    forward = await post(policy_app, core, token, call_)
    capsys.readouterr()
    policy_app.upstream_response(request(core, "POST", "/mcp"), 200, [], forward)
    out = capsys.readouterr().out
    line = json.loads(out.strip().splitlines()[0])
    assert line["cfmcp"] == "tools/call" and line["tool"] == "create_issue"
    assert line["decision"] == "allowed" and line["status"] == 200 and line["policy"] == "full"
    assert "secret-text-123" not in out and token not in out


# -- narrowing (cfmcp clients set-policy) ----------------------------------------------------


async def test_a_narrowed_grant_is_enforced_at_once_and_made_its_scope_at_refresh(
    policy_app, core, kv, clock
):
    client, tokens = await full_flow(policy_app, core, "full")
    token = tokens["access_token"]
    grant_id = policy_app.tokens.read_access_token(token).grant_id
    await kv.put(f"revoked:{grant_id}", "policy:read-only", ttl=3600)
    clock.advance(11)  # past the isolate's status cache
    listed = await post(policy_app, core, token, rpc("tools/list"))
    through(listed, json.dumps(tools_list_result()).encode())
    refused = await post(policy_app, core, token, rpc("tools/call", name="create_issue"))
    assert kind(refused) == "HttpResponse"
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": client["client_id"],
    }
    refreshed = body_json(await token_request(policy_app, core, form))
    assert refreshed["scope"] == "mcp:read-only"
    await kv.delete(f"revoked:{grant_id}")  # the marker expires: the scope stays narrowed
    form["refresh_token"] = refreshed["refresh_token"]
    again = body_json(await token_request(policy_app, core, form))
    assert again["scope"] == "mcp:read-only"


async def test_a_narrowing_that_would_widen_refuses_the_grant(policy_app, core, kv, clock):
    client, tokens = await full_flow(policy_app, core, "read-only")
    grant_id = policy_app.tokens.read_access_token(tokens["access_token"]).grant_id
    await kv.put(f"revoked:{grant_id}", "policy:full", ttl=3600)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": client["client_id"],
    }
    assert (await token_request(policy_app, core, form)).status == 400


def test_within_is_the_narrowing_rule(core):
    policy = __import__("cfmcp_worker.policy", fromlist=["Policy"])
    full = policy.Policy("full")
    read_only = policy.Policy("read-only", read_only=True)
    issues = policy.Policy("issues", allow=("*_issue",), deny=("delete_*",))
    fewer = policy.Policy("fewer", allow=("*_issue",), deny=("delete_*", "create_*"))
    assert policy.within(read_only, full) and policy.within(issues, full)
    assert not policy.within(full, read_only)
    assert policy.within(fewer, issues) and not policy.within(issues, fewer)
    assert not policy.within(read_only, issues)  # no allow list: every name
    headed = policy.Policy("h", read_only=True, headers={"X-MCP-Readonly": "true"})
    assert policy.within(headed, read_only) and not policy.within(read_only, headed)


# -- legacy HTTP+SSE upstreams ---------------------------------------------------------------


async def test_legacy_sse_stream_is_filtered_and_message_posts_are_checked(make_app, core):
    app = make_app(upstream_transport="sse", policies=POLICIES)
    token = await connect(app, core, "issues")
    auth = {"authorization": f"Bearer {token}", "accept": "text/event-stream"}
    stream = await call(app, core, "GET", "/mcp", headers=auth)
    endpoint_event = b"event: endpoint\ndata: /message?sessionId=abc\n\n"
    result_event = f"event: message\ndata: {json.dumps(tools_list_result())}\n\n".encode()
    out = through(stream, endpoint_event + result_event).decode()
    endpoint = out.split("data: ", 1)[1].split("\n", 1)[0]
    assert endpoint.startswith("/mcp/message?endpoint=")
    listed = json.loads(out.rsplit("data: ", 1)[1])
    assert "delete_issue" not in [t["name"] for t in listed["result"]["tools"]]
    refused = await post(app, core, token, rpc("tools/call", name="delete_issue"), path=endpoint)
    assert kind(refused) == "HttpResponse" and refused.status == 403
    allowed = await post(app, core, token, rpc("tools/call", name="get_issue"), path=endpoint)
    assert kind(allowed) == "Forward"


def test_the_exact_state_reads_policy_scopes_as_policy_py_writes_them(core):
    policy = __import__("cfmcp_worker.policy", fromlist=["SCOPE_PREFIX"])
    exact = __import__("cfmcp_worker.exact", fromlist=["POLICY_SCOPE_PREFIX"])
    assert exact.POLICY_SCOPE_PREFIX == policy.SCOPE_PREFIX


async def test_a_tool_list_the_filter_cannot_read_is_not_passed_on(policy_app, core):
    token = await connect(policy_app, core, "read-only")
    forward = await post(policy_app, core, token, rpc("tools/list"))
    deep = b'{"jsonrpc":"2.0","id":1,"result":{"tools":[]},"x":' + b"[" * 300 + b"]" * 300 + b"}"
    assert b"could not be checked" in through(forward, deep)
    sse = await post(policy_app, core, token, rpc("tools/list"))
    event = b"data: " + deep + b"\n\n"
    assert through(sse, b"event: message\n" + event) == b""


# -- rules a mutation check found untested -------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'[1, {"jsonrpc":"2.0","id":1,"method":"tools/list"}]',  # a message that is no object
        b'{"jsonrpc":"2.0","id":1,"method":["tools/call"],"params":{"name":"get_issue"}}',
        b'{"jsonrpc":"2.0","method":"tools/call","params":{"name":"get_issue"}}',  # no id
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_\xff"}}',
    ],
)
async def test_malformed_messages_are_refused_on_a_restricted_connection(policy_app, core, body):
    token = await connect(policy_app, core, "issues")
    result = await post(policy_app, core, token, body)
    assert kind(result) == "HttpResponse" and result.status == 400


async def test_mirror_headers_are_refused_on_a_batch(policy_app, core):
    token = await connect(policy_app, core, "full")
    batch = [rpc("tools/list", 1), rpc("ping", 2)]
    result = await post(policy_app, core, token, batch, {"mcp-method": "tools/list"})
    assert kind(result) == "HttpResponse" and result.status == 400


async def test_mirror_headers_make_even_an_unrestricted_body_read(policy_app, core):
    token = await connect(policy_app, core, "full")
    result = await post(policy_app, core, token, rpc("ping"), {"mcp-method": "tools/call"})
    assert kind(result) == "HttpResponse" and result.status == 400


async def test_a_policy_header_replaces_the_clients_own(make_app, core):
    app = make_app(policies={"tagged": {"headers": {"User-Agent": "cfmcp-tagged"}}})
    token = await connect(app, core, "tagged")
    forward = await post(app, core, token, rpc("ping"), {"user-agent": "client/1.0"})
    agents = [v for n, v in forward.headers if n.lower() == "user-agent"]
    assert agents == ["cfmcp-tagged"]


async def test_an_unknown_narrowing_policy_refuses_at_mcp(policy_app, core, kv, clock):
    token = await connect(policy_app, core, "full")
    grant_id = policy_app.tokens.read_access_token(token).grant_id
    await kv.put(f"revoked:{grant_id}", "policy:no-such-policy", ttl=3600)
    clock.advance(11)
    result = await post(policy_app, core, token, rpc("ping"))
    assert kind(result) == "HttpResponse" and result.status == 401


async def test_step_up_is_not_answered_to_a_batch(policy_app, core):
    token = await connect(policy_app, core, "careful")
    result = await post(policy_app, core, token, [rpc("tools/call", 1, name="create_issue")])
    assert result.status == 200 and "error" in body_json(result)[0]


async def test_the_probe_asks_as_the_client_but_for_tools_list(make_app, core):
    seen = []

    async def send_upstream(forward):
        seen.append(forward)
        return 200, [], json.dumps(tools_list_result(json.loads(forward.body)["id"])).encode()

    app = make_app(policies=POLICIES, send_upstream=send_upstream)
    token = await connect(app, core, "read-only")
    headers = {"mcp-method": "tools/call", "mcp-name": "get_issue", "mcp-param-x": "1"}
    headers["mcp-session-id"] = "session-7"
    result = await post(app, core, token, rpc("tools/call", name="get_issue"), headers)
    assert kind(result) == "Forward"
    sent = {n.lower(): v for n, v in seen[0].headers}
    assert sent["mcp-method"] == "tools/list" and "mcp-name" not in sent
    assert "mcp-param-x" not in sent and sent["mcp-session-id"] == "session-7"
    assert sent["x-mcp-toolsets"] == "repos"  # the policy's header: the same tool set


@pytest.mark.parametrize(
    "answer",
    [
        (500, lambda ident: tools_list_result(ident)),  # not HTTP 200
        (200, lambda ident: tools_list_result("someone-else")),  # not the probe's id
    ],
)
async def test_a_probe_answer_counts_only_when_it_is_the_probes(make_app, core, answer):
    status, shape = answer

    async def send_upstream(forward):
        return status, [], json.dumps(shape(json.loads(forward.body)["id"])).encode()

    app = make_app(policies=POLICIES, send_upstream=send_upstream)
    token = await connect(app, core, "read-only")
    assert kind(await post(app, core, token, rpc("tools/call", name="get_issue"))) != "Forward"


async def test_no_probe_on_a_legacy_message_endpoint(make_app, core):
    sent = []

    async def send_upstream(forward):
        sent.append(forward)
        return 200, [], json.dumps(tools_list_result(json.loads(forward.body)["id"])).encode()

    app = make_app(upstream_transport="sse", policies=POLICIES, send_upstream=send_upstream)
    token = await connect(app, core, "read-only")
    auth = {"authorization": f"Bearer {token}", "accept": "text/event-stream"}
    stream = await call(app, core, "GET", "/mcp", headers=auth)
    out = through(stream, b"event: endpoint\ndata: /message?sessionId=abc\n\n").decode()
    endpoint = out.split("data: ", 1)[1].split("\n", 1)[0]
    result = await post(app, core, token, rpc("tools/call", name="get_issue"), path=endpoint)
    assert kind(result) == "HttpResponse" and sent == []


@pytest.mark.parametrize(
    ("tool", "listed"),
    [
        ({"name": "w", "annotations": {"readOnlyHint": "true"}}, False),  # not a JSON boolean
        ({"name": "w", "annotations": ["readOnlyHint"]}, False),  # annotations no object
        ({"name": "r", "annotations": {"readOnlyHint": True}}, True),
        ("not-a-tool", False),
        ({"annotations": {"readOnlyHint": True}}, False),  # no name
    ],
)
async def test_only_well_formed_read_only_tools_pass_a_read_only_filter(
    policy_app, core, tool, listed
):
    token = await connect(policy_app, core, "read-only")
    forward = await post(policy_app, core, token, rpc("tools/list"))
    body = {"jsonrpc": "2.0", "id": 1, "result": {"tools": [tool]}}
    out = json.loads(through(forward, json.dumps(body).encode()))
    assert (out["result"]["tools"] == [tool]) is listed


async def test_catalog_entries_expire(policy_app, core, clock):
    token = await connect(policy_app, core, "read-only")
    listed = await post(policy_app, core, token, rpc("tools/list"))
    through(listed, json.dumps(tools_list_result()).encode())
    assert kind(await post(policy_app, core, token, rpc("tools/call", name="get_issue"))) == (
        "Forward"
    )
    clock.advance(301)  # the catalog forgets; with no upstream to ask, the call is refused
    assert kind(await post(policy_app, core, token, rpc("tools/call", name="get_issue"))) != (
        "Forward"
    )


async def test_an_answer_too_large_to_check_is_an_error_not_the_list(policy_app, core):
    filters = __import__("cfmcp_worker.tools_filter", fromlist=["MAX_HELD_BYTES"])
    token = await connect(policy_app, core, "read-only")
    forward = await post(policy_app, core, token, rpc("tools/list"))
    forward.rewrite.begin("application/json")
    big = json.dumps(tools_list_result()).encode() + b" " * filters.MAX_HELD_BYTES
    out = forward.rewrite.feed(big) + forward.rewrite.flush()
    assert b"could not be checked" in out and b"delete_issue" not in out
    sse = await post(policy_app, core, token, rpc("tools/list"))
    sse.rewrite.begin("text/event-stream")
    event = b"data: " + big + b"\n\n"
    assert sse.rewrite.feed(event) + sse.rewrite.flush() == b""


@pytest.mark.parametrize("end", [b"\r\n\r\n", b"\r\r", b"\n\r\n", b"\n\n"])
async def test_every_sse_event_end_is_recognised(policy_app, core, end):
    token = await connect(policy_app, core, "read-only")
    forward = await post(policy_app, core, token, rpc("tools/list"))
    forward.rewrite.begin("text/event-stream")
    event = b"data: " + json.dumps(tools_list_result()).encode() + end
    out = forward.rewrite.feed(event)  # out at once: not held until the stream ends
    assert b"get_issue" in out and b"delete_issue" not in out


async def test_multi_line_and_spaceless_data_fields_are_read_and_rewritten(policy_app, core):
    token = await connect(policy_app, core, "read-only")
    forward = await post(policy_app, core, token, rpc("tools/list"))
    text = json.dumps(tools_list_result(), indent=1).splitlines()
    event = ("data:" + "\ndata:".join(text) + "\n\n").encode()  # several lines, no space
    out = through(forward, event)
    assert b"delete_issue" not in out and b"get_issue" in out


async def test_a_batched_answer_is_filtered_element_by_element(policy_app, core):
    token = await connect(policy_app, core, "read-only")
    forward = await post(policy_app, core, token, [rpc("tools/list", 1), rpc("ping", 2)])
    answers = [tools_list_result(1), {"jsonrpc": "2.0", "id": 2, "result": {}}]
    out = json.loads(through(forward, json.dumps(answers).encode()))
    assert [t["name"] for t in out[0]["result"]["tools"]] == ["get_issue", "list_issues"]
    assert out[1] == answers[1]


async def test_the_consent_page_says_how_far_the_client_name_is_verified(make_app, core):
    """A self-registered name is the app's own word; a metadata document's is vouched for by
    the host publishing it."""
    from tests.core.flow import authorize_query, pkce_pair

    app = make_app()
    client = await register(app, core, client_name="Claude")
    _, challenge = pkce_pair()
    page = await call(
        app, core, "GET", "/authorize?" + authorize_query(client["client_id"], challenge)
    )
    assert b"name given by the app itself" in page.body
    pinned = "https://claude.ai/oauth/claude-code-client-metadata"
    query = authorize_query(pinned, challenge, redirect_uri="http://localhost:5555/callback")
    page = await call(app, core, "GET", "/authorize?" + query)
    assert page.status == 200 and b"name verified by claude.ai" in page.body


async def test_a_tools_call_spelled_with_unicode_escapes_is_still_audited(policy_app, core):
    """`\\u0074ools/call` holds no `tools` byte string; the body is read all the same."""
    token = await connect(policy_app, core, "full")
    body = b'{"jsonrpc":"2.0","id":1,"method":"\\u0074ools/call","params":{"name":"get_issue"}}'
    forward = await post(policy_app, core, token, body)
    assert [tool for _, tool, _ in forward.audit] == ["get_issue"]
