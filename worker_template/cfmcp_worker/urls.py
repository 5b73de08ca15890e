"""URL rules: the server's issuer and resource, RFC 8707 comparison, redirect URI policy."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

MCP_PATH = "/mcp"
MAX_REDIRECT_URI_LENGTH = 512
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
# Schemes that execute, read local data or are otherwise never a legitimate OAuth callback.
FORBIDDEN_SCHEMES = frozenset(
    {
        "javascript",
        "data",
        "file",
        "vbscript",
        "about",
        "blob",
        "filesystem",
        "view-source",
        "chrome",
        "chrome-extension",
        "moz-extension",
        "resource",
        "jar",
        "ws",
        "wss",
        "ftp",
        "mailto",
        "tel",
        "sms",
        "intent",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str | None:
    """Lower-case scheme and host, drop the default port and a trailing slash; None if invalid."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.fragment:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def same_resource(candidate: str, resource: str) -> bool:
    canon = canonical_url(candidate)
    return canon is not None and canon == canonical_url(resource)


def is_loopback_http(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


def redirect_uri_problem(uri: str) -> str | None:
    """Why `uri` may not be registered as a redirect URI, or None when it is acceptable.

    Allowed: https; http only on loopback (any port, RFC 8252 §7.3); private-use schemes
    such as `cursor://…` (RFC 8252 §7.1). Never: fragments, credentials, dangerous schemes.
    """
    if not isinstance(uri, str) or not uri or len(uri) > MAX_REDIRECT_URI_LENGTH:
        return "redirect URI missing or too long"
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in uri):
        return "redirect URI contains whitespace or control characters"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "redirect URI is not a valid URL"
    scheme = parts.scheme.lower()
    if not scheme or ":" not in uri:
        return "redirect URI must be absolute"
    if parts.fragment or "#" in uri:
        return "redirect URI must not contain a fragment"
    if parts.username or parts.password:
        return "redirect URI must not contain credentials"
    if scheme in FORBIDDEN_SCHEMES:
        return f"redirect URI scheme '{scheme}' is not allowed"
    if scheme == "https":
        return None if parts.hostname else "https redirect URI needs a host"
    if scheme == "http":
        if (parts.hostname or "") in LOOPBACK_HOSTS:
            return None
        return "http redirect URIs are only allowed on loopback (127.0.0.1, [::1], localhost)"
    # Private-use URI scheme for native apps: must look like a scheme, not a web one.
    if not all(ch.isalnum() or ch in "+-." for ch in scheme) or not scheme[0].isalpha():
        return "redirect URI scheme is not valid"
    return None


def redirect_uri_matches(registered: str, requested: str) -> bool:
    """Exact match, except that a loopback http redirect may use any port (RFC 8252 §7.3)."""
    if registered == requested:
        return True
    if not (is_loopback_http(registered) and is_loopback_http(requested)):
        return False
    reg, req = urlsplit(registered), urlsplit(requested)
    try:
        req.port  # noqa: B018
    except ValueError:
        return False
    return (reg.hostname, reg.path or "/", reg.query) == (req.hostname, req.path or "/", req.query)


def is_public_https_url(url: str) -> bool:
    """For CIMD fetches: https, a DNS name or a public literal address, no credentials."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018
    except ValueError:
        return False
    host = parts.hostname or ""
    if parts.scheme != "https" or not host or parts.username or parts.password or parts.fragment:
        return False
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return False
    import ipaddress  # only CIMD fetches need it: keep it off the start-up path

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host
    return address.is_global


def add_query(url: str, params: dict[str, str]) -> str:
    """Append parameters to a redirect URI that may already carry a query."""
    parts = urlsplit(url)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
