"""Drive the Worker core through an OAuth flow the way real clients do (no network)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.core.conftest import ORIGIN, PIN

FORM = {"content-type": "application/x-www-form-urlencoded"}
LOOPBACK_REDIRECT = "http://127.0.0.1:33418/callback"


def request(core, method: str, path: str, *, headers=None, body: bytes = b"", ip="203.0.113.7"):
    http_types = __import__("cfmcp_worker.http_types", fromlist=["HttpRequest"])
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    return http_types.HttpRequest(method, ORIGIN + path, lowered, body, ip)


async def call(app, core, method, path, **kwargs):
    return await app.handle(request(core, method, path, **kwargs))


def header(response, name: str) -> str | None:
    for key, value in response.headers:
        if key.lower() == name.lower():
            return value
    return None


def body_json(response) -> dict:
    return json.loads(response.body)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


async def register(app, core, **metadata) -> dict:
    data = {
        "client_name": "Test Client",
        "redirect_uris": [LOOPBACK_REDIRECT],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        **metadata,
    }
    response = await call(
        app,
        core,
        "POST",
        "/register",
        body=json.dumps(data).encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status == 201, response.body
    return body_json(response)


def authorize_query(client_id: str, challenge: str, **overrides) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": LOOPBACK_REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "st-123",
        "resource": ORIGIN + "/mcp",
        "scope": "mcp",
    }
    params.update(overrides)
    return urlencode({k: v for k, v in params.items() if v is not None})


def request_token_from(page_body: bytes) -> str:
    match = re.search(rb'name="request" value="([^"]+)"', page_body)
    assert match, page_body[:500]
    return unescape(match.group(1).decode())


async def submit_pin(
    app,
    core,
    token: str,
    pin: str = PIN,
    *,
    ip="203.0.113.7",
    action="approve",
    headers=None,
    policy: str | None = None,
):
    """POST the consent form; `policy` is the choice (None: the form sends none)."""
    fields = {"request": token, "pin": pin, "action": action}
    if policy is not None:
        fields["policy"] = policy
    form = urlencode(fields).encode()
    return await call(
        app, core, "POST", "/authorize", body=form, ip=ip, headers={**FORM, **(headers or {})}
    )


def redirect_params(response) -> dict[str, str]:
    location = header(response, "location")
    assert location, f"no redirect (status {response.status})"
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def get_code(
    app, core, client: dict, policy: str | None = None, **overrides
) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    page = await call(
        app,
        core,
        "GET",
        "/authorize?" + authorize_query(client["client_id"], challenge, **overrides),
    )
    assert page.status == 200, page.body
    response = await submit_pin(app, core, request_token_from(page.body), policy=policy)
    assert response.status == 302, response.body
    return redirect_params(response)["code"], verifier


def code_form(client: dict, code: str, verifier: str, **overrides) -> dict:
    """The authorization_code grant's form for `client`; `overrides` add or replace fields,
    and a field set to None is left out."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": LOOPBACK_REDIRECT,
        "client_id": client["client_id"],
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


async def token_request(app, core, form: dict, headers=None):
    return await call(
        app,
        core,
        "POST",
        "/token",
        body=urlencode(form).encode(),
        headers={**FORM, **(headers or {})},
    )


async def full_flow(app, core, policy: str | None = None, **client_metadata) -> tuple[dict, dict]:
    """Register, consent (choosing `policy`, else what the page preselects), redeem."""
    client = await register(app, core, **client_metadata)
    code, verifier = await get_code(app, core, client, policy)
    form = code_form(
        client, code, verifier, resource=ORIGIN + "/mcp", client_secret=client.get("client_secret")
    )
    response = await token_request(app, core, form)
    assert response.status == 200, response.body
    return client, body_json(response)
