"""The Worker's log lines (log_lines.py): one `request` line per request, the `tools/call`
audit line, notes and caught errors; and never a secret in any of them."""

from __future__ import annotations

import json

from tests.core.conftest import PAT, PIN, SIGNING_KEY
from tests.core.flow import (
    RESOURCE,
    call,
    code_form,
    get_code,
    register,
    request,
    token_request,
)
from tests.core.policies import connect, kind, post, rpc, through, tools_list_result
from tests.support import oauth


def lines_of(capsys) -> list[dict]:
    """Every line printed since the last call; each must be a cfmcp JSON line."""
    lines = [json.loads(text) for text in capsys.readouterr().out.splitlines() if text]
    assert all("cfmcp" in line for line in lines), lines
    return lines


def requests_in(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["cfmcp"] == "request"]


async def test_every_oauth_endpoint_logs_one_request_line_naming_the_client(app, core, capsys):
    await call(app, core, "GET", "/.well-known/oauth-authorization-server")
    client = await register(app, core, client_name="Line Client")
    code, verifier = await get_code(app, core, client)
    await token_request(app, core, code_form(client, code, verifier, resource=RESOURCE))
    await call(app, core, "GET", "/nothing-here?secret=abc")
    lines = requests_in(lines_of(capsys))
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/.well-known/oauth-authorization-server", 200),
        ("POST", "/register", 201),
        ("GET", "/authorize", 200),
        ("POST", "/authorize", 302),
        ("POST", "/token", 200),
        ("GET", "/nothing-here", 404),
    ]
    assert [line.get("client") for line in lines] == [None, *["Line Client"] * 4, None]
    token_line = lines[4]
    assert len(token_line["grant"]) == 8 and all(
        c in "0123456789abcdef" for c in token_line["grant"]
    )
    assert all(isinstance(line["ms"], float) and "headers_ms" not in line for line in lines)


async def test_a_proxied_tools_call_logs_its_audit_line_then_the_request_line(
    policy_app, core, capsys
):
    token = await connect(policy_app, core, "full")
    capsys.readouterr()
    request = mcp_request(core, token, rpc("tools/call", 3, name="get_issue", arguments={"n": 1}))
    forward = await policy_app.handle(request)
    assert lines_of(capsys) == []  # nothing before the upstream answered
    policy_app.upstream_response(request, 200, [("content-type", "application/json")], forward)
    audit, line = lines_of(capsys)
    assert audit["cfmcp"] == "tools/call" and audit["decision"] == "allowed"
    assert audit["client"] == "Test Client" and audit["status"] == 200
    assert line == {
        "cfmcp": "request",
        "method": "POST",
        "path": "/mcp",
        "status": 200,
        "headers_ms": line["headers_ms"],  # streamed: logged when the headers are in
        "client": "Test Client",
        "grant": audit["grant"],
        "policy": "full",
        "mcp_method": "tools/call",
        "tool": "get_issue",
    }
    assert len(audit["grant"]) == 8 and "ms" not in line


async def test_a_refused_call_logs_denied_and_a_request_line_with_its_policy(
    policy_app, core, capsys
):
    token = await connect(policy_app, core, "read-only")
    listed = await post(policy_app, core, token, rpc("tools/list"))
    through(listed, json.dumps(tools_list_result()).encode())
    capsys.readouterr()
    await post(policy_app, core, token, rpc("tools/call", 7, name="create_issue"))
    audit, line = lines_of(capsys)
    assert audit["decision"] == "denied" and audit["tool"] == "create_issue"
    assert "status" not in audit and "headers_ms" not in audit
    assert line["status"] == 200 and line["policy"] == "read-only"
    assert line["mcp_method"] == "tools/call" and line["tool"] == "create_issue"
    assert "ms" in line


async def test_an_unread_body_is_named_by_its_mcp_method_header_only(policy_app, core, capsys):
    token = await connect(policy_app, core, "full")
    capsys.readouterr()
    await proxied(policy_app, core, token, oauth.mcp_initialize("x"))  # full: not read
    await proxied(policy_app, core, token, rpc("ping"), {"mcp-method": "ping"})
    unread, named = requests_in(lines_of(capsys))
    assert "mcp_method" not in unread and unread["status"] == 200
    assert named["mcp_method"] == "ping" and "tool" not in named


FORGED = (
    "get_issue\n09:00:00    tools/call delete_repo denied  Claude Code  grant deadbeef"
    "  read_only\x1b[1A\x1b[2K\u202e"
)


def _is_clean(value: str) -> bool:
    return value.isprintable() and len(value) <= 128


