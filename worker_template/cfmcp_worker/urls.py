"""URL rules: the server's issuer and resource, RFC 8707 comparison, redirect URI policy."""

from __future__ import annotations

import functools
from urllib.parse import urlencode, urlsplit, urlunsplit

MCP_PATH = "/mcp"
MAX_REDIRECT_URI_LENGTH = 512
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
# Private-use redirect URI schemes (RFC 8252 §7.1) are an allow-list: a reverse-domain-name
# scheme (`com.example.app:/cb`, what §7.1 asks native apps to use), or one of the single-label
# schemes of desktop MCP clients below. Everything else is refused, in particular schemes a
# browser handles itself (javascript:, data:, file:, blob:, …) and operating-system handlers
# (ms-msdt:, search-ms:, …) that an attacker-chosen URI with its query could drive.
APP_SCHEMES = frozenset(
    {
        "cursor",  # Cursor: cursor://anysphere.cursor-mcp/oauth/callback
        "vscode",  # VS Code and its extensions (e.g. Cline)
        "vscode-insiders",
        "vscodium",
        "windsurf",
        "claude",  # Claude Desktop
        "zed",
        "raycast",
        "goose",
        "kiro",
        "trae",
    }
)
_SCHEME_LABEL = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@functools.lru_cache(maxsize=256)  # every /mcp request compares its token's audience
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
    """Whether `candidate` (an RFC 8707 `resource` a client sent) names `resource`.

    Compared canonically; the origin form of the resource (`https://host` or `https://host/`)
    names it too: some clients send the server's origin rather than its MCP endpoint.
    """
    canon = canonical_url(candidate)
    ours = canonical_url(resource)
    if canon is None or ours is None:
        return False
    return canon == ours or canon == _origin_of(ours)


def exact_resource(value: str, resource: str) -> bool:
    """Canonical equality only (for audiences this server wrote itself)."""
    canon = canonical_url(value)
    return canon is not None and canon == canonical_url(resource)


def _origin_of(canonical: str) -> str:
    parts = urlsplit(canonical)
    return f"{parts.scheme}://{parts.netloc}"


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
    if scheme == "https":
        return None if parts.hostname else "https redirect URI needs a host"
    if scheme == "http":
        if (parts.hostname or "") in LOOPBACK_HOSTS:
            return None
        return "http redirect URIs are only allowed on loopback (127.0.0.1, [::1], localhost)"
    if is_private_use_scheme(scheme):
        return None
    return (
        f"redirect URI scheme '{scheme}' is not allowed: use https, http on loopback, or a "
        "private-use scheme in reverse domain-name form such as com.example.app (RFC 8252 §7.1)"
    )


def is_private_use_scheme(scheme: str) -> bool:
    """A reverse-domain-name scheme (at least two labels) or a known desktop client's scheme."""
    if scheme in APP_SCHEMES:
        return True
    labels = scheme.split(".")
    return (
        len(labels) >= 2
        and scheme[0].isalpha()
        and all(label and set(label) <= _SCHEME_LABEL for label in labels)
    )


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


def loopback_path_below(prefix: str, requested: str) -> bool:
    """A loopback http redirect (any port) whose path lies below `prefix`'s path, e.g.
    Codex's `http://127.0.0.1:PORT/callback/<callback_id>` below `http://127.0.0.1/callback/`."""
    if not (is_loopback_http(prefix) and is_loopback_http(requested)):
        return False
    reg, req = urlsplit(prefix), urlsplit(requested)
    try:
        req.port  # noqa: B018
    except ValueError:
        return False
    tail = req.path[len(reg.path) :]
    return (
        reg.hostname == req.hostname
        and not req.query
        and req.path.startswith(reg.path)
        and reg.path.endswith("/")
        and bool(tail)
        and all(ch.isalnum() or ch in "-_" for ch in tail)
    )


def is_public_https_url(url: str) -> bool:
    return metadata_url_problem(url) is None


