"""The tests' one OAuth 2.1 flow driver: what a public MCP client, and the person typing the PIN
on the consent page, do against the Worker. Written once, without I/O.

A flow is a generator: it yields each `Request` the client (or the browser) makes and receives
the `Reply`. `run` (sync) and `run_async` drive a flow through a sender: real HTTP
(`http_sender`, `async_http_sender`) or the Worker core in-process (`core_sender`), so the same
steps drive the core on CPython, `cfmcp dev`, workerd, the Pyodide harness and a Worker
deployed to the fake Cloudflare API.

    tokens = run(obtain_tokens(pin, resource=origin + "/mcp"), http_sender(origin))

The sync helpers at the end (`register`, `obtain_tokens_over_http`, `submit_consent`, ...) are
that, spelled for tests that talk HTTP to a running Worker.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

T = TypeVar("T")
REDIRECT_URI = "http://127.0.0.1:33418/callback"  # a loopback callback nobody listens on
FORM_TYPE = "application/x-www-form-urlencoded"
# What a client sends to /mcp once it has a token: the headers and an initialize request.
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
_APPROVE = re.compile(r"approve|allow|authori[sz]e|accept", re.IGNORECASE)


# ---------------------------------------------------------------------- requests and replies


@dataclass(frozen=True)
class Request:
    """One request of a flow; `url` is a path (`/token`) or an absolute URL."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def form(cls, url: str, fields: dict[str, str], headers: dict[str, str] | None = None):
        return cls(
            "POST", url, {"content-type": FORM_TYPE, **(headers or {})}, urlencode(fields).encode()
        )

    @classmethod
    def json(cls, url: str, data: Any) -> Request:
        return cls("POST", url, {"content-type": "application/json"}, json.dumps(data).encode())


@dataclass
class Reply:
    status: int
    headers: httpx.Headers  # case-insensitive
    body: bytes
    url: str = ""  # where the request went (to resolve a form's action)

    @property
    def status_code(self) -> int:  # as httpx.Response names it
        return self.status

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    @property
    def params(self) -> dict[str, str]:
        """The query of the redirect's Location (code, state, error)."""
        return {k: v[0] for k, v in parse_qs(urlsplit(self.location).query).items()}


Flow = Generator[Request, Reply, T]
Send = Callable[[Request], Reply]
AsyncSend = Callable[[Request], Awaitable[Reply]]


def run(flow: Flow[T], send: Send) -> T:
    """Drive `flow` with a synchronous sender; return what the flow returns."""
    try:
        request = next(flow)
        while True:
            request = flow.send(send(request))
    except StopIteration as done:
        return done.value


async def run_async(flow: Flow[T], send: AsyncSend) -> T:
    """Drive `flow` with an async sender; return what the flow returns."""
    try:
        request = next(flow)
        while True:
            request = flow.send(await send(request))
    except StopIteration as done:
        return done.value


# ----------------------------------------------------------------------------- the pieces


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


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


def client_metadata(
    client_name: str = "cfmcp tests", redirect_uri: str = REDIRECT_URI, **extra: Any
) -> dict:
    """A public client's registration (RFC 7591); `extra` adds or replaces fields."""
    return {
        "client_name": client_name,
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        **extra,
    }


def authorize_query(client_id: str, challenge: str, /, **overrides: str | None) -> str:
    """The /authorize query; `overrides` add or replace parameters (None leaves one out)."""
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "st-123",
        "scope": "mcp",
    }
    params.update(overrides)
    return urlencode({k: v for k, v in params.items() if v is not None})


def code_form(
    client_id: str, code: str, verifier: str, /, **overrides: str | None
) -> dict[str, str]:
    """The authorization_code grant's form; a field set to None is left out."""
    form: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT_URI,
        "client_id": client_id,
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def refresh_form(client_id: str, refresh_token: str, /, **overrides: str | None) -> dict[str, str]:
    form: dict[str, str | None] = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client_id,
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


@dataclass
class Form:
    action: str = ""
    method: str = "get"
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (name, type, value)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # (name, value, text)
    choices: list[tuple[str, str, bool]] = field(default_factory=list)  # (name, value, checked)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(action=a.get("action", ""), method=a.get("method", "get")))
        elif not self.forms:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "submit":
                self.forms[-1].buttons.append((a.get("name", ""), a.get("value", ""), ""))
            elif kind in ("radio", "checkbox"):  # sent only when checked
                if a.get("name"):
                    self.forms[-1].choices.append((a["name"], a.get("value", ""), "checked" in a))
            elif a.get("name"):
                self.forms[-1].fields.append((a["name"], kind, a.get("value", "")))
        elif tag == "button" and a.get("type", "submit").lower() == "submit":
            self._button = [a.get("name", ""), a.get("value", ""), ""]

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button[2] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None and self.forms:
            name, value, text = self._button
            self.forms[-1].buttons.append((name, value, text.strip()))
            self._button = None


