"""The MCP endpoint: bearer token check, then a `Forward` decision for the host to carry out.

The client's credentials never reach the upstream and the PAT never reaches the client: the
client's Authorization, Cookie, Cloudflare and hop-by-hop headers are dropped, the upstream
credential is injected, and an upstream 401/403 becomes a 502 (a 401 would make the client
think its own token is bad and loop through re-authorization).
"""

from __future__ import annotations

from cfmcp_worker.http_types import Forward, Headers, HttpRequest, HttpResponse, PassThrough
from cfmcp_worker.responses import cors_headers, json_response
from cfmcp_worker.settings import Secrets, Settings
from cfmcp_worker.tokens import TokenService
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
# Request headers that describe the client's connection to us, not our call to the upstream.
DROP_FROM_CLIENT = HOP_BY_HOP | {
    "authorization",
    "cookie",
    "host",
    "content-length",
    "origin",
    "referer",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "true-client-ip",
    "accept-encoding",
    "cdn-loop",
}
DROP_FROM_UPSTREAM = HOP_BY_HOP | {"set-cookie", "www-authenticate"}
ALLOWED_METHODS = ("POST", "GET", "DELETE")


class McpProxy:
    def __init__(self, settings: Settings, secrets: Secrets, tokens: TokenService) -> None:
        self._settings = settings
        self._tokens = tokens
        # Fixed per deployment: the client headers dropped and the upstream headers injected.
        extra = settings.upstream_extra_headers
        self._replaced = (
            DROP_FROM_CLIENT
            | {settings.upstream_auth_header.lower()}
            | {name.lower() for name in extra}
        )
        credential = settings.upstream_auth_format.replace("{token}", secrets.upstream_token)
        self._injected: Headers = [*extra.items(), (settings.upstream_auth_header, credential)]

    @staticmethod
    def challenge(issuer: str, error: str | None = None, description: str | None = None) -> str:
        value = f'Bearer resource_metadata="{issuer}/.well-known/oauth-protected-resource/mcp"'
        if error:
            value += f', error="{error}"'
        if description:
            value += f', error_description="{description}"'
        return value

    def _unauthorized(
        self, issuer: str, status: int, error: str | None, description: str
    ) -> HttpResponse:
        header = self.challenge(issuer, error, description if error else None)
        body = {"error": error or "unauthorized", "error_description": description}
        return json_response(status, body, [("WWW-Authenticate", header)])

    async def authorize(
        self, request: HttpRequest, issuer: str, resource: str
    ) -> HttpResponse | None:
        """None when the request carries a valid token for this resource, else the error."""
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
        if await self._tokens.is_revoked(claims.grant_id):
            return self._unauthorized(issuer, 401, "invalid_token", "the access token was revoked")
        return None

    def forward(self, request: HttpRequest) -> Forward | HttpResponse:
        if request.method not in ALLOWED_METHODS:
            return json_response(
                405, {"error": "method_not_allowed"}, [("Allow", ", ".join(ALLOWED_METHODS))]
            )
        if len(request.body) > self._settings.max_request_bytes:
            return json_response(413, {"error": "request_too_large"})
        headers: Headers = [
            (name, value)
            for name, value in request.headers.items()
            if name not in self._replaced and not name.startswith("cf-")
        ]
        headers += self._injected
        url = self._settings.upstream_url
        if request.query:
            url += ("&" if "?" in url else "?") + request.query
        return Forward(request.method, url, headers, request.body)

    def upstream_response(self, status: int, headers: Headers) -> HttpResponse | PassThrough:
        if status in (401, 403):
            return json_response(
                502,
                {
                    "error": "upstream_auth_failed",
                    "error_description": (
                        f"The upstream MCP server refused cfmcp's credential (HTTP {status}): the "
                        "upstream token (PAT) has probably expired or been revoked. Set a new one "
                        "with `cfmcp deploy --new-upstream-token` "
                        "(or `wrangler secret put UPSTREAM_TOKEN`)."
                    ),
                },
            )
        kept = [
            (name, value)
            for name, value in headers
            if name.lower() not in DROP_FROM_UPSTREAM
            and not name.lower().startswith("access-control-")
        ]
        return PassThrough(status, kept + cors_headers())

    @staticmethod
    def upstream_error(reason: str) -> HttpResponse:
        return json_response(
            502,
            {
                "error": "upstream_unreachable",
                "error_description": f"cfmcp could not reach the upstream MCP server: {reason}",
            },
        )
