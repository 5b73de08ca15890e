"""Handlers: Workers KV namespaces, keys and values."""

from __future__ import annotations

import json
import time
from typing import Any

from . import multipart
from .envelope import ApiError, Response, int_param, ok, paginate
from .model import WORKERS_KV_EDIT, WORKERS_KV_READ, KvEntry, KvNamespace
from .routing import Request, Route

MAX_KEY_BYTES = 512
MIN_TTL = 60


def _title(body: dict[str, Any]) -> str:
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ApiError(400, 10019, "title is required and must be a non-empty string")
    if len(title.encode()) > 512:
        raise ApiError(400, 10019, "title must be at most 512 bytes")
    return title


def _check_unique(request: Request, account_id: str, title: str) -> None:
    if any(ns.title == title for ns in request.state.namespaces_in(account_id)):
        raise ApiError(400, 10014, "a namespace with this account ID and title already exists")


def list_namespaces(request: Request, account_id: str) -> Response:
    """GET /accounts/{id}/storage/kv/namespaces (page/per_page, order, direction)."""
    request.state.account(account_id)
    items = [ns.to_api() for ns in request.state.namespaces_in(account_id)]
    order = request.query.get("order")
    if order in ("id", "title"):
        items.sort(key=lambda n: n[order], reverse=request.query.get("direction") == "desc")
    return paginate(items, request.query, default_per_page=20, max_per_page=100)


def create_namespace(request: Request, account_id: str) -> Response:
    """POST /accounts/{id}/storage/kv/namespaces ``{"title"}`` (titles are unique)."""
    request.state.account(account_id)
    title = _title(request.json_object())
    _check_unique(request, account_id, title)
    ns = KvNamespace(request.state.new_id(), title, account_id)
    request.state.kv_namespaces[ns.id] = ns
    return ok(ns.to_api())


def get_namespace(request: Request, account_id: str, namespace_id: str) -> Response:
    """GET /accounts/{id}/storage/kv/namespaces/{ns}."""
    return ok(request.state.namespace(account_id, namespace_id).to_api())


def rename_namespace(request: Request, account_id: str, namespace_id: str) -> Response:
    """PUT /accounts/{id}/storage/kv/namespaces/{ns} ``{"title"}``."""
    ns = request.state.namespace(account_id, namespace_id)
    title = _title(request.json_object())
    if title != ns.title:
        _check_unique(request, account_id, title)
    ns.title = title
    return ok(ns.to_api())


def delete_namespace(request: Request, account_id: str, namespace_id: str) -> Response:
    """DELETE /accounts/{id}/storage/kv/namespaces/{ns}."""
    ns = request.state.namespace(account_id, namespace_id)
    request.state.kv.drop(ns)
    del request.state.kv_namespaces[namespace_id]
    return ok({})


def _key(key: str) -> str:
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ApiError(414, 10033, f"Key name exceeds the maximum of {MAX_KEY_BYTES} bytes")
    if key in ("", ".", ".."):
        raise ApiError(400, 10032, "Illegal key name")
    return key


def list_keys(request: Request, account_id: str, namespace_id: str) -> Response:
    """GET .../keys?prefix=&limit=&cursor= (cursor pagination, sorted by name)."""
    ns = request.state.namespace(account_id, namespace_id)
    limit = int_param(request.query, "limit", 1000, lo=10, hi=1000)
    prefix = request.query.get("prefix", "")
    entries = request.state.kv.entries(ns)
    names = sorted((k for k in entries if k.startswith(prefix)), key=lambda k: k.encode())
    cursor = request.query.get("cursor") or ""
    start = 0
    if cursor:
        if not cursor.startswith("c:"):
            raise ApiError(400, 10024, "Invalid cursor")
        start = int(cursor[2:])
    chunk = names[start : start + limit]
    next_cursor = f"c:{start + limit}" if start + limit < len(names) else ""
    result = []
    for name in chunk:
        entry = entries[name]
        item: dict[str, Any] = {"name": name}
        if entry.expiration is not None:
            item["expiration"] = int(entry.expiration)
        if entry.metadata is not None:
            item["metadata"] = entry.metadata
        result.append(item)
    return ok(result, result_info={"count": len(result), "cursor": next_cursor})