def parse_forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def consent_submission(
    page_url: str, html: str, pin: str, *, choice: str = "approve", policy: str | None = None
) -> tuple[str, dict[str, str]]:
    """The URL and form data a browser POSTs when the user types `pin`, picks `policy` (None:
    leaves the checked one) and presses the approve button (`choice="deny"`: the deny one)."""
    forms = [f for f in parse_forms(html) if any(t == "password" for _, t, _ in f.fields)]
    assert forms, f"no PIN form on the consent page:\n{html[:2000]}"
    form = forms[0]
    assert form.method.lower() == "post", "the consent form must POST"
    data = {name: pin if kind == "password" else value for name, kind, value in form.fields}
    for name, value, checked in form.choices:
        if (policy is None and checked) or (policy is not None and value == policy):
            data[name] = value
    if policy is not None:
        assert data.get("policy") == policy, f"no policy {policy!r} on the consent page"
    wanted = _APPROVE if choice == "approve" else re.compile(choice, re.IGNORECASE)
    buttons = [b for b in form.buttons if wanted.search(b[1]) or wanted.search(b[2])]
    chosen = buttons[0] if buttons else (form.buttons[-1] if form.buttons else None)
    if chosen and chosen[0]:
        data[chosen[0]] = chosen[1]
    return urljoin(page_url, form.action or page_url), data


# ------------------------------------------------------------------------------- the flows


@dataclass
class Tokens:
    """Where a flow ended: the registered client and the /token reply."""

    client: dict
    token_reply: Reply
    verifier: str = ""

    @property
    def client_id(self) -> str:
        return self.client["client_id"]

    @property
    def raw(self) -> dict:
        return self.token_reply.json()

    @property
    def access_token(self) -> str:
        return self.raw["access_token"]

    @property
    def refresh_token(self) -> str | None:
        return self.raw.get("refresh_token")


def registration(**metadata: Any) -> Flow[dict]:
    """POST /register (`client_metadata(**metadata)`); the registered client."""
    reply = yield Request.json("/register", client_metadata(**metadata))
    assert reply.status == 201, f"register: {reply.status} {reply.body[:300]!r}"
    return reply.json()


def consent(
    client_id: str,
    challenge: str,
    pin: str,
    /,
    *,
    choice: str = "approve",
    policy: str | None = None,
    **query: str | None,
) -> Flow[Reply]:
    """Open the consent page like a browser, type `pin`, pick `policy` (None: the checked
    one), press approve (or deny); the unfollowed answer to the POST."""
    page = yield Request(
        "GET",
        "/authorize?" + authorize_query(client_id, challenge, **query),
        {"accept": "text/html"},
    )
    assert page.status == 200, f"consent page: {page.status} {page.body[:500]!r}"
    action, data = consent_submission(
        page.url or "/authorize", page.text, pin, choice=choice, policy=policy
    )
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url)) if page.url else ""
    browser = {"origin": origin, "referer": page.url} if origin else {}
    return (yield Request.form(action, data, browser))


def authorization_code(
    client_id: str,
    pin: str,
    /,
    *,
    state: str = "st-123",
    policy: str | None = None,
    **query: str | None,
) -> Flow[tuple[str, str]]:
    """Approve with `pin` (choosing `policy`); (code, code_verifier) from the redirect."""
    verifier, challenge = pkce_pair()
    reply = yield from consent(client_id, challenge, pin, state=state, policy=policy, **query)
    assert reply.status in (302, 303), f"consent POST: {reply.status} {reply.body[:500]!r}"
    redirect_uri = query.get("redirect_uri") or REDIRECT_URI
    assert reply.location.startswith(redirect_uri), reply.location
    assert reply.params.get("state") == state, reply.location
    return reply.params["code"], verifier


def obtain_tokens(
    pin: str,
    *,
    resource: str,
    client_name: str = "cfmcp tests",
    policy: str | None = None,
    **metadata: Any,
) -> Flow[Tokens]:
    """Register, approve with the PIN (choosing `policy`), redeem the code (the /token reply
    must be 200)."""
    client = yield from registration(client_name=client_name, **metadata)
    code, verifier = yield from authorization_code(
        client["client_id"],
        pin,
        resource=resource,
        state=secrets.token_urlsafe(12),
        policy=policy,
    )
    form = code_form(
        client["client_id"],
        code,
        verifier,
        resource=resource,
        client_secret=client.get("client_secret"),
    )
    reply = yield Request.form("/token", form)
    assert reply.status == 200, f"token: {reply.status} {reply.body[:500]!r}"
    return Tokens(client, reply, verifier)


