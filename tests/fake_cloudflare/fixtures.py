"""pytest fixtures for the fake. In a conftest.py or test module::

    from tests.fake_cloudflare.fixtures import fake_cloudflare, fake_cloudflare_workers  # noqa

``fake_cloudflare`` is a started :class:`FakeCloudflare` (no local Workers);
``fake_cloudflare_workers`` also runs every uploaded Worker with ``cfmcp dev``.
Both are function-scoped and stop everything afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .fake import FakeCloudflare


@pytest.fixture
def fake_cloudflare() -> Iterator[FakeCloudflare]:
    """A fresh fake Cloudflare API on 127.0.0.1 (default seed, no local Workers)."""
    with FakeCloudflare() as fake:
        yield fake


@pytest.fixture
def fake_cloudflare_workers(tmp_path: Path) -> Iterator[FakeCloudflare]:
    """A fresh fake that also serves uploaded Workers (see ``fake.worker_origin(name)``)."""
    with FakeCloudflare(run_workers=True, workers_dir=tmp_path / "fake-cf-workers") as fake:
        yield fake
