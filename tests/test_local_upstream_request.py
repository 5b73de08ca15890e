"""The local host's upstream request: the core's headers, then Host and Content-Length as httpx
would add them; response headers with lower-case names, bytes kept."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cfmcp.local.asgi import response_headers, upstream_request


def forward(url: str, headers: list[tuple[str, str]], body: bytes = b"") -> SimpleNamespace:
    return SimpleNamespace(method="POST", url=url, headers=headers, body=body)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://127.0.0.1:8123/mcp", b"127.0.0.1:8123"),
        ("https://mcp.example.com/mcp?x=1", b"mcp.example.com"),
        ("https://mcp.example.com:443/mcp", b"mcp.example.com"),
        ("http://mcp.example.com:80/mcp", b"mcp.example.com"),
        ("https://mcp.example.com:8443/mcp", b"mcp.example.com:8443"),
        ("http://[::1]:9000/mcp", b"[::1]:9000"),
    ],
)
def test_host_header(url: str, host: bytes) -> None:
    request = upstream_request(forward(url, [("accept", "application/json")], b"{}"))
    assert request.headers == [
        (b"Host", host),
        (b"Content-Length", b"2"),
        (b"accept", b"application/json"),
    ]
    target = url.split("/", 3)[3]
    assert request.url.target == f"/{target}".encode()
    assert request.url.host == host.rsplit(b":", 1)[0].strip(b"[]")


def test_given_host_and_empty_body() -> None:
    request = upstream_request(forward("https://a.example/mcp", [("Host", "b.example")]))
    assert request.headers == [(b"Host", b"b.example")]


def test_response_headers_lower_case_latin1() -> None:
    assert response_headers([(b"Mcp-Session-Id", b"abc"), (b"X-Bytes", b"\xe9")]) == [
        ("mcp-session-id", "abc"),
        ("x-bytes", "\xe9"),
    ]