def token_call(form: dict[str, str], headers: dict[str, str] | None = None) -> Flow[Reply]:
    """POST /token with `form` (any grant); the reply, whatever it is."""
    return (yield Request.form("/token", form, headers))


# ------------------------------------------------------------------------------ the senders


def _reply(response: httpx.Response) -> Reply:
    return Reply(
        response.status_code, response.headers, response.content, str(response.request.url)
    )


def http_sender(origin: str, *, timeout: float = 15.0) -> Send:
    """Requests to a running Worker at `origin` (redirects are never followed)."""

    def send(request: Request) -> Reply:
        with httpx.Client(follow_redirects=False, timeout=timeout, trust_env=False) as http:
            response = http.request(
                request.method,
                urljoin(origin + "/", request.url),
                headers=request.headers,
                content=request.body,
            )
        return _reply(response)

    return send


def async_http_sender(client: httpx.AsyncClient) -> AsyncSend:
    """Requests through `client` (its base_url is the Worker's origin)."""

    async def send(request: Request) -> Reply:
        response = await client.request(
            request.method, request.url, headers=request.headers, content=request.body
        )
        return _reply(response)

    return send


def core_sender(app: Any, origin: str, *, ip: str = "203.0.113.7") -> AsyncSend:
    """Requests handled by a `cfmcp_worker.app.WorkerApp` in this process."""
    http_types = __import__("cfmcp_worker.http_types", fromlist=["HttpRequest"])

    async def send(request: Request) -> Reply:
        split = urlsplit(request.url)
        path = split.path + (f"?{split.query}" if split.query else "")
        url = origin + path
        headers = {k.lower(): v for k, v in request.headers.items()}
        response = await app.handle(
            http_types.HttpRequest(request.method, url, headers, request.body, ip)
        )
        return Reply(response.status, httpx.Headers(list(response.headers)), response.body, url)

    return send


# ------------------------------------------------ the same, for tests talking HTTP in sync


def register(
    origin: str, redirect_uri: str = REDIRECT_URI, client_name: str = "cfmcp tests"
) -> str:
    """Register a public client at `origin`; its client_id."""
    client = run(
        registration(client_name=client_name, redirect_uri=redirect_uri), http_sender(origin)
    )
    return client["client_id"]


def authorize_url(
    origin: str, client_id: str, challenge: str, state: str, redirect_uri: str = REDIRECT_URI
) -> str:
    query = authorize_query(
        client_id, challenge, state=state, redirect_uri=redirect_uri, resource=f"{origin}/mcp"
    )
    return f"{origin}/authorize?{query}"


@dataclass
class ConsentResult:
    page: Reply
    submit: Reply

    @property
    def location(self) -> str:
        return self.submit.location

    @property
    def params(self) -> dict[str, str]:
        return self.submit.params


def submit_consent(
    url: str, pin: str, *, timeout: float = 15.0, policy: str | None = None
) -> ConsentResult:
    """GET the consent page at `url` (an authorize URL), POST the PIN form (choosing `policy`);
    not followed."""
    split = urlsplit(url)
    origin = f"{split.scheme}://{split.netloc}"
    send = http_sender(origin, timeout=timeout)
    page = send(Request("GET", url, {"accept": "text/html"}))
    assert page.status == 200, f"authorize page: {page.status} {page.text[:500]}"
    action, data = consent_submission(page.url, page.text, pin, policy=policy)
    submit = send(Request.form(action, data, {"origin": origin, "referer": page.url}))
    return ConsentResult(page, submit)


def approve(url: str, pin: str, policy: str | None = None) -> str:
    """The redirect Location after approving with the right PIN (choosing `policy`)."""
    result = submit_consent(url, pin, policy=policy)
    assert result.submit.status in (302, 303), (
        f"consent POST: {result.submit.status} {result.submit.text[:500]}"
    )
    return result.location


def obtain_tokens_over_http(
    origin: str, pin: str, client_name: str = "cfmcp tests", policy: str | None = None
) -> Tokens:
    """Register, approve with the PIN (choosing `policy`), redeem the code, against the Worker
    at `origin`."""
    return run(
        obtain_tokens(pin, resource=f"{origin}/mcp", client_name=client_name, policy=policy),
        http_sender(origin),
    )


def token_request(origin: str, form: dict[str, str]) -> Reply:
    return run(token_call(form), http_sender(origin))


def refresh(origin: str, client_id: str, refresh_token: str) -> Reply:
    return token_request(origin, refresh_form(client_id, refresh_token))
