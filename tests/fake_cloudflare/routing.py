"""Request context, the route table and authentication."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .envelope import ApiError, Response
from .model import Token
from .state import FakeState

_TOKEN_FORMAT = re.compile(r"^[A-Za-z0-9_\-.]+$")


@dataclass
class Request:
    """What a handler sees."""

    method: str
    path: str  # relative to /client/v4, percent-encoded, no query
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    state: FakeState
    token: Token | None = None
    workers: Any = None  # the WorkerRunner when uploaded Workers are run, else None
    tails: Any = None  # the TailHub (tails.py)

    def json(self) -> Any:
        """The body as JSON, or Cloudflare's malformed-request error."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise ApiError(400, 10026, "Could not parse request body as JSON") from None

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object."""
        value = self.json()
        if not isinstance(value, dict):
            raise ApiError(400, 10026, "Request body must be a JSON object")
        return value

    @property
    def content_type(self) -> str:
        """The request's Content-Type header ("" if absent)."""
        return self.headers.get("content-type", "")


Handler = Callable[..., Response]


@dataclass
class Route:
    """``method`` + a path template like ``/accounts/{account_id}/workers/scripts/{name}``.

    ``permission`` is checked against the token (None: any valid token); ``account_param`` /
    ``zone_param`` name the path parameters the token must reach.
    """

    method: str
    template: str
    handler: Handler
    permission: str | None = None
    auth: str = "required"  # "required", or "verify" for the token verify endpoints
    mutates: bool = False

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters (percent-decoded) if this route matches, else None."""
        if method != self.method:
            return None
        want = self.template.strip("/").split("/")
        got = path.strip("/").split("/")
        if len(want) != len(got):
            return None
        params: dict[str, str] = {}
        for w, g in zip(want, got, strict=True):
            if w.startswith("{") and w.endswith("}"):
                if not g:
                    return None
                params[w[1:-1]] = unquote(g)
            elif w != g:
                return None
        return params


def find_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The first route matching the request, with its parameters."""
    for route in routes:
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None


def bearer_token(headers: dict[str, str]) -> str:
    """The bearer token from the Authorization header, or Cloudflare's header errors."""
    header = headers.get("authorization")
    if header is None:
        if "x-auth-key" in headers or "x-auth-email" in headers:
            raise ApiError(
                400,
                6003,
                "Invalid request headers",
                error_chain=[(6103, "Invalid format for X-Auth-Key header")],
            )
        raise ApiError(400, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not _TOKEN_FORMAT.match(value.strip()):
        raise ApiError(
            400,
            6003,
            "Invalid request headers",
            error_chain=[(6111, "Invalid format for Authorization header")],
        )
    return value.strip()


def authenticate(route: Route, request: Request, params: dict[str, str]) -> Token:
    """Check the token for this route: unknown/inactive -> 401, missing permission or
    out-of-reach account/zone -> 403 ``10000 Authentication error``."""
    value = bearer_token(request.headers)
    token = request.state.tokens.get(value)
    if route.auth == "verify":
        account_id = params.get("account_id")
        owner_ok = token is not None and (
            (account_id is None and token.owner == "user")
            or (
                account_id is not None
                and token.owner == "account"
                and token.reaches_account(account_id)
            )
        )
        if not owner_ok:
            raise ApiError(401, 1000, "Invalid API Token")
        assert token is not None
        return token
    if token is None:
        raise ApiError(401, 10001, "Unable to authenticate request")
    if token.status != "active":
        raise ApiError(401, 10001, "Unable to authenticate request")
    account_id = params.get("account_id")
    if account_id is not None and not token.reaches_account(account_id):
        raise ApiError(403, 10000, "Authentication error")
    zone_id = params.get("zone_id")
    if zone_id is not None:
        zone = request.state.zones.get(zone_id)
        if zone is not None and not token.reaches_zone(zone):
            raise ApiError(403, 10000, "Authentication error")
    if route.permission is not None and not token.allows(route.permission):
        raise ApiError(403, 10000, "Authentication error")
    return token
