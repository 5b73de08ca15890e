"""The authorization endpoint: validate the request, show the consent page, check the PIN.

Errors in an authorization request are shown on a page, never redirected to the client's
redirect URI: a self-registered client could otherwise use the Worker as an open redirector
(RFC 9700 §4.11.2). The only redirects answer what the person did on the consent page (a code
after Approve, `access_denied` after Deny). The consent form carries one signed `request` token
binding every parameter of this authorization request (it is the CSRF token: a form posted with
altered parameters fails its signature), and cross-site posts are refused by Origin.
"""

from __future__ import annotations

from cfmcp_worker import pages
from cfmcp_worker.clients import Client, ClientRegistry
from cfmcp_worker.crypto import Signer, constant_time_equals, normalized_pin
from cfmcp_worker.forms import FormError, parse_form_body, parse_params
from cfmcp_worker.http_types import HttpRequest, HttpResponse
from cfmcp_worker.pin_guard import PinGuard
from cfmcp_worker.policy import Policies
from cfmcp_worker.responses import redirect
from cfmcp_worker.tokens import CodeGrant, TokenService
from cfmcp_worker.urls import add_query, redirect_uri_problem, same_resource

REQUEST_PREFIX = "cfreq"
REQUEST_TTL_SECONDS = 600
MAX_STATE_LENGTH = 2048
_CHALLENGE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class Endpoints:
    """This server's issuer and MCP resource URL for one request."""

    __slots__ = ("issuer", "resource")

    def __init__(self, issuer: str, resource: str) -> None:
        self.issuer = issuer
        self.resource = resource


def grant_scope(requested: str | None, supported: tuple[str, ...]) -> str:
    """The supported subset of what the client asked for, or all supported scopes if none."""
    asked = (requested or "").split()
    granted = [scope for scope in supported if scope in asked]
    return " ".join(granted or supported)


