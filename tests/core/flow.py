"""The Worker core in-process, for its unit tests: requests handed to `WorkerApp.handle`, and
the OAuth flow of tests/support/oauth.py driven over it (`core_sender`, no network).

The flow helpers return what the tests assert on: the core's own `HttpResponse` for single
requests, the registered client and the token JSON for whole flows.
"""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.core.conftest import ORIGIN, PIN
from tests.support import oauth
from tests.support.oauth import FORM_TYPE, pkce_pair

FORM = {"content-type": FORM_TYPE}
LOOPBACK_REDIRECT = oauth.REDIRECT_URI
RESOURCE = ORIGIN + "/mcp"
__all__ = ["FORM", "LOOPBACK_REDIRECT", "pkce_pair"]


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


async def register(app, core, **metadata) -> dict:
    """Register a public client (the driver's metadata, named "Test Client")."""
    flow = oauth.registration(**{"client_name": "Test Client", **metadata})
    return await oauth.run_async(flow, oauth.core_sender(app, ORIGIN))


def authorize_query(client_id: str, challenge: str, **overrides) -> str:
    return oauth.authorize_query(client_id, challenge, **{"resource": RESOURCE, **overrides})


def request_token_from(page_body: bytes) -> str:
    """The signed consent request in the page's form (for tests that tamper with it)."""
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
    """Approve with the PIN through the consent page (choosing `policy`, else the checked
    one); (code, code_verifier)."""
    flow = oauth.authorization_code(
        client["client_id"], PIN, policy=policy, **{"resource": RESOURCE, **overrides}
    )
    return await oauth.run_async(flow, oauth.core_sender(app, ORIGIN))


def code_form(client: dict, code: str, verifier: str, **overrides) -> dict:
    """The authorization_code grant's form for `client`; `overrides` add or replace fields,
    and a field set to None is left out."""
    return oauth.code_form(client["client_id"], code, verifier, **overrides)


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
    """Register, approve (choosing `policy`, else the checked one), redeem: (client, the
    token JSON)."""
    flow = oauth.obtain_tokens(
        PIN, resource=RESOURCE, policy=policy, **{"client_name": "Test Client", **client_metadata}
    )
    tokens = await oauth.run_async(flow, oauth.core_sender(app, ORIGIN))
    return tokens.client, tokens.raw
