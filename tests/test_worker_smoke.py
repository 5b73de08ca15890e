"""Smoke checks against scripted HTTP answers (httpx MockTransport, no network)."""

from __future__ import annotations

import json

import httpx

from cfmcp.worker.smoke import SmokeTester

PUBLIC = "https://gh.acme.workers.dev"
VIA = "http://127.0.0.1:9999"


def worker(
    issuer: str = PUBLIC,
    resource: str = PUBLIC + "/mcp",
    mcp_status: int = 401,
    register_status: int = 201,
    seen: list[str] | None = None,
):
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(str(request.url))
        path = request.url.path
        if path == "/.well-known/oauth-authorization-server":
            return httpx.Response(200, json={"issuer": issuer})
        if path == "/.well-known/oauth-protected-resource/mcp":
            return httpx.Response(200, json={"resource": resource})
        if path == "/mcp":
            challenge = (
                f'Bearer resource_metadata="{PUBLIC}/.well-known/oauth-protected-resource/mcp"'
            )
            return httpx.Response(mcp_status, headers={"WWW-Authenticate": challenge})
        if path == "/register":
            body = json.loads(request.content)
            assert body["token_endpoint_auth_method"] == "none"
            return httpx.Response(register_status, json={"client_id": "c1"})
        return httpx.Response(404)

    return httpx.MockTransport(handle)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def make_tester(
    transport: httpx.MockTransport,
    clock: Clock | None = None,
    via: str | None = VIA,
    expected_bundle: str = "",
):
    clock = clock or Clock()
    return SmokeTester(
        PUBLIC,
        via=via,
        client=httpx.Client(transport=transport),
        sleep=clock.sleep,
        clock=clock,
        expected_bundle=expected_bundle,
    )


def test_all_checks_pass_and_go_through_via():
    seen: list[str] = []
    checks = make_tester(worker(seen=seen)).run(timeout=10)
    assert [c.name for c in checks] == ["issuer", "resource", "mcp-401", "register"]
    assert all(c.ok for c in checks), checks
    assert seen and all(url.startswith(VIA) for url in seen)


def test_wrong_issuer_is_reported_after_the_timeout():
    clock = Clock()
    checks = make_tester(worker(issuer="https://old.example.com"), clock).run(timeout=5)
    assert len(checks) == 1 and not checks[0].ok
    assert "within 5s" in checks[0].detail and "old.example.com" in checks[0].detail
    assert clock.now >= 5


def test_waits_until_the_new_version_answers():
    answers = iter(
        [httpx.Response(503), httpx.Response(404), httpx.Response(200, json={"issuer": PUBLIC})]
    )

    def handle(request: httpx.Request) -> httpx.Response:
        return next(answers)

    clock = Clock()
    check = make_tester(httpx.MockTransport(handle), clock).wait_until_live(timeout=60, interval=2)
    assert check.ok
    assert clock.now == 4


def test_connection_errors_are_polled_not_raised():
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    check = make_tester(httpx.MockTransport(handle)).wait_until_live(timeout=3)
    assert not check.ok and "ConnectError" in check.detail


def test_wrong_resource_fails():
    checks = make_tester(worker(resource=PUBLIC + "/other")).run(timeout=5)
    assert [c.ok for c in checks] == [True, False, True, True]


def test_mcp_without_401_fails():
    checks = make_tester(worker(mcp_status=200)).run(timeout=5)
    assert not checks[2].ok and "expected 401" in checks[2].detail


def test_register_refused_fails():
    checks = make_tester(worker(register_status=400)).run(timeout=5)
    assert not checks[3].ok


def test_without_via_the_public_url_is_contacted():
    seen: list[str] = []
    checks = make_tester(worker(seen=seen), via=None).run(timeout=5)
    assert all(c.ok for c in checks)
    assert all(url.startswith(PUBLIC) for url in seen)


def test_waits_until_the_new_bundle_answers_not_the_previous_one():
    clock = Clock()
    answers = iter(["old" * 20, "old" * 20, "new" * 20])

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/oauth-authorization-server":
            return httpx.Response(
                200, json={"issuer": PUBLIC}, headers={"Cfmcp-Bundle": next(answers)}
            )
        return httpx.Response(404)

    tester = make_tester(httpx.MockTransport(handle), clock, expected_bundle="new" * 20)
    check = tester.wait_until_live(timeout=30, interval=1)
    assert check.ok and clock.now == 2


def test_previous_bundle_until_timeout_is_reported():
    clock = Clock()

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"issuer": PUBLIC}, headers={"Cfmcp-Bundle": "a" * 64})

    tester = make_tester(httpx.MockTransport(handle), clock, expected_bundle="b" * 64)
    check = tester.wait_until_live(timeout=5, interval=1)
    assert not check.ok and "previous version" in check.detail