class AuthorizationEndpoint:
    def __init__(
        self,
        signer: Signer,
        clients: ClientRegistry,
        tokens: TokenService,
        guard: PinGuard,
        pin: str,
        supported_scopes: tuple[str, ...],
        policies: Policies,
    ) -> None:
        self._signer = signer
        self._clients = clients
        self._tokens = tokens
        self._guard = guard
        self._pin = normalized_pin(pin)
        self._scopes = supported_scopes
        self._policies = policies

    async def show(self, request: HttpRequest, where: Endpoints) -> HttpResponse:
        try:
            params = parse_params(request.query)
        except FormError as exc:
            return pages.error(f"Invalid authorization request: {exc}.")
        client_id = params.get("client_id")
        client = await self._clients.resolve(client_id)
        if client is not None and request.line is not None:
            request.line.client = client.name
        if client is None:
            problem = self._clients.metadata_document_problem(client_id)
            if problem:
                return pages.error(f"Cannot connect this client: {problem}")
            return pages.error("Unknown client. Reconnect from your MCP client to register again.")
        redirect_uri = params.get("redirect_uri")
        if redirect_uri is None and len(client.redirect_uris) == 1:
            redirect_uri = client.redirect_uris[0]
        if not redirect_uri:
            return pages.error("The authorization request has no redirect URI.")
        problem = redirect_uri_problem(redirect_uri)
        if problem:
            return pages.error(f"The redirect URI is refused: {problem}.")
        if not client.allows_redirect(redirect_uri):
            return pages.error("The redirect URI is not registered for this client.")
        state = params.get("state")
        if state is not None and len(state) > MAX_STATE_LENGTH:
            return pages.error("The state parameter is too long.")
        refused = self._request_problem(params, where)
        if refused:
            return pages.error(
                f"The client's authorization request is invalid: {refused[1]} ({refused[0]}). "
                "Nothing was sent back to the client."
            )
        challenge = params["code_challenge"]
        scope = grant_scope(params.get("scope"), self._scopes)
        offered, asked = self._policies.preselected(params.get("scope"), redirect_uri)
        token = self._signer.sign(
            REQUEST_PREFIX,
            {
                "c": client.client_id,
                "r": redirect_uri,
                "st": state,
                "pc": challenge,
                "res": where.resource,
                "s": scope,  # the generic scopes granted; the policy is chosen on the page
                "p": offered.name,  # the policy preselected
                "a": asked.name if asked else None,  # a wider one the client asks for
                "exp": self._tokens.now() + REQUEST_TTL_SECONDS,
            },
        )
        return self._consent_page(
            client, redirect_uri, token, offered.name, asked.name if asked else None
        )

    @staticmethod
    def _request_problem(params: dict[str, str], where: Endpoints) -> tuple[str, str] | None:
        """(error, description) for a request that cannot be granted, or None."""
        if params.get("response_type") != "code":
            return "unsupported_response_type", "response_type must be code"
        challenge = params.get("code_challenge", "")
        if not challenge:
            return "invalid_request", "code_challenge is required (PKCE)"
        if params.get("code_challenge_method") != "S256":
            return "invalid_request", "code_challenge_method must be S256"
        if not 43 <= len(challenge) <= 128 or not set(challenge) <= _CHALLENGE_CHARS:
            return "invalid_request", "code_challenge is malformed"
        resource = params.get("resource")
        if resource is not None and not same_resource(resource, where.resource):
            return "invalid_target", f"resource must be {where.resource}"
        return None

    async def submit(self, request: HttpRequest, where: Endpoints) -> HttpResponse:
        if _is_cross_site(request):
            return pages.error("This form can only be submitted from its own page.", 403)
        try:
            form = parse_form_body(request.body, request.header("content-type"))
        except FormError as exc:
            return pages.error(f"Invalid form: {exc}.")
        req = self._signer.verify(REQUEST_PREFIX, form.get("request", ""))
        if req is None or req.get("exp", 0) < self._tokens.now():
            return pages.error(
                "This authorization request is invalid or has expired. "
                "Start again from your MCP client."
            )
        client = await self._clients.resolve(req["c"])
        if client is not None and request.line is not None:
            request.line.client = client.name
        if client is None or not client.allows_redirect(req["r"]):
            return pages.error("Unknown client. Reconnect from your MCP client.")
        if form.get("action") == "deny":
            return _redirect_error(
                req["r"], "access_denied", "the user denied access", req["st"], where.issuer
            )
        # The page always sends its checked choice; a form without one gets what the page
        # showed checked. Decided before the PIN is checked: a bad form costs no attempt.
        policy = self._policies.get(form.get("policy", req["p"]))
        if policy is None:
            return self._consent_page(
                client,
                req["r"],
                form["request"],
                req["p"],
                req.get("a"),
                "Choose the access to give.",
                400,
            )
        verdict = await self._guard.attempt(
            request.client_ip,
            constant_time_equals(normalized_pin(form.get("pin", "")), self._pin),
            form["request"],
            int(req["exp"]),
        )
        if not verdict.ok:
            if verdict.spent:  # the form was already used: nothing to retry here
                return pages.error(verdict.message)
            return self._consent_page(
                client,
                req["r"],
                form["request"],
                policy.name,
                req.get("a"),
                verdict.message,
                verdict.status,
            )
        scope = f"{req['s']} {policy.scope}".strip()
        code = self._tokens.issue_code(
            CodeGrant(client.client_id, req["r"], req["pc"], req["res"], scope), where.issuer
        )
        params = {"code": code}
        if req["st"] is not None:
            params["state"] = req["st"]
        params["iss"] = where.issuer
        return redirect(add_query(req["r"], params))

    def _consent_page(
        self,
        client: Client,
        redirect_uri: str,
        request_token: str,
        chosen: str,
        asked: str | None,
        error: str = "",
        status: int = 200,
    ) -> HttpResponse:
        return pages.consent(
            client_name=client.name,
            vouched_by=client.vouched_by,
            redirect_uri=redirect_uri,
            policies=[(policy.name, policy.in_words()) for policy in self._policies.named.values()],
            chosen=chosen,
            asked=asked,
            request_token=request_token,
            error=error,
            status=status,
        )


def _is_cross_site(request: HttpRequest) -> bool:
    """Refuse a consent POST from anywhere but the consent page itself. `Origin: null` (a
    sandboxed frame, a data: URL, a file) is refused too: the pages' `Referrer-Policy:
    same-origin` makes browsers send the real origin on the page's own POST."""
    origin = request.header("origin")
    if origin and origin.rstrip("/") != request.origin:
        return True
    return request.header("sec-fetch-site") == "cross-site"


def _redirect_error(
    redirect_uri: str, error: str, description: str, state: str | None, issuer: str
) -> HttpResponse:
    params = {"error": error, "error_description": description}
    if state is not None:
        params["state"] = state
    params["iss"] = issuer
    return redirect(add_query(redirect_uri, params))
