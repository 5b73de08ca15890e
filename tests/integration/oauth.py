"""A minimal OAuth 2.1 public client for tests that need tokens without an MCP SDK."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.integration.browser import approve

REDIRECT_URI = "http://127.0.0.1:9/callback"
# What a client sends to /mcp once it has a token: the headers and an initialize request.
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def mcp_initialize(client_name: str) -> dict:
    """A JSON-RPC MCP initialize request from a client called `client_name`."""
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": client_name, "version": "0"},
        },
    }


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


@dataclass
class Tokens:
    client_id: str
    access_token: str
    refresh_token: str | None
    raw: dict


def register(
    origin: str, redirect_uri: str = REDIRECT_URI, client_name: str = "cfmcp integration tests"
) -> str:
    response = httpx.post(
        f"{origin}/register",
        json={
            "client_name": client_name,
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        },
        timeout=15,
    )
    assert response.status_code == 201, f"register: {response.status_code} {response.text}"
    return response.json()["client_id"]


def authorize_url(
    origin: str, client_id: str, challenge: str, state: str, redirect_uri: str = REDIRECT_URI
) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
            "scope": "mcp",
            "resource": f"{origin}/mcp",
        }
    )
    return f"{origin}/authorize?{query}"


def token_request(origin: str, form: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{origin}/token", data=form, timeout=15)


def obtain_tokens(origin: str, pin: str, client_name: str = "cfmcp integration tests") -> Tokens:
    """Register, approve with the PIN, redeem the code."""
    client_id = register(origin, client_name=client_name)
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    location = approve(authorize_url(origin, client_id, challenge, state), pin)
    assert location.startswith(REDIRECT_URI), location
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert params.get("state") == state
    response = token_request(
        origin,
        {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT_URI,
            "client_id": client_id,
            "code_verifier": verifier,
            "resource": f"{origin}/mcp",
        },
    )
    assert response.status_code == 200, f"token: {response.status_code} {response.text}"
    body = response.json()
    return Tokens(client_id, body["access_token"], body.get("refresh_token"), body)


def refresh(origin: str, client_id: str, refresh_token: str) -> httpx.Response:
    return token_request(
        origin,
        {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id},
    )
