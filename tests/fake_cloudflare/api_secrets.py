"""Handlers: Worker secrets (each change is a new version of the Worker)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from .api_scripts import activate
from .envelope import ApiError, Response, ok
from .model import WORKERS_SCRIPTS_EDIT, WORKERS_SCRIPTS_READ, Script, now_iso
from .routing import Request, Route
from .validation import check_secret_name


def _with_bindings(script: Script, bindings: list[dict[str, Any]]) -> Script:
    updated = copy.copy(script)
    updated.bindings = bindings
    updated.versions = [*script.versions, uuid.uuid4().hex]
    updated.modified_on = now_iso()
    return updated


def put_secret(request: Request, account_id: str, script_name: str) -> Response:
    """PUT .../scripts/{name}/secrets ``{"name","text","type":"secret_text"}`` (new version)."""
    script = request.state.script(account_id, script_name)
    body = request.json_object()
    name = check_secret_name(body.get("name"))
    if body.get("type") != "secret_text":
        raise ApiError(400, 10021, "This fake supports secrets of type 'secret_text' only")
    text = body.get("text")
    if not isinstance(text, str):
        raise ApiError(400, 10021, "secret 'text' must be a string")
    clash = next((b for b in script.bindings if b["name"] == name), None)
    if clash is not None and clash["type"] != "secret_text":
        raise ApiError(
            400, 10053, f"Binding name '{name}' already in use by a {clash['type']} binding"
        )
    bindings = [b for b in script.bindings if b["name"] != name]
    bindings.append({"name": name, "type": "secret_text", "text": text})
    updated = _with_bindings(script, bindings)
    activate(request, updated)
    request.state.put_script(updated)
    return ok({"name": name, "type": "secret_text"})


def list_secrets(request: Request, account_id: str, script_name: str) -> Response:
    """GET .../scripts/{name}/secrets: names and types only."""
    script = request.state.script(account_id, script_name)
    return ok([{"name": n, "type": "secret_text"} for n in script.secrets()])


def get_secret(request: Request, account_id: str, script_name: str, secret_name: str) -> Response:
    """GET .../scripts/{name}/secrets/{secret}: name and type (never the value)."""
    script = request.state.script(account_id, script_name)
    if secret_name not in script.secrets():
        raise ApiError(404, 10056, f"Secret '{secret_name}' not found")
    return ok({"name": secret_name, "type": "secret_text"})


def delete_secret(
    request: Request, account_id: str, script_name: str, secret_name: str
) -> Response:
    """DELETE .../scripts/{name}/secrets/{secret}."""
    script = request.state.script(account_id, script_name)
    if secret_name not in script.secrets():
        raise ApiError(404, 10056, f"Secret '{secret_name}' not found")
    updated = _with_bindings(script, [b for b in script.bindings if b["name"] != secret_name])
    activate(request, updated)
    request.state.put_script(updated)
    return ok(None)


_S = "/accounts/{account_id}/workers/scripts/{script_name}"
ROUTES = [
    Route("PUT", _S + "/secrets", put_secret, WORKERS_SCRIPTS_EDIT, mutates=True),
    Route("GET", _S + "/secrets", list_secrets, WORKERS_SCRIPTS_READ),
    Route("GET", _S + "/secrets/{secret_name}", get_secret, WORKERS_SCRIPTS_READ),
    Route(
        "DELETE", _S + "/secrets/{secret_name}", delete_secret, WORKERS_SCRIPTS_EDIT, mutates=True
    ),
]
