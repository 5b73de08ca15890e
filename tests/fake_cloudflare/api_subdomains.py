"""Handlers: the account's workers.dev subdomain and each Worker's workers.dev switch."""

from __future__ import annotations

from .envelope import ApiError, Response, ok
from .model import WORKERS_SCRIPTS_EDIT, WORKERS_SCRIPTS_READ, Script
from .routing import Request, Route


def _account_subdomain(request: Request, account_id: str) -> str:
    request.state.account(account_id)
    subdomain = request.state.workers_subdomains.get(account_id)
    if not subdomain:
        raise ApiError(404, 10007, "This account has no workers.dev subdomain yet")
    return subdomain


def get_account_subdomain(request: Request, account_id: str) -> Response:
    """GET /accounts/{id}/workers/subdomain."""
    return ok({"subdomain": _account_subdomain(request, account_id)})


def put_account_subdomain(request: Request, account_id: str) -> Response:
    """PUT /accounts/{id}/workers/subdomain ``{"subdomain"}``."""
    request.state.account(account_id)
    subdomain = request.json_object().get("subdomain")
    if not isinstance(subdomain, str) or not subdomain:
        raise ApiError(400, 10021, "subdomain must be a non-empty string")
    request.state.workers_subdomains[account_id] = subdomain
    return ok({"subdomain": subdomain})


def _subdomain_state(script: Script) -> Response:
    return ok({"enabled": script.subdomain_enabled, "previews_enabled": script.previews_enabled})


def get_script_subdomain(request: Request, account_id: str, script_name: str) -> Response:
    """GET .../scripts/{name}/subdomain."""
    return _subdomain_state(request.state.script(account_id, script_name))


def post_script_subdomain(request: Request, account_id: str, script_name: str) -> Response:
    """POST .../scripts/{name}/subdomain ``{"enabled": bool, "previews_enabled"?}``."""
    script = request.state.script(account_id, script_name)
    body = request.json_object()
    if not isinstance(body.get("enabled"), bool):
        raise ApiError(400, 10021, "'enabled' must be a boolean")
    if body["enabled"]:
        _account_subdomain(request, account_id)
    script.subdomain_enabled = body["enabled"]
    previews = body.get("previews_enabled")
    script.previews_enabled = previews if isinstance(previews, bool) else body["enabled"]
    return _subdomain_state(script)


def delete_script_subdomain(request: Request, account_id: str, script_name: str) -> Response:
    """DELETE .../scripts/{name}/subdomain."""
    script = request.state.script(account_id, script_name)
    script.subdomain_enabled = script.previews_enabled = False
    return _subdomain_state(script)


_S = "/accounts/{account_id}/workers/scripts/{script_name}"
ROUTES = [
    Route("GET", _S + "/subdomain", get_script_subdomain, WORKERS_SCRIPTS_READ),
    Route("POST", _S + "/subdomain", post_script_subdomain, WORKERS_SCRIPTS_EDIT, mutates=True),
    Route("DELETE", _S + "/subdomain", delete_script_subdomain, WORKERS_SCRIPTS_EDIT, mutates=True),
    Route(
        "GET",
        "/accounts/{account_id}/workers/subdomain",
        get_account_subdomain,
        WORKERS_SCRIPTS_READ,
    ),
    Route(
        "PUT",
        "/accounts/{account_id}/workers/subdomain",
        put_account_subdomain,
        WORKERS_SCRIPTS_EDIT,
        mutates=True,
    ),
]
