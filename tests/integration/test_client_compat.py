"""Compatibility suite: every client of DESIGN.md §2b, its OAuth shapes replayed over HTTP.

One table of client shapes (what each client GETs first, how it registers or which metadata
document it names, its redirect URI, the scope it asks, whether it sends RFC 8707 `resource`,
how it authenticates at /token, its quirks) and one driver that replays them against the
Worker on every host: discovery, registration or CIMD, /authorize, the consent POST with the
PIN, the callback it lands on, /token, a refresh and one MCP request. These are *replayed
shapes*, not the real clients (those are in test_sdk_client, test_mcp_remote,
test_browser_consent). ChatGPT's own metadata document cannot be fetched here (its per-app URL
is on chatgpt.com), so its CIMD path is covered by tests/core/test_registration.py and here by
its DCR shape.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.integration.running import RunningWorker
from tests.support.oauth import MCP_HEADERS, mcp_initialize, pkce_pair, submit_consent

PRM = "/.well-known/oauth-protected-resource"
ASM = "/.well-known/oauth-authorization-server"
CLAUDE_CIMD = "https://claude.ai/oauth/mcp-oauth-client-metadata"
CLAUDE_CODE_CIMD = "https://claude.ai/oauth/claude-code-client-metadata"
CODEX_CIMD = "https://chatgpt.com/oauth/codex/client.json"
VSCODE_CIMD = "https://vscode.dev/oauth/client-metadata.json"


@dataclass(frozen=True)
class Shape:
    """How one client connects, as observed (DESIGN §2b)."""

    name: str
    redirect_uri: str
    probes: tuple[str, ...] = (PRM + "/mcp", ASM)  # GETs after the first 401, in order
    cimd: str | None = None  # client_id is this metadata document URL (no registration)
    auth: str = "none"  # token_endpoint_auth_method it registers with
    scope: str | None = "mcp"
    resource: bool = True  # sends RFC 8707 `resource` at /authorize and /token
    token_twice: bool = False  # sends two /token POSTs for one code
    user_agent: str = "cfmcp-compat"
    extra_registration: dict = field(default_factory=dict)


SHAPES = [
    Shape(
        "claude.ai DCR",
        "https://claude.ai/api/mcp/auth_callback",
        auth="client_secret_post",
        user_agent="Claude-User",
        scope=None,
    ),
    Shape(
        "claude.ai CIMD (claude.com)",
        "https://claude.com/api/mcp/auth_callback",
        cimd=CLAUDE_CIMD,
        user_agent="Claude-User",
        scope=None,
    ),
    Shape(
        "claude.ai CIMD (claude.ai)",
        "https://claude.ai/api/mcp/auth_callback",
        cimd=CLAUDE_CIMD,
        user_agent="Claude-User",
    ),
    Shape("Claude Code CIMD", "http://localhost:54545/callback", cimd=CLAUDE_CODE_CIMD),
    Shape("Claude Code DCR", "http://localhost:54546/callback"),
    Shape(
        "ChatGPT DCR",
        "https://chatgpt.com/connector/oauth/cb_7fQ2xZ",
        token_twice=True,
        probes=(PRM + "/mcp", PRM, ASM, ASM + "/mcp"),
    ),
    Shape(
        "ChatGPT DCR (legacy callback)",
        "https://chatgpt.com/connector_platform_oauth_redirect",
        auth="client_secret_post",
        token_twice=True,
    ),
    Shape(
        "Codex CIMD",
        "http://127.0.0.1:1455/callback/Hq3vR0xkPz9a",
        cimd=CODEX_CIMD,
        resource=False,
        scope=None,
        probes=(PRM + "/mcp", ASM + "/mcp", ASM),
    ),
    Shape("Codex DCR", "http://127.0.0.1:1456/callback/Hq3vR0xkPz9a", resource=False, scope=None),
    Shape("VS Code CIMD loopback", "http://127.0.0.1:33418/", cimd=VSCODE_CIMD),
    Shape("VS Code CIMD vscode.dev", "https://vscode.dev/redirect", cimd=VSCODE_CIMD),
    Shape(
        "Cursor", "cursor://anysphere.cursor-mcp/oauth/callback", probes=(PRM + "/mcp", PRM, ASM)
    ),
    Shape("Gemini CLI", "http://localhost:7777/oauth/callback"),
    Shape("Windsurf", "http://127.0.0.1:52100/callback", auth="client_secret_basic"),
    Shape(
        "mcp-remote",
        "http://localhost:3334/oauth/callback",
        scope="openid email profile",
        probes=(PRM + "/mcp", ASM),
    ),
]


def _register(worker: RunningWorker, shape: Shape) -> dict:
    if shape.cimd:
        return {"client_id": shape.cimd}
    body = {
        "client_name": shape.name,
        "redirect_uris": [shape.redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": shape.auth,
        **shape.extra_registration,
    }
    if shape.scope:
        body["scope"] = shape.scope
    response = httpx.post(f"{worker.origin}/register", json=body, timeout=15)
    assert response.status_code == 201, response.text
    client = response.json()
    assert (shape.auth != "none") == ("client_secret" in client)
    return client


def _token(worker: RunningWorker, shape: Shape, client: dict, form: dict) -> httpx.Response:
    form = {**form, "client_id": client["client_id"]}
    headers = {"User-Agent": shape.user_agent}
    if shape.auth == "client_secret_post":
        form["client_secret"] = client["client_secret"]
    elif shape.auth == "client_secret_basic":
        del form["client_id"]
        pair = f"{client['client_id']}:{client['client_secret']}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    if shape.resource:
        form["resource"] = worker.mcp_url
    return httpx.post(f"{worker.origin}/token", data=form, headers=headers, timeout=15)


def _mcp(worker: RunningWorker, shape: Shape, access_token: str) -> None:
    worker.upstream.recorder.clear()
    headers = {
        **MCP_HEADERS,
        "Authorization": f"Bearer {access_token}",
        "User-Agent": shape.user_agent,
    }
    reply = httpx.post(worker.mcp_url, json=mcp_initialize(shape.name), headers=headers, timeout=15)
    assert reply.status_code == 200, reply.text
    seen = worker.upstream.recorder.snapshot()
    assert seen and seen[-1].headers["authorization"] == f"Bearer {worker.upstream.pat}"


@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_client_connects(worker: RunningWorker, shape: Shape) -> None:
    # 1. The first MCP request is challenged and names the resource metadata.
    challenge = httpx.post(
        worker.mcp_url,
        json=mcp_initialize(shape.name),
        headers={**MCP_HEADERS, "User-Agent": shape.user_agent},
        timeout=15,
    )
    assert challenge.status_code == 401
    assert f'resource_metadata="{worker.origin}{PRM}/mcp"' in challenge.headers["www-authenticate"]
    # 2. Its discovery probes, in its order; every one answers with metadata.
    for path in shape.probes:
        probe = httpx.get(
            worker.origin + path, headers={"User-Agent": shape.user_agent}, timeout=15
        )
        assert probe.status_code == 200, f"{path}: {probe.status_code}"
        document = probe.json()
        assert None not in document.values()
        if path.startswith(PRM):
            assert document["authorization_servers"] == [worker.origin]
        else:
            assert document["issuer"] == worker.origin
            assert document["client_id_metadata_document_supported"] is True
            assert "private_key_jwt" not in document["token_endpoint_auth_methods_supported"]
    # 3. Registration, or the metadata document URL as client_id.
    client = _register(worker, shape)
    # 4. /authorize in its shape, the consent POST with the PIN, the callback it lands on.
    verifier, code_challenge = pkce_pair()
    state = secrets.token_urlsafe(12)
    query = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": shape.redirect_uri,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
        "state": state,
    }
    if shape.scope:
        query["scope"] = shape.scope
    if shape.resource:
        query["resource"] = worker.mcp_url
    consent = submit_consent(f"{worker.origin}/authorize?{urlencode(query)}", worker.pin)
    assert consent.submit.status_code in (302, 303), consent.submit.text[:500]
    location = consent.location
    assert location.startswith(shape.redirect_uri + "?"), location
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert params["state"] == state and params["iss"] == worker.origin and params["code"]
    # 5. /token as it sends it (twice for ChatGPT: the retry gets the same grant).
    form = {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": shape.redirect_uri,
        "code_verifier": verifier,
    }
    tokens = _token(worker, shape, client, form)
    assert tokens.status_code == 200, tokens.text
    issued = tokens.json()
    assert issued["token_type"].lower() == "bearer" and issued["refresh_token"]
    if shape.token_twice:
        again = _token(worker, shape, client, form)
        assert again.status_code == 200, again.text
        _mcp(worker, shape, again.json()["access_token"])
    _mcp(worker, shape, issued["access_token"])
    # 6. A refresh, and the refreshed token works.
    refreshed = _token(
        worker,
        shape,
        client,
        {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.text
    _mcp(worker, shape, refreshed.json()["access_token"])
