"""What `install-client` accepts as --name and --url, checked before anything is read or
written (a usage error, exit 2).

A server name is a key in the client's file and an argument in the commands it shows: 1-64
printable characters (no control or format characters, no surrogates, which is what a
command line that is not UTF-8 turns into), with no space at either end. Codex allows only
letters, digits, `-` and `_` (`codex mcp add` refuses anything else, codex-rs mcp_cmd.rs), so
a Codex name keeps to those. A URL is an http(s) URL of printable ASCII with a host.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from cfmcp.errors import UsageError

MAX_NAME = 64
MAX_URL = 2048
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]+")
_URL_CHARS = re.compile(r"[\x21-\x7e]+")
# clients whose own commands accept only _PLAIN_NAME
PLAIN_NAME_CLIENTS = {"codex": "Codex"}


def check_name(client: str, name: str) -> None:
    """A usage error unless `name` is a server name `client` accepts."""
    shown = ascii(name)
    if not 0 < len(name) <= MAX_NAME:
        raise UsageError(f"--name must be 1-{MAX_NAME} characters", hint="e.g. --name github")
    if not name.isprintable() or not _encodable(name) or name != name.strip():
        raise UsageError(
            f"invalid --name {shown}: control characters, undecodable bytes and spaces at "
            "either end are not allowed",
            hint="e.g. --name github",
        )
    host = PLAIN_NAME_CLIENTS.get(client)
    if host and not _PLAIN_NAME.fullmatch(name):
        raise UsageError(
            f"invalid --name {shown}: {host} server names are letters, digits, '-' and '_'",
            hint="e.g. --name github_mcp",
        )


def check_url(url: str) -> None:
    """A usage error unless `url` is an http(s) URL without spaces or control characters."""
    hint = "e.g. --url https://gh-mcp.example.workers.dev/mcp"
    if len(url) > MAX_URL or not _URL_CHARS.fullmatch(url):
        raise UsageError(
            f"invalid --url {ascii(url)[:80]}: only printable ASCII, no spaces", hint=hint
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        raise UsageError(f"invalid --url {url!r}", hint=hint) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"invalid --url {url!r}: give an http(s) URL with a host", hint=hint)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
