"""The Client ID Metadata Document fetcher handed to the core (`fetch_metadata`).

Rules: https only, no redirects, a total timeout, a 64 KiB body cap, and only public
addresses: the host must resolve to global addresses only, and the connected peer is checked
again before the body is read (a DNS answer that changes in between is caught too).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpx

MAX_BYTES = 64 * 1024
TIMEOUT_SECONDS = 5.0

Resolver = Callable[[str, int], Awaitable[list[str]]]
MetadataFetcher = Callable[[str], Awaitable[tuple[int, bytes] | None]]

log = logging.getLogger("cfmcp.dev")


class MetadataFetchError(Exception):
    """The document was not fetched: refused by policy, unreachable, too large or too slow."""


async def resolve_host(host: str, port: int) -> list[str]:
    """All addresses `host` resolves to (IPv4 and IPv6)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def is_public_address(address: str) -> bool:
    """True for globally routable unicast addresses only."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_public_host(host: str, port: int, resolve: Resolver) -> None:
    """Raise MetadataFetchError unless `host` resolves, and only to public addresses."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = await resolve(host, port)
        except OSError as exc:
            raise MetadataFetchError(f"cannot resolve {host}: {exc}") from None
    if not addresses:
        raise MetadataFetchError(f"{host} has no addresses")
    for address in addresses:
        if not is_public_address(address):
            raise MetadataFetchError(f"{host} resolves to a non-public address")


def _peer_address(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    peer = stream.get_extra_info("server_addr")
    return str(peer[0]) if peer else None


def make_metadata_fetcher(
    *,
    timeout: float = TIMEOUT_SECONDS,
    max_bytes: int = MAX_BYTES,
    resolve: Resolver = resolve_host,
    transport: httpx.AsyncBaseTransport | None = None,
) -> MetadataFetcher:
    """Build the `async (url) -> (status, body) | None` function the core calls for CIMD.

    None means the document was not fetched (refused by policy or failed); the reason is logged.
    """

    async def fetch(url: str) -> tuple[int, bytes] | None:
        try:
            return await fetch_or_raise(url)
        except MetadataFetchError as exc:
            log.warning("client metadata document not fetched: %s", exc)
            return None

    async def fetch_or_raise(url: str) -> tuple[int, bytes]:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise MetadataFetchError("client metadata URLs must be https")
        if parts.username or parts.password:
            raise MetadataFetchError("client metadata URLs must not carry credentials")
        try:
            async with asyncio.timeout(timeout):
                await check_public_host(parts.hostname, parts.port or 443, resolve)
                return await _get_capped(url, max_bytes, timeout, transport)
        except TimeoutError:
            raise MetadataFetchError(f"timed out after {timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise MetadataFetchError(f"fetch failed: {type(exc).__name__}") from None

    return fetch


async def _get_capped(
    url: str, max_bytes: int, timeout: float, transport: httpx.AsyncBaseTransport | None
) -> tuple[int, bytes]:
    async with httpx.AsyncClient(
        timeout=timeout, follow_redirects=False, transport=transport, trust_env=False
    ) as client:
        request = client.build_request("GET", url, headers={"Accept": "application/json"})
        response = await client.send(request, stream=True)
        try:
            peer = _peer_address(response)
            if peer is not None and not is_public_address(peer):
                raise MetadataFetchError("connected to a non-public address")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise MetadataFetchError(f"document larger than {max_bytes} bytes")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise MetadataFetchError(f"document larger than {max_bytes} bytes")
            return response.status_code, bytes(body)
        finally:
            await response.aclose()