def metadata_url_problem(url: str) -> str | None:
    """Why a Client ID Metadata Document may not be fetched from `url`, or None if it may.

    https, a path below the root, no credentials or fragment, and a public host as the
    runtime's fetch would read it: the host is parsed the WHATWG way (`127.1`, `2130706433`,
    `0x7f.1` and `0177.0.0.1` are all 127.0.0.1 there), IPv6 forms that carry an IPv4 address
    (mapped, compatible, NAT64, 6to4) are judged by that address, and only plain host names
    (letters, digits, dots, hyphens) are accepted, so no other parser can see another host.
    """
    if any(ord(ch) <= 0x20 or ord(ch) >= 0x7F or ch == "\\" for ch in url):
        return "the URL contains spaces, control, non-ASCII or backslash characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "the URL is not valid"
    if parts.scheme.lower() != "https":
        return "the URL must be https"
    if "@" in parts.netloc or parts.fragment or "#" in url:
        return "the URL must not carry credentials or a fragment"
    segments = parts.path.split("/")[1:]
    if not any(segments) or any(seg in (".", "..") for seg in segments):
        return "the URL needs a path (not just /) without . or .. segments"
    host = parts.hostname or ""
    if not host:
        return "the URL has no host"
    if ":" in host:  # an IPv6 literal (urlsplit strips the brackets)
        return None if _is_public_ipv6(host) else "the host is not a public address"
    if not set(host) <= _HOST_CHARS:
        return "the host must be a plain DNS name or address"
    try:
        number = whatwg_ipv4(host)
    except ValueError:
        return "the host is not a valid name or IPv4 address"
    if number is not None:
        return None if _is_public_ipv4(number) else "the host is not a public address"
    name = host[:-1] if host.endswith(".") else host
    if "." not in name or name == "localhost" or name.endswith(_PRIVATE_SUFFIXES):
        return "the host is not a public DNS name"
    return None


_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".lan")
_DIGITS = {10: frozenset("0123456789"), 8: frozenset("01234567")}
_DIGITS[16] = _DIGITS[10] | frozenset("abcdefABCDEF")


def whatwg_ipv4(host: str) -> int | None:
    """The IPv4 address a WHATWG URL parser reads in `host`, or None if `host` is a domain.

    Follows the URL Standard's "ends in a number checker" and "IPv4 parser": up to four
    dot-separated parts, each decimal, octal (leading 0) or hex (0x); the last part fills the
    remaining bytes. Raises ValueError where the standard fails the parse (the URL is invalid).
    """
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    if not last or not (set(last) <= _DIGITS[10] or _ipv4_number(last) is not None):
        return None  # does not end in a number: a domain
    if len(parts) > 4:
        raise ValueError("too many IPv4 parts")
    numbers = []
    for part in parts:
        number = _ipv4_number(part)
        if number is None:
            raise ValueError("invalid IPv4 part")
        numbers.append(number)
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise ValueError("IPv4 part out of range")
    address = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        address += number * 256 ** (3 - index)
    return address


def _ipv4_number(text: str) -> int | None:
    """The URL Standard's IPv4 number parser; None where it fails."""
    if not text:
        return None
    radix = 10
    if len(text) >= 2 and text[:2] in ("0x", "0X"):
        text, radix = text[2:], 16
    elif len(text) >= 2 and text[0] == "0":
        text, radix = text[1:], 8
    if not text:
        return 0
    if not set(text) <= _DIGITS[radix]:
        return None
    return int(text, radix)


def _is_public_ipv4(number: int) -> bool:
    import ipaddress  # only CIMD fetches need it: keep it off the start-up path

    address = ipaddress.IPv4Address(number)
    return address.is_global and not address.is_multicast


def _is_public_ipv6(host: str) -> bool:
    import ipaddress

    if "%" in host:  # zone ids are not part of URLs
        return False
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        return False
    if not address.is_global or address.is_multicast:
        return False
    value = int(address)
    high96 = value >> 32
    if high96 in (0, 0xFFFF, 0x0064_FF9B_0000_0000_0000_0000):  # compatible, mapped, NAT64
        return _is_public_ipv4(value & 0xFFFF_FFFF)
    if value >> 112 == 0x2002:  # 6to4: the IPv4 address follows the prefix
        return _is_public_ipv4((value >> 80) & 0xFFFF_FFFF)
    # NAT64 local-use (RFC 8215) and Teredo (2001::/32) may reach anywhere: never fetched.
    return value >> 80 != 0x0064_FF9B_0001 and value >> 96 != 0x2001_0000


def add_query(url: str, params: dict[str, str]) -> str:
    """Append parameters to a redirect URI that may already carry a query."""
    parts = urlsplit(url)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
