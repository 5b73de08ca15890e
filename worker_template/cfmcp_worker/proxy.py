"""The MCP endpoint: bearer token check, then a `Forward` decision for the host to carry out.

The client's credentials never reach the upstream and the PAT never reaches the client. Only
the request headers MCP needs are forwarded (an allow-list, below); the upstream credential
is injected; the client's query string is added to the upstream URL but never changes the
upstream URL's own parameters. An upstream 401/403 becomes a 502 (a 401 would make the client
think its own token is bad and loop through re-authorization), and so does a 3xx (a redirect
the client followed would take it, and anything it sends next, elsewhere).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from cfmcp_worker import log_lines
from cfmcp_worker.http_types import (
    SSE,
    Forward,
    Headers,
    HttpRequest,
    HttpResponse,
    PassThrough,
    media_type,
)
from cfmcp_worker.responses import cors_headers, json_response
from cfmcp_worker.settings import Secrets, Settings
from cfmcp_worker.tokens import REVOKED, AccessClaims, TokenService
from cfmcp_worker.urls import exact_resource

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# The request headers forwarded to the upstream: what MCP needs, nothing else (DESIGN §2, §2c).
# Every `Mcp-*` header passes unchanged: Mcp-Session-Id, Mcp-Protocol-Version, and MCP
# 2026-07-28's Mcp-Method, Mcp-Name and Mcp-Param-*. Never forwarded, among all others:
# - Authorization, Cookie: the client's credentials (the upstream's is injected instead);
# - Host, Origin, Referer, Forwarded, X-Forwarded-*, X-Real-IP, CF-*: our connection, not its;
# - X-HTTP-Method-Override, X-Original-URL, X-Rewrite-URL, …: they change what a server does;
# - Content-Length, Transfer-Encoding and the other hop-by-hop headers: the host frames the
#   body it sends, and every header the client names in `Connection` (RFC 9110 §7.6.1);
# - Accept-Encoding: the host's HTTP client negotiates its own encoding with the upstream.
FORWARDED_REQUEST_HEADERS = frozenset({"accept", "content-type", "last-event-id", "user-agent"})
FORWARDED_REQUEST_PREFIX = "mcp-"
DROP_FROM_UPSTREAM = HOP_BY_HOP | {"set-cookie", "www-authenticate"}
ALLOWED_METHODS = ("POST", "GET", "DELETE")


class McpProxy:
    def __init__(self, settings: Settings, secrets: Secrets, tokens: TokenService) -> None:
        self._settings = settings
        self._tokens = tokens
        # Fixed per deployment: the client headers replaced and the upstream headers injected,
        # the upstream URL's own query parameters, the scopes named in the 401 challenge.
        extra = settings.upstream_extra_headers
        self._replaced = {settings.upstream_auth_header.lower()} | {name.lower() for name in extra}
        credential = settings.upstream_auth_format.replace("{token}", secrets.upstream_token)
        self._injected: Headers = [*extra.items(), (settings.upstream_auth_header, credential)]
        self._upstream_params = {
            _param_key(name)
            for name, _ in parse_qsl(urlsplit(settings.upstream_url).query, keep_blank_values=True)
        }
        # MCP 2026-07-28: challenges SHOULD name the scopes, and SHOULD NOT offline_access.
        self._scope = " ".join(s for s in settings.scopes if s != "offline_access")

    @staticmethod
    def challenge(
        issuer: str, error: str | None = None, description: str | None = None, scope: str = ""
    ) -> str:
        value = f'Bearer resource_metadata="{issuer}/.well-known/oauth-protected-resource/mcp"'
        if scope:
            value += f', scope="{scope}"'
        if error:
            value += f', error="{error}"'
        if description:
            value += f', error_description="{description}"'
        return value

    def _unauthorized(
        self, issuer: str, status: int, error: str | None, description: str
    ) -> HttpResponse:
        header = self.challenge(issuer, error, description if error else None, self._scope)
        body = {"error": error or "unauthorized", "error_description": description}
        return json_response(status, body, [("WWW-Authenticate", header)])

    async def authorize(
        self, request: HttpRequest, issuer: str, resource: str
    ) -> AccessClaims | HttpResponse:
        """The claims of the request's valid token for this resource (with its grant's
        narrowing, if any), else the error."""
        if "access_token=" in request.query:
            return self._unauthorized(
                issuer, 400, "invalid_request", "send the access token in the Authorization header"
            )
        header = request.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._unauthorized(issuer, 401, None, "authorization required")
        claims = self._tokens.read_access_token(token.strip())
        if claims is None or not exact_resource(claims.audience, resource):
            return self._unauthorized(
                issuer, 401, "invalid_token", "the access token is invalid or expired"
            )
        status = await self._tokens.grant_status(claims.grant_id)
        if status == REVOKED:
            return self._unauthorized(issuer, 401, "invalid_token", "the access token was revoked")
        claims.narrowed_to = status
        return claims

    def policy_gone(self, issuer: str) -> HttpResponse:
        """A token naming a policy this deployment no longer has: nothing is allowed, and a new
        authorization lets the owner pick one that exists."""
        return self._unauthorized(
            issuer, 401, "invalid_token", "the connection's policy no longer exists: reconnect"
        )

    def step_up_challenge(self, issuer: str, scope: str) -> str:
        """MCP step-up: the scope a refused call needs (403 `insufficient_scope`)."""
        return self.challenge(issuer, "insufficient_scope", None, scope)

    def forward(
        self, request: HttpRequest, url: str | None = None, started: float = 0.0
    ) -> Forward | HttpResponse:
        """Forward to the upstream URL (plus the client's query), or to `url` as given."""
        if request.method not in ALLOWED_METHODS:
            return json_response(
                405, {"error": "method_not_allowed"}, [("Allow", ", ".join(ALLOWED_METHODS))]
            )
        if len(request.body) > self._settings.max_request_bytes:
            return json_response(413, {"error": "request_too_large"})
        headers = self._forwarded_headers(request.headers)
        headers += self._injected
        if url is None:
            url = self._upstream_url(request.query)
        return Forward(request.method, url, headers, request.body, started)

    def _forwarded_headers(self, client_headers: dict[str, str]) -> Headers:
        """The client's headers on the allow-list, minus those its `Connection` names."""
        named = {token.strip().lower() for token in client_headers.get("connection", "").split(",")}
        return [
            (name, value)
            for name, value in client_headers.items()
            if (name in FORWARDED_REQUEST_HEADERS or name.startswith(FORWARDED_REQUEST_PREFIX))
            and name not in self._replaced
            and name not in named
        ]

    def _upstream_url(self, client_query: str) -> str:
        """The upstream URL plus the client's query parameters that it does not set itself
        (re-encoded, so no parser can read another separator into them)."""
        url = self._settings.upstream_url
        pairs = [
            (name, value)
            for name, value in parse_qsl(client_query, keep_blank_values=True)
            if _param_key(name) not in self._upstream_params
        ]
        if not pairs:
            return url
        return url + ("&" if "?" in url else "?") + urlencode(pairs)

    def upstream_response(
        self, status: int, headers: Headers, rewritten: bool = False
    ) -> HttpResponse | PassThrough:
        """The client's answer to the upstream's; `rewritten`: the body will change on its way
        (a filter, the legacy endpoint rewriter), so the upstream's Content-Length goes."""
        if status in (401, 403):
            return json_response(
                502,
                {
                    "error": "upstream_auth_failed",
                    "error_description": (
                        f"The upstream MCP server refused the PAT this server sends it (HTTP "
                        f"{status}): the PAT has expired, been revoked or lost a permission. "
                        "Your own connection is fine: signing in again will not help. Whoever "
                        "runs this server must replace the PAT with `cfmcp deploy "
                        "--new-upstream-token` (or `wrangler secret put UPSTREAM_TOKEN`)."
                    ),
                },
            )
        if 300 <= status < 400:
            log_lines.note(
                f"the upstream answered HTTP {status} (a redirect); cfmcp does not follow it"
            )
            return json_response(
                502,
                {
                    "error": "upstream_redirect",
                    "error_description": (
                        f"The upstream MCP server answered with a redirect (HTTP {status}), which "
                        "cfmcp does not follow: set the upstream URL to where it points."
                    ),
                },
            )
        kept = [
            (name, value)
            for name, value in headers
            if name.lower() not in DROP_FROM_UPSTREAM
            and not name.lower().startswith("access-control-")
            and name.lower() != "x-accel-buffering"
            and not (rewritten and name.lower() == "content-length")
        ]
        if media_type(headers) == SSE:
            kept.append(("X-Accel-Buffering", "no"))  # MCP 2026-07-28: SSE is not buffered
        return PassThrough(status, kept + cors_headers())

    @staticmethod
    def upstream_error(reason: str) -> HttpResponse:
        """The 502 for an upstream that could not be reached; `reason` is logged, not sent (it
        is internal exception text)."""
        log_lines.note(f"upstream request failed: {reason}")
        return json_response(
            502,
            {
                "error": "upstream_unreachable",
                "error_description": "cfmcp could not reach the upstream MCP server.",
            },
        )


def _param_key(name: str) -> str:
    """A query parameter's name as servers may read it: case-folded, `name[]` as `name`."""
    return name.split("[", 1)[0].strip().casefold()
