"""Objects holding credentials keep them out of their repr (tracebacks, logs, debuggers)."""

from __future__ import annotations

from tests.core.conftest import PAT, PIN, SIGNING_KEY
from tests.core.flow import (
    authorize_query,
    body_json,
    call,
    code_form,
    get_code,
    pkce_pair,
    redirect_params,
    register,
    request,
    request_token_from,
    submit_pin,
    token_request,
)


async def test_token_responses_and_what_holds_tokens_have_redacted_reprs(app, core):
    client = await register(app, core, token_endpoint_auth_method="client_secret_post")
    code, verifier = await get_code(app, core, client)
    form = code_form(client, code, verifier, client_secret=client["client_secret"])
    response = await token_request(app, core, form)
    tokens = body_json(response)
    _, challenge = pkce_pair()
    page = await call(
        app, core, "GET", "/authorize?" + authorize_query(client["client_id"], challenge)
    )
    code_redirect = await submit_pin(app, core, request_token_from(page.body))
    bearer = {"authorization": f"Bearer {tokens['access_token']}"}
    tokens_mod = __import__("cfmcp_worker.tokens", fromlist=["IssuedTokens"])
    settings_mod = __import__("cfmcp_worker.settings", fromlist=["Secrets"])
    holders = [
        response,  # the token response itself
        tokens_mod.IssuedTokens(tokens["access_token"], tokens["refresh_token"], 60, "mcp"),
        code_redirect,
        await app.handle(request(core, "POST", "/mcp", headers=bearer)),  # a Forward
        app.upstream_response(request(core, "GET", "/mcp"), 200, [("Mcp-Session-Id", "sess")]),
        settings_mod.Secrets(PAT, PIN, SIGNING_KEY),
        request(core, "POST", "/token", headers=bearer, body=urlencoded(tokens)),
    ]
    secrets = [
        tokens["access_token"],
        tokens["refresh_token"],
        code,
        redirect_params(code_redirect)["code"],
        client["client_secret"],
        PAT,
        PIN,
        SIGNING_KEY,
        "sess",
    ]
    for holder in holders:
        text = repr(holder)
        leaked = [secret for secret in secrets if secret in text]
        assert not leaked, f"{type(holder).__name__} shows {leaked}: {text}"


def urlencoded(tokens: dict) -> bytes:
    return f"grant_type=refresh_token&refresh_token={tokens['refresh_token']}".encode()
