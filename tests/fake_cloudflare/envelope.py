"""Cloudflare API v4 response envelopes, errors and pagination helpers."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Response:
    """An HTTP response produced by a handler (before faults and latency are applied)."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def error_codes(self) -> list[int]:
        """The Cloudflare error codes in this response's envelope (empty for successes)."""
        if not self.headers.get("content-type", "").startswith("application/json"):
            return []
        try:
            payload = json.loads(self.body)
        except ValueError:
            return []
        if not isinstance(payload, dict):
            return []
        return [e.get("code", 0) for e in payload.get("errors") or [] if isinstance(e, dict)]


class ApiError(Exception):
    """Raised by handlers: becomes a Cloudflare error envelope with this status and code."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        error_chain: Sequence[tuple[int, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} [{code}] {message}")
        self.status = status
        self.code = code
        self.message = message
        self.error_chain = list(error_chain)
        self.headers = headers or {}

    def to_response(self) -> Response:
        """Render as Cloudflare renders API errors."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.error_chain:
            error["error_chain"] = [{"code": c, "message": m} for c, m in self.error_chain]
        payload = {"success": False, "errors": [error], "messages": [], "result": None}
        return json_response(payload, self.status, self.headers)


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response with Cloudflare's content type."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(status, body, {"content-type": "application/json", **(headers or {})})


def ok(
    result: Any, *, result_info: dict[str, Any] | None = None, messages: list | None = None
) -> Response:
    """The success envelope: ``{"success": true, "errors": [], "messages": [], "result": ...}``."""
    payload: dict[str, Any] = {
        "success": True,
        "errors": [],
        "messages": messages or [],
        "result": result,
    }
    if result_info is not None:
        payload["result_info"] = result_info
    return json_response(payload)


def int_param(query: dict[str, str], name: str, default: int, *, lo: int, hi: int) -> int:
    """Read an integer query parameter; out-of-range or malformed values are a 400 like CF's."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, 10001, f"Invalid value for '{name}': {raw!r}") from None
    if not lo <= value <= hi:
        raise ApiError(400, 10001, f"'{name}' must be between {lo} and {hi}")
    return value


def paginate(
    items: Sequence[Any],
    query: dict[str, str],
    *,
    default_per_page: int = 20,
    max_per_page: int = 100,
) -> Response:
    """A page of ``items`` as a V4 page-number list (``result_info`` with page/per_page/counts).

    A page past the end is an empty list, which is how the SDK's auto-pagination stops.
    """
    page = int_param(query, "page", 1, lo=1, hi=1_000_000)
    per_page = int_param(query, "per_page", default_per_page, lo=1, hi=max_per_page)
    start = (page - 1) * per_page
    chunk = list(items[start : start + per_page])
    info = {
        "page": page,
        "per_page": per_page,
        "count": len(chunk),
        "total_count": len(items),
        "total_pages": max(1, math.ceil(len(items) / per_page)),
    }
    return ok(chunk, result_info=info)
