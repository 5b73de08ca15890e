"""What integration tests get about a running Worker host."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from tests.integration.upstream import RecordingUpstream

REFRESH_GRACE_SECONDS = 2


@dataclass(frozen=True)
class RunningWorker:
    kind: str
    origin: str
    pin: str
    upstream: RecordingUpstream

    @property
    def mcp_url(self) -> str:
        return f"{self.origin}/mcp"


def worker_env(upstream_token: str, pin: str) -> dict[str, str]:
    """Secrets under the Worker's binding names."""
    return {
        "UPSTREAM_TOKEN": upstream_token,
        "AUTH_PIN": pin,
        "SIGNING_KEY": secrets.token_urlsafe(32),
    }


def new_pin() -> str:
    return f"{secrets.randbelow(10**8):08d}"
