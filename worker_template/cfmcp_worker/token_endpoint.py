"""The token endpoint (authorization_code with PKCE, refresh_token) and revocation (RFC 7009)."""

from __future__ import annotations

import re

from cfmcp_worker.clients import Client, ClientRegistry, client_id_from_request
from cfmcp_worker.crypto import pkce_s256
from cfmcp_worker.forms import FormError, parse_form_body
from cfmcp_worker.http_types import HttpRequest, HttpResponse
from cfmcp_worker.log_lines import short_grant
from cfmcp_worker.responses import NO_STORE, json_response, oauth_error
from cfmcp_worker.tokens import GrantError, IssuedTokens, TokenService
from cfmcp_worker.urls import same_resource

_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


class TokenEndpoint:
    def __init__(
        self, clients: ClientRegistry, tokens: TokenService, issuer: str, resource: str
    ) -> None:
        self._clients = clients
        self._tokens = tokens
        self._issuer = issuer
        self._resource = resource

    async def _authenticated_form(
        self, request: HttpRequest
    ) -> tuple[Client, dict[str, str]] | HttpResponse:
        """The parsed form and the client it authenticates, or the error to answer."""
        try:
            form = parse_form_body(request.body, request.header("content-type"))
        except FormError as exc:
            return oauth_error(400, "invalid_request", str(exc))
        auth = request.header("authorization")
        client = await self._clients.resolve(client_id_from_request(auth, form))
        if client is None or not self._clients.authenticate(client, auth, form):
            challenge = [("WWW-Authenticate", 'Basic realm="cfmcp"')] if auth else []
            return oauth_error(401, "invalid_client", "client authentication failed", challenge)
        if request.line is not None:
            request.line.client = client.name
        return client, form

    async def token(self, request: HttpRequest) -> HttpResponse:
        checked = await self._authenticated_form(request)
        if isinstance(checked, HttpResponse):
            return checked
        client, form = checked
        grant_type = form.get("grant_type")
        if grant_type in ("authorization_code", "refresh_token"):
            if grant_type == "authorization_code":
                issued = await self._authorization_code(client, form)
            else:
                issued = await self._refresh(client, form)
            if isinstance(issued, HttpResponse):
                return issued
            if request.line is not None:
                request.line.grant = short_grant(issued.grant_id)
            return json_response(200, issued.response_body(), NO_STORE)
        return oauth_error(
            400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token"
        )

    async def _authorization_code(
        self, client: Client, form: dict[str, str]
    ) -> IssuedTokens | HttpResponse:
        code = form.get("code", "")
        grant = self._tokens.read_code(code, self._issuer)
        if grant is None or grant.client_id != client.client_id:
            return oauth_error(400, "invalid_grant", "the code is invalid or expired")
        if form.get("redirect_uri") != grant.redirect_uri:
            return oauth_error(400, "invalid_grant", "redirect_uri does not match the code")
        verifier = form.get("code_verifier", "")
        if not _VERIFIER.match(verifier) or pkce_s256(verifier) != grant.code_challenge:
            return oauth_error(400, "invalid_grant", "PKCE verification failed")
        resource = form.get("resource")
        if resource is not None and not same_resource(resource, grant.resource):
            return oauth_error(400, "invalid_target", "resource does not match the code")
        try:
            return await self._tokens.redeem_code(code, grant, client.name)
        except GrantError as exc:
            return oauth_error(400, exc.error, exc.description)

    async def _refresh(self, client: Client, form: dict[str, str]) -> IssuedTokens | HttpResponse:
        resource = form.get("resource")
        if resource is not None and not same_resource(resource, self._resource):
            return oauth_error(400, "invalid_target", f"resource must be {self._resource}")
        try:
            return await self._tokens.refresh(
                form.get("refresh_token", ""), client.client_id, form.get("scope")
            )
        except GrantError as exc:
            return oauth_error(400, exc.error, exc.description)

    async def revoke(self, request: HttpRequest) -> HttpResponse:
        """RFC 7009: 200 for unknown tokens; only the owning client's tokens are revoked."""
        checked = await self._authenticated_form(request)
        if isinstance(checked, HttpResponse):
            return checked
        client, form = checked
        token = form.get("token", "")
        grant_id, owner = await self._tokens.grant_owner(token)
        if grant_id and owner == client.client_id:
            await self._tokens.revoke_grant(grant_id)
        return json_response(200, {}, NO_STORE)
