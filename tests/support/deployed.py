"""Helpers for tests that deploy with `cfmcp deploy` to the fake (run_workers=True) and then
talk OAuth and MCP to the running Worker through `fake.worker_origin(name)`.

The deployed bundle's issuer is the public workers.dev URL, so the `resource` sent by the
client is that URL's `/mcp`, while every request goes to the local origin.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cfmcp.cli import app
from cfmcp.project.config import ProjectConfig, save_config
from tests.fake_cloudflare.fake import FakeCloudflare
from tests.integration.upstream import RecordingUpstream
from tests.support.oauth import (
    MCP_HEADERS,
    Reply,
    http_sender,
    mcp_initialize,
    obtain_tokens,
    refresh,
    run,
)
from tests.support.oauth import consent as consent_flow

NAME = "gh-mcp"
PUBLIC_URL = f"https://{NAME}.fake-subdomain.workers.dev"
RESOURCE = PUBLIC_URL + "/mcp"
INITIALIZE = mcp_initialize("cfmcp-cli-test")
ENV_TO_CLEAR = (
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_API_KEY",
    "CLOUDFLARE_EMAIL",
    "CLOUDFLARE_ACCOUNT_ID",
    "CLOUDFLARE_API_BASE_URL",
    "CLOUDFLARE_BASE_URL",
    "CFMCP_UPSTREAM_TOKEN",
    "CFMCP_PIN",
    "CFMCP_SIGNING_KEY",
    "CFMCP_SMOKE_VIA",
    "CFMCP_SKIP_PAT_CHECK",
)
# Deploy tries the PAT upstream before writing. Tests about other things deploy with the
# default upstream, api.githubcopilot.com, which is not reachable here: they skip that check
# (`isolate(..., pat_check=True)` keeps it; `deploy_live` keeps it, its upstream is real).
SKIP_PAT_CHECK_ENV = "CFMCP_SKIP_PAT_CHECK"


@dataclass(frozen=True)
class Connection:
    client_id: str
    access_token: str
    refresh_token: str


def isolate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, home: bool = True, pat_check: bool = False
) -> None:
    """Unset every variable in ENV_TO_CLEAR, point HOME at tmp_path/home (unless `home` is
    False) and make tmp_path the working directory; deploy skips its PAT check unless
    `pat_check`."""
    for name in ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    if not pat_check:
        monkeypatch.setenv(SKIP_PAT_CHECK_ENV, "1")
    if home:
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


def use_fake_env(
    monkeypatch: pytest.MonkeyPatch, fake: FakeCloudflare, token: str | None = None
) -> None:
    """Set the variables that point cfmcp at `fake` (see `FakeCloudflare.env`)."""
    for key, value in fake.env(token).items():
        monkeypatch.setenv(key, value)


def write_project(
    tmp_path: Path,
    account_id: str,
    *,
    name: str = NAME,
    upstream_url: str | None = None,
    **hostname: str,
) -> Path:
    """Write tmp_path/cfmcp.toml for `name` (hostname fields as given) and return its path."""
    config = ProjectConfig(name=name, account_id=account_id)
    if upstream_url is not None:
        config.upstream.url = upstream_url
    for key, value in hostname.items():
        setattr(config.hostname, key, value)
    path = tmp_path / "cfmcp.toml"
    save_config(config, path)
    return path


@pytest.fixture(scope="module")
def recording_upstream() -> Iterator[RecordingUpstream]:
    """A started RecordingUpstream shared by a module's tests."""
    server = RecordingUpstream().start()
    yield server
    server.stop()


def deploy_live(
    tmp_path: Path,
    fake: FakeCloudflare,
    monkeypatch: pytest.MonkeyPatch,
    *,
    upstream_url: str,
    pat: str,
    pin: str,
) -> Path:
    """Write cfmcp.toml, deploy with this PAT and PIN, return the config path."""
    config = ProjectConfig(name=NAME, account_id=fake.account_id)
    config.upstream.url = upstream_url
    path = tmp_path / "cfmcp.toml"
    save_config(config.validate(), path)
    use_fake_env(monkeypatch, fake)
    monkeypatch.delenv(SKIP_PAT_CHECK_ENV, raising=False)  # a real upstream: try the PAT
    monkeypatch.setenv("CFMCP_UPSTREAM_TOKEN", pat)
    monkeypatch.setenv("CFMCP_PIN", pin)
    result = CliRunner().invoke(app, ["deploy", "--config", str(path), "--yes", "--skip-smoke"])
    assert result.exit_code == 0, result.output
    monkeypatch.delenv("CFMCP_UPSTREAM_TOKEN")
    monkeypatch.delenv("CFMCP_PIN")
    return path


def consent(origin: str, client_id: str, challenge: str, pin: str) -> Reply:
    """Open the consent page and submit `pin`; the (unfollowed) answer to the POST."""
    return run(consent_flow(client_id, challenge, pin, resource=RESOURCE), http_sender(origin))


def connect(origin: str, pin: str, client_name: str) -> Connection:
    """A whole OAuth flow: register, approve with the PIN, redeem the code."""
    flow = obtain_tokens(pin, resource=RESOURCE, client_name=client_name)
    tokens = run(flow, http_sender(origin))
    assert tokens.refresh_token is not None
    return Connection(tokens.client_id, tokens.access_token, tokens.refresh_token)


def mcp_status(origin: str, access_token: str) -> int:
    """The status of an MCP initialize sent with this access token."""
    response = httpx.post(
        f"{origin}/mcp",
        json=INITIALIZE,
        timeout=15,
        headers={**MCP_HEADERS, "Authorization": f"Bearer {access_token}"},
    )
    return response.status_code


def refresh_status(origin: str, connection: Connection) -> int:
    return refresh(origin, connection.client_id, connection.refresh_token).status
