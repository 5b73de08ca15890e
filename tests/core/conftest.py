"""Fixtures for unit tests of the Worker core, imported from a rendered bundle."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from cfmcp.local.exact import SqliteSql
from cfmcp.project.config import ProjectConfig
from cfmcp.worker.render import render_bundle
from tests.support.memory_kv import MemoryKv

SERVER_NAME = 'Acme <b>MCP</b> & "Co"'
UPSTREAM = "https://upstream.example.com/mcp"
ORIGIN = "https://mcp.example.com"
PAT = "ghp_FAKE_PAT_for_tests_0000000000"
PIN = "24681357"
SIGNING_KEY = "test-signing-key-0123456789abcdef"


@pytest.fixture(scope="session")
def core(tmp_path_factory) -> object:
    """The `cfmcp_worker` package of a rendered bundle (the bytes that would be uploaded)."""
    config = ProjectConfig(name="test-worker")
    config.oauth.server_name = SERVER_NAME
    config.upstream.url = UPSTREAM
    config.upstream.extra_headers = {"X-MCP-Readonly": "true"}
    out = tmp_path_factory.mktemp("bundle")
    render_bundle(config.validate()).write(out)
    sys.path.insert(0, str(out))  # stays: the core imports its rendered modules lazily
    return importlib.import_module("cfmcp_worker.app")


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kv(clock) -> MemoryKv:
    return MemoryKv(clock)


@pytest.fixture
def exact_sql():
    """The exact state's SQL store, as the CPython host keeps it (in memory here)."""
    sql = SqliteSql(":memory:")
    yield sql
    sql.close()


@pytest.fixture
def make_app(core, kv, clock, exact_sql):
    settings_mod = sys.modules["cfmcp_worker.settings"]
    exact = importlib.import_module("cfmcp_worker.exact")
    deployment = sys.modules.get("cfmcp_worker.deployment") or importlib.import_module(
        "cfmcp_worker.deployment"
    )

    def build(
        fetch_metadata=None,
        bundle_sha256="",
        signing_key=SIGNING_KEY,
        send_upstream=None,
        **overrides,
    ):
        values = {**deployment.SETTINGS, **overrides}
        settings = settings_mod.Settings.from_mapping(values)
        secrets = settings_mod.Secrets(upstream_token=PAT, pin=PIN, signing_key=signing_key)
        ledger = exact.ExactLedger(exact_sql, exact.pin_limits(settings))
        return core.WorkerApp(
            settings,
            secrets,
            kv,
            exact.ExactClient(exact.direct_sender(ledger)),
            fetch_metadata=fetch_metadata,
            clock=clock,
            send_upstream=send_upstream,
            bundle_sha256=bundle_sha256,
        )

    return build


@pytest.fixture
def app(make_app):
    return make_app()


def bundle_dir_of(module) -> Path:
    return Path(module.__file__).parent.parent


@pytest.fixture
def policy_app(make_app):
    """A Worker with the policies of tests/core/policies.py; claude.ai defaults to read-only."""
    from tests.core.policies import POLICIES

    return make_app(policies=POLICIES, client_policies={"claude.ai": "read-only"})
