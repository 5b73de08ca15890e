"""Handlers: a Worker's live tails (`client.workers.scripts.tail.create/get/delete`)."""

from __future__ import annotations

from .envelope import ApiError, Response, ok
from .model import WORKERS_TAIL_READ
from .routing import Request, Route


def create_tail(request: Request, account_id: str, script_name: str) -> Response:
    """POST .../scripts/{name}/tails ``{"filters": [...]}`` (wrangler's body; the SDK's is
    empty) -> ``{id, url, expires_at}``; the script must exist (404 10007)."""
    request.state.script(account_id, script_name)
    if request.body:
        body = request.json_object()
        if not isinstance(body.get("filters", []), list):
            raise ApiError(400, 10021, "filters must be a list")
    tail = request.tails.create(account_id, script_name)
    return ok({"id": tail.id, "url": request.tails.url(tail), "expires_at": tail.expires_at})


def list_tails(request: Request, account_id: str, script_name: str) -> Response:
    """GET .../scripts/{name}/tails: the live (not deleted) tails."""
    request.state.script(account_id, script_name)
    live = [t for t in request.tails.of_script(script_name) if not t.deleted]
    return ok([{"id": t.id, "url": request.tails.url(t), "expires_at": t.expires_at} for t in live])


def delete_tail(request: Request, account_id: str, script_name: str, tail_id: str) -> Response:
    """DELETE .../scripts/{name}/tails/{id}: its WebSockets are closed; unknown -> 404."""
    if not request.tails.delete(account_id, script_name, tail_id):
        raise ApiError(404, 10007, "Tail not found")
    return ok(None)


_T = "/accounts/{account_id}/workers/scripts/{script_name}/tails"
ROUTES = [
    Route("POST", _T, create_tail, WORKERS_TAIL_READ),
    Route("GET", _T, list_tails, WORKERS_TAIL_READ),
    Route("DELETE", _T + "/{tail_id}", delete_tail, WORKERS_TAIL_READ),
]
