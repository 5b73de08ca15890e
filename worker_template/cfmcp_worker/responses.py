"""Response builders: JSON, OAuth errors, HTML pages, redirects, CORS and security headers."""

from __future__ import annotations

import json
from typing import Any

from cfmcp_worker.http_types import Headers, HttpResponse

NO_STORE: Headers = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]

# `*` admits MCP 2026-07-28's Mcp-Param-<name> headers (no prefix wildcard exists); it does
# not cover Authorization, hence the explicit list (also for browsers without the wildcard).
CORS_ALLOW_HEADERS = (
    "Authorization, Content-Type, Accept, Mcp-Session-Id, Mcp-Protocol-Version, Mcp-Method, "
    "Mcp-Name, Last-Event-ID, *"
)
CORS_EXPOSE_HEADERS = "Mcp-Session-Id, Mcp-Protocol-Version, WWW-Authenticate"

# `same-origin`, not `no-referrer`: with `no-referrer` browsers send `Origin: null` on the
# consent form's POST (Fetch standard), and a null origin must be refused. Nothing leaves the
# origin: the redirect to the client carries `no-referrer` itself.
PAGE_SECURITY_HEADERS: Headers = [
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("X-Content-Type-Options", "nosniff"),
    ("Cache-Control", "no-store"),
]


def content_security_policy(form_targets: tuple[str, ...] = ()) -> str:
    """The pages' CSP. `form_targets` are the sources the consent form may end up at:
    browsers apply `form-action` to the redirect that follows the POST too, so the verified
    redirect URI's origin must be allowed next to 'self' (else Chrome blocks the callback)."""
    form_action = " ".join(("'self'", *form_targets))
    return (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    )


def cors_headers() -> Headers:
    """CORS for bearer-token endpoints: no cookies are used, so any origin may call them."""
    return [
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS),
    ]


def preflight() -> HttpResponse:
    return HttpResponse(
        204,
        [
            *cors_headers(),
            ("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS"),
            ("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS),
            ("Access-Control-Max-Age", "86400"),
        ],
    )


def json_response(
    status: int, data: Any, headers: Headers | None = None, *, cors: bool = True
) -> HttpResponse:
    body = json.dumps(data, separators=(",", ":")).encode("utf-8")
    out: Headers = [("Content-Type", "application/json")]
    if cors:
        out += cors_headers()
    return HttpResponse(status, out + list(headers or []), body)


def oauth_error(
    status: int, error: str, description: str, headers: Headers | None = None
) -> HttpResponse:
    """An RFC 6749 §5.2 style error body (also used by DCR and revocation)."""
    return json_response(
        status, {"error": error, "error_description": description}, NO_STORE + list(headers or [])
    )


def html_page(status: int, html: str, form_targets: tuple[str, ...] = ()) -> HttpResponse:
    headers = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Security-Policy", content_security_policy(form_targets)),
        *PAGE_SECURITY_HEADERS,
    ]
    return HttpResponse(status, headers, html.encode("utf-8"))


def redirect(location: str) -> HttpResponse:
    return HttpResponse(
        302,
        [("Location", location), ("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer")],
    )


def not_found() -> HttpResponse:
    return json_response(404, {"error": "not_found"}, cors=False)


def method_not_allowed(allowed: str) -> HttpResponse:
    return json_response(405, {"error": "method_not_allowed"}, [("Allow", allowed)], cors=False)


def server_error() -> HttpResponse:
    """500 for an exception in the core (logged as an `error` line, never sent)."""
    return json_response(500, {"error": "server_error"}, NO_STORE, cors=False)
