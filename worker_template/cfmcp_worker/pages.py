"""HTML pages of the authorization flow: consent and error, every dynamic value escaped."""

from __future__ import annotations

import re
from string import Template
from urllib.parse import urlsplit

from cfmcp_worker import consent_page
from cfmcp_worker.http_types import HttpResponse
from cfmcp_worker.responses import html_page

# The five characters that matter in HTML text and quoted attributes (what html.escape does,
# without importing html.entities' large table at start-up).
_HTML_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
)


_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_NETLOC = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def escape(value: str) -> str:
    return value.translate(_HTML_ESCAPES)


def _fill(template: str, safe_html: dict[str, str] | None = None, **values: str) -> str:
    """Substitute `values` HTML-escaped; `safe_html` holds fragments built from escaped parts."""
    escaped = {key: escape(value) for key, value in values.items()}
    return Template(template).substitute(
        style=consent_page.STYLE,
        server_name=consent_page.SERVER_NAME_HTML,
        **(safe_html or {}),
        **escaped,
    )


def csp_source(uri: str) -> str | None:
    """The CSP source expression for a redirect URI's origin (a private-use scheme becomes a
    scheme source such as `cursor:`); None when the URI does not fit a strict pattern."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if not _SCHEME.fullmatch(scheme):
        return None
    if scheme not in ("http", "https"):
        return f"{scheme}:"
    if not _NETLOC.fullmatch(parts.netloc):
        return None
    return f"{scheme}://{parts.netloc}"


def redirect_host(uri: str) -> str:
    """What the user must recognise: the host a code is sent to (or the app's scheme)."""
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https"):
        return parts.netloc or uri
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"


def policy_choice(policies: list[tuple[str, list[str]]], chosen: str) -> str:
    """The radio buttons of the access a connection gets, each policy said in words."""
    items = []
    for name, words in policies:
        checked = " checked" if name == chosen else ""
        items.append(
            f'<label class="policy"><input type="radio" name="policy" value="{escape(name)}"'
            f"{checked}> <strong>{escape(name)}</strong>"
            f'<span class="muted">{escape(" ".join(words))}</span></label>'
        )
    return "".join(items)


def client_origin(vouched_by: str) -> str:
    """How far the client's name can be trusted, in words."""
    if vouched_by:
        return f"name verified by {vouched_by}, the site that publishes this app"
    return "name given by the app itself: any app can call itself anything"


def consent(
    *,
    client_name: str,
    vouched_by: str = "",
    redirect_uri: str,
    policies: list[tuple[str, list[str]]],
    chosen: str,
    request_token: str,
    asked: str | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    """The consent page; `asked`: a policy wider than the preselected one that the client asks
    for (shown, not checked: the owner decides)."""
    error_html = f'<p class="error">{escape(error)}</p>' if error else ""
    if asked:
        error_html = (
            f'<p class="notice">This app asks for <strong>{escape(asked)}</strong>, more than '
            f"this kind of app gets by default. Choose it below only if you meant to.</p>"
            + error_html
        )
    html = _fill(
        consent_page.CONSENT_PAGE,
        {"error": error_html, "policies": policy_choice(policies, chosen)},
        client_name=client_name,
        client_origin=client_origin(vouched_by),
        redirect_uri=redirect_uri,
        redirect_host=redirect_host(redirect_uri),
        request_token=request_token,
    )
    target = csp_source(redirect_uri)
    return html_page(status, html, (target,) if target else ())


def error(message: str, status: int = 400) -> HttpResponse:
    return html_page(status, _fill(consent_page.ERROR_PAGE, message=message))
