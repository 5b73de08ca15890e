"""The CIMD fetcher: https only, public addresses only, size cap, timeout, no redirects."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from cfmcp.local.cimd import Resolver, is_public_address, make_metadata_fetcher

DOC = b'{"client_id": "https://app.example.com/oauth/client.json", "client_name": "App"}'


def public_resolver(*addresses: str) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses) or ["93.184.215.14"]

    return resolve


def serving(
    body: bytes,
    status: int = 200,
    headers: dict[str, str] | None = None,
    calls: list[httpx.Request] | None = None,
) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if calls is not None:
            calls.append(request)
        return httpx.Response(status, content=body, headers=headers)

    return httpx.MockTransport(handler)


async def test_fetches_public_https_document() -> None:
    calls: list[httpx.Request] = []
    fetch = make_metadata_fetcher(resolve=public_resolver(), transport=serving(DOC, calls=calls))
    assert await fetch("https://app.example.com/oauth/client.json") == (200, DOC)
    assert calls[0].method == "GET"


@pytest.mark.parametrize(
    "url",
    [
        "http://app.example.com/client.json",
        "ftp://app.example.com/client.json",
        "https://user:pw@app.example.com/client.json",
        "https:///nohost",
    ],
)
async def test_refuses_non_https(url: str) -> None:
    calls: list[httpx.Request] = []
    fetch = make_metadata_fetcher(resolve=public_resolver(), transport=serving(DOC, calls=calls))
    assert await fetch(url) is None
    assert calls == []


@pytest.mark.parametrize(
    "addresses",
    [
        ("127.0.0.1",),
        ("10.1.2.3",),
        ("192.168.0.10",),
        ("169.254.169.254",),
        ("::1",),
        ("fd00::1",),
        ("::ffff:127.0.0.1",),
        ("93.184.215.14", "10.0.0.1"),
        ("0.0.0.0",),
        ("100.64.0.1",),
    ],
)
async def test_refuses_hosts_resolving_to_private_addresses(addresses: tuple[str, ...]) -> None:
    calls: list[httpx.Request] = []
    fetch = make_metadata_fetcher(
        resolve=public_resolver(*addresses), transport=serving(DOC, calls=calls)
    )
    assert await fetch("https://sneaky.example.com/client.json") is None
    assert calls == []


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1/c.json", "https://[::1]/c.json", "https://10.0.0.8:8443/c.json"]
)
async def test_refuses_private_ip_literals(url: str) -> None:
    calls: list[httpx.Request] = []
    fetch = make_metadata_fetcher(resolve=public_resolver(), transport=serving(DOC, calls=calls))
    assert await fetch(url) is None
    assert calls == []


async def test_localhost_really_resolves_to_loopback_and_is_refused() -> None:
    fetch = make_metadata_fetcher(transport=serving(DOC))
    assert await fetch("https://localhost/client.json") is None


async def test_size_cap() -> None:
    big = b"x" * (64 * 1024 + 1)
    fetch = make_metadata_fetcher(resolve=public_resolver(), transport=serving(big))
    assert await fetch("https://app.example.com/c.json") is None
    exact = b"y" * (64 * 1024)
    fetch = make_metadata_fetcher(resolve=public_resolver(), transport=serving(exact))
    assert await fetch("https://app.example.com/c.json") == (200, exact)


async def test_redirects_are_not_followed() -> None:
    calls: list[httpx.Request] = []
    transport = serving(b"", status=302, headers={"Location": "https://127.0.0.1/x"}, calls=calls)
    fetch = make_metadata_fetcher(resolve=public_resolver(), transport=transport)
    status, _ = await fetch("https://app.example.com/c.json") or (0, b"")
    assert status == 302
    assert len(calls) == 1


async def test_timeout() -> None:
    async def slow(host: str, port: int) -> list[str]:
        await asyncio.sleep(5)
        return ["93.184.215.14"]

    fetch = make_metadata_fetcher(resolve=slow, timeout=0.1, transport=serving(DOC))
    assert await fetch("https://app.example.com/c.json") is None


def test_public_address_rules() -> None:
    assert is_public_address("1.1.1.1")
    assert is_public_address("2606:4700:4700::1111")
    for private in (
        "127.0.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "::1",
        "fe80::1",
        "224.0.0.1",
        "not-an-ip",
        "::ffff:10.0.0.1",
    ):
        assert not is_public_address(private), private