async def test_a_tool_name_cannot_forge_a_line_or_reach_a_terminal(policy_app, core, capsys):
    """Any connection names its tools: a line holds the name printable and capped."""
    token = await connect(policy_app, core, "read-only")
    listed = await post(policy_app, core, token, rpc("tools/list"))
    through(listed, json.dumps(tools_list_result()).encode())
    capsys.readouterr()
    await post(policy_app, core, token, rpc("tools/call", 7, name=FORGED + "x" * 500))
    audit, line = lines_of(capsys)
    assert audit["decision"] == "denied" and line["mcp_method"] == "tools/call"
    for name in (audit["tool"], line["tool"]):
        assert _is_clean(name) and name.startswith("get_issue09:00:00    tools/call delete_repo")


async def test_mcp_method_and_name_headers_are_logged_printable_and_capped(
    policy_app, core, capsys
):
    token = await connect(policy_app, core, "full")
    capsys.readouterr()
    headers = {"mcp-method": "tools/call", "mcp-name": FORGED}
    await proxied(policy_app, core, token, oauth.mcp_initialize("x"), headers)
    await proxied(policy_app, core, token, rpc("ping"), {"mcp-method": FORGED * 5})
    named, long = requests_in(lines_of(capsys))
    assert named["mcp_method"] == "tools/call" and _is_clean(named["tool"])
    assert _is_clean(long["mcp_method"]) and "tool" not in long


async def test_mcp_without_a_token_logs_the_401_and_no_client(app, core, capsys):
    await call(app, core, "POST", "/mcp?access_token=cfat.leaked", body=b"{}")
    await call(app, core, "POST", "/mcp", body=b"{}")
    first, second = requests_in(lines_of(capsys))
    assert (first["status"], second["status"]) == (400, 401)
    assert first["path"] == "/mcp" and "client" not in second and "grant" not in second


async def test_an_exception_is_logged_without_its_message_and_answered_500(app, core, capsys):
    token = (await _tokens(app, core))["access_token"]
    capsys.readouterr()

    async def broken(grant_id, use_cache=True):
        raise ValueError(f"boom {token}")

    app.tokens.grant_status = broken
    response = await call(app, core, "POST", "/mcp", headers={"authorization": f"Bearer {token}"})
    assert response.status == 500 and token.encode() not in response.body
    out = capsys.readouterr().out
    assert token not in out and "boom" not in out
    error, line = (json.loads(text) for text in out.splitlines())
    assert error["cfmcp"] == "error" and error["type"] == "ValueError"
    assert any("broken" in frame for frame in error["where"])
    assert line["status"] == 500


async def test_no_secret_reaches_any_line_over_a_whole_flow(make_app, core, capsys):
    """PIN, PAT, signing key, client secret, code, verifier, access and refresh tokens (old
    and new), the full grant id: none of them in any line, for a confidential client's flow,
    a refresh, a tools/call and a revocation."""
    from tests.core.policies import POLICIES

    app = make_app(policies=POLICIES)
    client = await register(
        app, core, token_endpoint_auth_method="client_secret_post", client_name="Secretive"
    )
    code, verifier = await get_code(app, core, client)
    redeemed = await token_request(
        app,
        core,
        code_form(client, code, verifier, resource=RESOURCE, client_secret=client["client_secret"]),
    )
    tokens = json.loads(redeemed.body)
    refreshed = json.loads(
        (
            await token_request(
                app,
                core,
                oauth.refresh_form(
                    client["client_id"],
                    tokens["refresh_token"],
                    client_secret=client["client_secret"],
                ),
            )
        ).body
    )
    access = refreshed["access_token"]
    call_ = rpc("tools/call", name="get_issue", arguments={"body": "private-argument-42"})
    await proxied(app, core, access, call_)
    await post(app, core, "cfat.forged.token", rpc("tools/list"))
    await call(
        app,
        core,
        "POST",
        "/revoke",
        body=f"token={refreshed['refresh_token']}&client_id={client['client_id']}"
        f"&client_secret={client['client_secret']}".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    out = capsys.readouterr().out
    grant_id = app.tokens.parse_refresh_token(refreshed["refresh_token"]).grant_id
    secrets = {
        "PIN": PIN,
        "PAT": PAT,
        "signing key": SIGNING_KEY,
        "client secret": client["client_secret"],
        "code": code,
        "code verifier": verifier,
        "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"],
        "new access token": access,
        "new refresh token": refreshed["refresh_token"],
        "full grant id": grant_id,
        "tool argument": "private-argument-42",
        "forged token": "cfat.forged.token",
    }
    leaked = [name for name, value in secrets.items() if value in out]
    assert not leaked, f"{leaked} logged:\n{out}"
    kinds = {json.loads(text)["cfmcp"] for text in out.splitlines()}
    assert kinds == {"request", "tools/call"}


