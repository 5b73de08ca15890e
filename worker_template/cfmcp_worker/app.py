"""WorkerApp: routes a request to the OAuth endpoints or the MCP proxy (see CONTRACTS.md).

Only the MCP endpoint is proxied; every other path that is not an OAuth endpoint is a 404, so
the PAT never becomes a key to the upstream host's other paths. Every request logs one
`request` line (`log_lines.py`) when its answer is known; an exception in the core is logged
without its message and answered with a 500.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Any

from cfmcp_worker import audit, log_lines, metadata
from cfmcp_worker.authorize import AuthorizationEndpoint, Endpoints
from cfmcp_worker.clients import ClientRegistry, MetadataFetcher, RegistrationError
from cfmcp_worker.crypto import Signer
from cfmcp_worker.exact import ExactClient
from cfmcp_worker.gate import SendUpstream, ToolGate
from cfmcp_worker.http_types import (
    Forward,
    Headers,
    HttpRequest,
    HttpResponse,
    PassThrough,
    media_type,
)
from cfmcp_worker.kv import KvStore
from cfmcp_worker.legacy_sse import MESSAGE_PATH, LegacySse
from cfmcp_worker.pat_watch import PatWatch
from cfmcp_worker.pin_guard import PinGuard
from cfmcp_worker.policy import Policies
from cfmcp_worker.proxy import McpProxy
from cfmcp_worker.responses import (
    NO_STORE,
    json_response,
    method_not_allowed,
    not_found,
    oauth_error,
    preflight,
    server_error,
)
from cfmcp_worker.settings import Secrets, Settings
from cfmcp_worker.token_endpoint import TokenEndpoint
from cfmcp_worker.tokens import TokenService
from cfmcp_worker.urls import MCP_PATH

PRM_PATHS = ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource")
ASM_PATHS = (
    "/.well-known/oauth-authorization-server",
    "/.well-known/oauth-authorization-server/mcp",
)
# Names the deployed bundle on the metadata responses, so `cfmcp deploy` can wait until the new
# version answers rather than the previous one (the hash names code, it is no secret).
BUNDLE_HEADER = "Cfmcp-Bundle"
CORS_PATHS = frozenset(
    {*PRM_PATHS, *ASM_PATHS, "/register", "/token", "/revoke", MCP_PATH, MESSAGE_PATH}
)


class WorkerApp:
    """The Worker's request handler, independent of the host it runs on."""

    def __init__(
        self,
        settings: Settings,
        secrets: Secrets,
        kv: KvStore,
        exact_state: ExactClient,
        fetch_metadata: MetadataFetcher | None = None,
        clock: Callable[[], float] = time.time,
        send_upstream: SendUpstream | None = None,
        bundle_sha256: str = "",
    ) -> None:
        for name in ("upstream_token", "pin", "signing_key"):
            if not getattr(secrets, name):
                raise ValueError(f"secret {name} is not set")
        self.settings = settings
        self.bundle_sha256 = bundle_sha256
        signer = Signer(secrets.signing_key)
        self.policies = Policies(
            settings.policies, settings.default_policy, settings.client_policies
        )
        self.tokens = TokenService(
            signer,
            kv,
            exact_state,
            code_ttl=settings.code_ttl,
            access_ttl=settings.access_token_ttl,
            refresh_ttl=settings.refresh_token_ttl,
            refresh_grace=settings.refresh_grace_seconds,
            narrow=self.policies.narrowed_scope,
            clock=clock,
        )
        self.clients = ClientRegistry(signer, fetch_metadata, clock)
        guard = PinGuard(exact_state, signer, clock=clock)
        self.authorization = AuthorizationEndpoint(
            signer, self.clients, self.tokens, guard, secrets.pin, settings.scopes, self.policies
        )
        self.proxy = McpProxy(settings, secrets, self.tokens)
        self.pat_watch = PatWatch(kv, clock)
        self.gate = ToolGate(self.policies, send_upstream, settings.max_request_bytes, clock)
        self._clock = clock
        # Legacy HTTP+SSE upstreams only (settings.upstream_transport == "sse").
        self.legacy_sse = (
            LegacySse(signer, settings.upstream_url)
            if settings.upstream_transport == "sse"
            else None
        )

    def endpoints(self, request: HttpRequest) -> Endpoints:
        issuer = self.settings.public_url or request.origin
        return Endpoints(issuer=issuer, resource=issuer + MCP_PATH)

    async def handle(self, request: HttpRequest) -> HttpResponse | Forward:
        """The answer to `request`, or the Forward whose answer `upstream_response` (or
        `upstream_error`) will decide; the request's log line is written with the answer."""
        path = request.path
        line = request.line = log_lines.RequestLine(request.method, path, self._clock())
        try:
            result = await self._route(request, path)
        except Exception as exc:  # a bug: logged without its message, which may quote input
            log_lines.error(exc)
            result = server_error()
        if isinstance(result, HttpResponse):
            line.finish(result.status, self._clock())
        return result

    async def _route(self, request: HttpRequest, path: str) -> HttpResponse | Forward:
        method = request.method
        if method == "OPTIONS" and path in CORS_PATHS:
            return preflight()
        where = self.endpoints(request)
        if path == MCP_PATH or (path == MESSAGE_PATH and self.legacy_sse is not None):
            return await self._mcp(request, where)
        if path in PRM_PATHS or path in ASM_PATHS:
            if method not in ("GET", "HEAD"):
                return method_not_allowed("GET")
            return self._metadata(path, where)
        if path == "/authorize":
            if method == "GET":
                return await self.authorization.show(request, where)
            if method == "POST":
                return await self.authorization.submit(request, where)
            return method_not_allowed("GET, POST")
        if path in ("/register", "/token", "/revoke"):
            if method != "POST":
                return method_not_allowed("POST")
            return await self._post_endpoint(path, request, where)
        return not_found()

    async def _mcp(self, request: HttpRequest, where: Endpoints) -> HttpResponse | Forward:
        """/mcp (and a legacy upstream's /mcp/message): the bearer check, the connection's
        policy, then the Forward. On a legacy SSE upstream the GET stream carries a rewriter
        of its `endpoint` event, and POST /mcp/message reaches only the endpoint the upstream
        announced (signed into the URL by that rewriter)."""
        claims = await self.proxy.authorize(request, where.issuer, where.resource)
        if isinstance(claims, HttpResponse):
            return claims
        line = request.line  # set by handle
        line.client = client = self.clients.name_of(claims.client_id)
        line.grant = claims.grant_id[: log_lines.GRANT_SHOWN]
        method = line.mcp_method = request.headers.get("mcp-method")
        if method == "tools/call":
            line.tool = request.headers.get("mcp-name")
        chain = self.gate.chain_for(claims.scope, claims.narrowed_to)
        if chain is None:
            return self.proxy.policy_gone(where.issuer)
        line.policy = chain.name
        message = request.path == MESSAGE_PATH
        stream = self.legacy_sse is not None and request.method == "GET" and not message
        if message:
            if request.method != "POST":
                return method_not_allowed("POST")
            url = self.legacy_sse.message_url(request, claims.grant_id)
            if url is None:
                return self.legacy_sse.refused()
            forward = self.proxy.forward(request, url, self._clock())
        else:
            forward = self.proxy.forward(request, started=self._clock())
            if stream:
                forward = self.legacy_sse.stream(forward, claims.grant_id)
        if isinstance(forward, HttpResponse):
            return forward
        return await self.gate.admit(
            request,
            forward,
            chain,
            audit.Caller(claims.grant_id, client),
            lambda scope: self.proxy.step_up_challenge(where.issuer, scope),
            legacy_message=message,
        )

    def _metadata(self, path: str, where: Endpoints) -> HttpResponse:
        scopes = (*self.settings.scopes, *self.policies.scopes)
        if path in PRM_PATHS:
            body = metadata.protected_resource_metadata(
                where.resource, where.issuer, scopes, self.settings.server_name
            )
        else:
            body = metadata.authorization_server_metadata(where.issuer, scopes)
        headers = [("Cache-Control", "public, max-age=300")]
        if self.bundle_sha256:
            headers.append((BUNDLE_HEADER, self.bundle_sha256))
        return json_response(200, body, headers)

    async def _post_endpoint(
        self, path: str, request: HttpRequest, where: Endpoints
    ) -> HttpResponse:
        if path == "/register":
            try:
                registration = self.clients.register(request.body)
            except RegistrationError as exc:
                return oauth_error(400, exc.error, exc.description)
            if request.line is not None:
                request.line.client = registration["client_name"]
            return json_response(201, registration, NO_STORE)
        endpoint = TokenEndpoint(self.clients, self.tokens, where.issuer, where.resource)
        if path == "/token":
            return await endpoint.token(request)
        return await endpoint.revoke(request)

    def upstream_response(
        self, request: HttpRequest, status: int, headers: Headers, forward: Forward | None = None
    ) -> HttpResponse | PassThrough:
        """What the client gets for the upstream's answer to `forward` (hosts pass the Forward
        they sent: its audit lines are written now, and a rewritten body loses its length).
        The request's line is written now too: a streamed answer's time is its headers'."""
        self._audit(forward, status)
        self.pat_watch.observe(status, headers)
        rewrite = forward.rewrite if forward is not None else None
        if rewrite is not None and hasattr(rewrite, "begin"):
            rewrite.begin(media_type(headers))
        verdict = self.proxy.upstream_response(status, headers, rewrite is not None)
        if request.line is not None:
            streamed = isinstance(verdict, PassThrough)
            request.line.finish(verdict.status, self._clock(), streamed)
        return verdict

    def background_work(self) -> Coroutine[Any, Any, None] | None:
        """Work for the host to run after the response, without the client waiting for it
        (Workers: `ctx.waitUntil`): the KV record of what the upstream said of the PAT, when
        that changed (pat_watch.py). None almost always; ask after each `upstream_response`."""
        return self.pat_watch.take()

    def upstream_error(
        self, request: HttpRequest, reason: str, forward: Forward | None = None
    ) -> HttpResponse:
        self._audit(forward, None)
        response = self.proxy.upstream_error(reason)
        if request.line is not None:
            request.line.finish(response.status, self._clock())
        return response

    def _audit(self, forward: Forward | None, status: int | None) -> None:
        if forward is None or not forward.audit:
            return
        elapsed_ms = (self._clock() - forward.started) * 1000
        for caller, tool, policy in forward.audit:
            caller.log(tool, policy, False, status, elapsed_ms)
