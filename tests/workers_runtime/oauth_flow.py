"""An OAuth flow against the Worker that runs over any transport (HTTP or in-process).

Register a public client, open the consent page, submit the PIN like a browser, redeem the
code at /token. `Transport.send` is the only thing a host has to provide, so the same steps
drive the Worker under Pyodide over HTTP and the core in-process on CPython.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

REDIRECT_URI = "http://127.0.0.1:33418/callback"
FORM = "application/x-www-form-urlencoded"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


class Transport(Protocol):
    async def send(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply: ...


class HttpxTransport:
    """Requests over HTTP to a running Worker."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def send(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        response = await self.client.request(method, path, headers=headers, content=body)
        return Reply(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.content,
        )


@dataclass
class ConsentForm:
    action: str = ""
    hidden: dict[str, str] = field(default_factory=dict)
    pin_field: str = ""
    approve: tuple[str, str] | None = None


class _ConsentParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.form = ConsentForm()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        kind = a.get("type", "text" if tag == "input" else "submit").lower()
        if tag == "form":
            self.form.action = a.get("action", "")
        elif tag == "input" and kind == "hidden":
            self.form.hidden[a.get("name", "")] = a.get("value", "")
        elif tag == "input" and kind == "password":
            self.form.pin_field = a.get("name", "")
        elif (
            tag in ("button", "input")
            and kind == "submit"
            and a.get("name")
            and self.form.approve is None
            and "deny" not in a.get("value", "").lower()
        ):
            self.form.approve = (a["name"], a.get("value", ""))


def parse_consent_form(html: str) -> ConsentForm:
    parser = _ConsentParser()
    parser.feed(html)
    if not parser.form.pin_field:
        raise AssertionError(f"no PIN field on the consent page:\n{html[:1000]}")
    return parser.form


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class FlowResult:
    """Where the flow ended: the /token reply, plus the client for follow-up requests."""

    client_id: str
    token_reply: Reply

    @property
    def access_token(self) -> str:
        return self.token_reply.json()["access_token"]


async def register(transport: Transport) -> str:
    metadata = {
        "client_name": "cfmcp harness",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
    }
    reply = await transport.send(
        "POST", "/register", {"content-type": "application/json"}, json.dumps(metadata).encode()
    )
    assert reply.status == 201, f"register: {reply.status} {reply.body[:300]!r}"
    return reply.json()["client_id"]


async def approve(
    transport: Transport,
    origin: str,
    client_id: str,
    challenge: str,
    pin: str,
    policy: str | None = None,
) -> str:
    """Open the consent page and submit the PIN (choosing `policy`, else the preselected
    one); return the code from the redirect."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "harness-state",
            "scope": "mcp",
            "resource": f"{origin}/mcp",
        }
    )
    page = await transport.send("GET", f"/authorize?{query}", {}, b"")
    assert page.status == 200, f"consent page: {page.status} {page.body[:300]!r}"
    form = parse_consent_form(page.body.decode())
    fields = {**form.hidden, form.pin_field: pin}
    if policy is not None:
        fields["policy"] = policy
    if form.approve:
        fields[form.approve[0]] = form.approve[1]
    action = urlsplit(form.action).path or "/authorize"
    reply = await transport.send("POST", action, {"content-type": FORM}, urlencode(fields).encode())
    location = reply.headers.get("location", "")
    assert reply.status in (302, 303) and location.startswith(REDIRECT_URI), (
        f"PIN submission: {reply.status} {location or reply.body[:300]!r}"
    )
    return parse_qs(urlsplit(location).query)["code"][0]


async def obtain_tokens(
    transport: Transport, origin: str, pin: str, policy: str | None = None
) -> FlowResult:
    """Run the flow up to /token (choosing `policy` on the consent page); the caller checks
    the /token reply."""
    client_id = await register(transport)
    verifier, challenge = pkce_pair()
    code = await approve(transport, origin, client_id, challenge, pin, policy)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": client_id,
        "code_verifier": verifier,
        "resource": f"{origin}/mcp",
    }
    reply = await transport.send("POST", "/token", {"content-type": FORM}, urlencode(form).encode())
    return FlowResult(client_id, reply)


async def refresh_once(transport: Transport, flow: FlowResult) -> Reply:
    """Refresh the flow's tokens once (this reads the grant's revocation marker from KV)."""
    form = {
        "grant_type": "refresh_token",
        "client_id": flow.client_id,
        "refresh_token": flow.token_reply.json()["refresh_token"],
    }
    return await transport.send("POST", "/token", {"content-type": FORM}, urlencode(form).encode())