def get_value(request: Request, account_id: str, namespace_id: str, key: str) -> Response:
    """GET .../values/{key}: the raw bytes, or ``10009 get: 'key not found'``."""
    ns = request.state.namespace(account_id, namespace_id)
    entry = request.state.kv.get(ns, _key(key))
    if entry is None:
        raise ApiError(404, 10009, "get: 'key not found'")
    headers = {"content-type": "application/octet-stream"}
    if entry.expiration is not None:
        headers["expiration"] = str(int(entry.expiration))
    return Response(200, entry.value, headers)


def _expiration(request: Request) -> float | None:
    now = time.time()
    try:
        ttl_value = float(request.query.get("expiration_ttl") or 0)
        absolute_value = float(request.query.get("expiration") or 0)
    except ValueError:
        raise ApiError(400, 10019, "expiration and expiration_ttl must be numbers") from None
    if ttl := request.query.get("expiration_ttl"):
        seconds = ttl_value
        if seconds < MIN_TTL:
            raise ApiError(
                400,
                10019,
                f"Invalid expiration_ttl of {ttl}. Expiration TTL must be at least {MIN_TTL}.",
            )
        return now + seconds
    if absolute := request.query.get("expiration"):
        when = absolute_value
        if when < now + MIN_TTL:
            raise ApiError(
                400,
                10019,
                f"Invalid expiration of {absolute}. Expiration times must "
                f"be at least {MIN_TTL} seconds in the future.",
            )
        return when
    return None


def put_value(request: Request, account_id: str, namespace_id: str, key: str) -> Response:
    """PUT .../values/{key}: a raw body, or multipart with ``value`` (+ JSON ``metadata``)."""
    ns = request.state.namespace(account_id, namespace_id)
    key = _key(key)
    expiration = _expiration(request)
    metadata: Any = None
    boundary = multipart.boundary_of(request.content_type)
    if boundary:
        parts = {p.name: p for p in multipart.parse(request.body, boundary)}
        if "value" not in parts:
            raise ApiError(400, 10021, "multipart value write needs a 'value' part")
        value = parts["value"].content
        if "metadata" in parts:
            try:
                metadata = json.loads(parts["metadata"].content)
            except ValueError:
                raise ApiError(400, 10026, "metadata is not valid JSON") from None
    else:
        value = request.body
    if len(value) > 25 * 1024 * 1024:
        raise ApiError(413, 10011, "Value exceeds the 25 MiB limit")
    request.state.kv.put(ns, key, KvEntry(value, expiration, metadata))
    return ok({})


def delete_value(request: Request, account_id: str, namespace_id: str, key: str) -> Response:
    """DELETE .../values/{key} (deleting a missing key succeeds, as on Cloudflare)."""
    ns = request.state.namespace(account_id, namespace_id)
    request.state.kv.delete(ns, _key(key))
    return ok({})


_NS = "/accounts/{account_id}/storage/kv/namespaces"
ROUTES = [
    Route("GET", _NS, list_namespaces, WORKERS_KV_READ),
    Route("POST", _NS, create_namespace, WORKERS_KV_EDIT, mutates=True),
    Route("GET", _NS + "/{namespace_id}", get_namespace, WORKERS_KV_READ),
    Route("PUT", _NS + "/{namespace_id}", rename_namespace, WORKERS_KV_EDIT, mutates=True),
    Route("DELETE", _NS + "/{namespace_id}", delete_namespace, WORKERS_KV_EDIT, mutates=True),
    Route("GET", _NS + "/{namespace_id}/keys", list_keys, WORKERS_KV_READ),
    Route("GET", _NS + "/{namespace_id}/values/{key}", get_value, WORKERS_KV_READ),
    Route("PUT", _NS + "/{namespace_id}/values/{key}", put_value, WORKERS_KV_EDIT, mutates=True),
    Route(
        "DELETE", _NS + "/{namespace_id}/values/{key}", delete_value, WORKERS_KV_EDIT, mutates=True
    ),
]
