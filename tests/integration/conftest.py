"""Shared fixtures: one recording upstream, one rendered bundle, Worker hosts per module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cfmcp.project.config import ProjectConfig
from cfmcp.worker.render import render_bundle
from tests.integration.running import (
    REFRESH_GRACE_SECONDS,
    RunningWorker,
    new_pin,
    worker_env,
)
from tests.integration.upstream import RecordingUpstream
from tests.support.hosts import KINDS, pyodide_harness_available, start_worker, workerd_unavailable


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def upstream() -> Iterator[RecordingUpstream]:
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def bundle_dir(upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = ProjectConfig()
    config.upstream.url = upstream.mcp_url
    config.oauth.server_name = "cfmcp integration"
    config.oauth.refresh_grace_seconds = REFRESH_GRACE_SECONDS
    out = tmp_path_factory.mktemp("bundle")
    render_bundle(config.validate(), public_url="").write(out)
    return out


def _skip_unavailable(kind: str) -> None:
    if kind == "pyodide" and not pyodide_harness_available():
        pytest.skip("harness not present")
    if kind == "workerd":
        reason = workerd_unavailable()
        if reason and os.environ.get("CI"):
            pytest.fail(f"workerd host unavailable in CI: {reason}")
        if reason:
            pytest.skip(f"workerd host unavailable: {reason}")


@pytest.fixture(scope="module", params=KINDS)
def worker_kind(request: pytest.FixtureRequest) -> str:
    _skip_unavailable(request.param)
    return request.param


@pytest.fixture(scope="module")
def worker(
    worker_kind: str, upstream: RecordingUpstream, bundle_dir: Path
) -> Iterator[RunningWorker]:
    """A Worker host in front of the recording upstream, fresh per test module."""
    pin = new_pin()
    with start_worker(worker_kind, bundle_dir, worker_env(upstream.pat, pin)) as origin:
        yield RunningWorker(worker_kind, origin, pin, upstream)