def mcp_request(core, token: str, payload: dict, headers: dict | None = None):
    body = json.dumps(payload).encode()
    headers = {"authorization": f"Bearer {token}", **(headers or {})}
    return request(core, "POST", "/mcp", body=body, headers=headers)


async def proxied(app, core, token: str, payload: dict, headers: dict | None = None):
    """A /mcp POST carried out as a host does: handled, then the upstream's 200 passed on."""
    sent = mcp_request(core, token, payload, headers)
    forward = await app.handle(sent)
    if kind(forward) == "Forward":
        app.upstream_response(sent, 200, [("content-type", "application/json")], forward)


async def _tokens(app, core) -> dict:
    client = await register(app, core)
    code, verifier = await get_code(app, core, client)
    return json.loads(
        (await token_request(app, core, code_form(client, code, verifier, resource=RESOURCE))).body
    )


def test_a_note_never_carries_a_query_string(core, capsys):
    import importlib

    log_lines = importlib.import_module("cfmcp_worker.log_lines")
    log_lines.note("upstream request failed: TypeError: fetch https://up.example/mcp?key=s3cr3t x")
    (line,) = lines_of(capsys)
    assert line == {
        "cfmcp": "note",
        "message": "upstream request failed: TypeError: fetch https://up.example/mcp?… x",
    }


def test_a_quote_in_a_query_does_not_end_its_stripping(core, capsys):
    import importlib

    log_lines = importlib.import_module("cfmcp_worker.log_lines")
    log_lines.note("""fetch https://up.example/mcp?q='x'&key=s3cr3t"&pat=ghp_s3cr3t failed""")
    log_lines.note("redirect to https://app.example/cb#access_token=s3cr3t refused")
    first, second = lines_of(capsys)
    assert first["message"] == "fetch https://up.example/mcp?… failed"
    assert second["message"] == "redirect to https://app.example/cb#… refused"


async def test_a_metadata_document_client_is_named_by_its_document(app, core, capsys):
    """Claude Code's pinned document names it; an unknown document's client is its host."""
    assert app.clients.name_of("https://claude.ai/oauth/claude-code-client-metadata") == (
        "Claude Code"
    )
    assert app.clients.name_of("https://apps.example.com/oauth/client.json") == "apps.example.com"
    assert app.clients.name_of("cfc.not-base64!.mac") == "unknown client"


OUTPUT_NAMES = {"print", "console", "stdout", "stderr", "__stdout__", "__stderr__"}


def _output_uses(tree) -> list[tuple[int, str]]:
    """Where a module reaches an output: `print`, `sys.stdout`/`stderr`, `js.console.*` (or
    `from js import console`), by name, attribute or import."""
    import ast

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in OUTPUT_NAMES:
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute) and node.attr in OUTPUT_NAMES:
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names = {alias.name.rsplit(".", 1)[-1] for alias in node.names}
            found.extend((node.lineno, name) for name in names & OUTPUT_NAMES)
    return found


def test_every_line_the_worker_prints_goes_through_log_lines():
    """One format in one place: no module the bundle ships (its rendered templates too) prints,
    writes stdout/stderr or calls the JS console itself."""
    import ast

    from cfmcp.project.config import ProjectConfig
    from cfmcp.worker.render import render_bundle

    bundle = render_bundle(ProjectConfig(name="scan-worker").validate())
    assert "cfmcp_worker/deployment.py" in bundle.modules  # a rendered template is scanned
    assert "cfmcp_worker/consent_page.py" in bundle.modules
    offenders = [
        f"{name}:{line} {what}"
        for name, source in sorted(bundle.modules.items())
        if name != "cfmcp_worker/log_lines.py"
        for line, what in _output_uses(ast.parse(source))
    ]
    assert all(name.endswith(".py") for name in bundle.modules)  # nothing escapes the scan
    assert not offenders, offenders


def test_the_output_scan_finds_every_way_out():
    import ast

    source = """
import js
from js import console
from sys import stdout
print("x")
js.console.log("x")
sys.stderr.write("x")
write = sys.__stdout__.write
"""
    found = {what for _, what in _output_uses(ast.parse(source))}
    assert found == {"console", "stdout", "print", "stderr", "__stdout__"}
