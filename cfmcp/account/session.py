"""Who cfmcp talks to on Cloudflare, read once per command: the API token, the API base URL
(`CLOUDFLARE_API_BASE_URL`, wrangler's variable) and the account id (cfmcp.toml, else
`CLOUDFLARE_ACCOUNT_ID`). Every command that reaches the account reads them here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cfmcp.errors import UsageError
from cfmcp.project.config import ProjectConfig, load_config
from cfmcp.project.public_url import recorded_state
from cfmcp.project.state import DeployState, state_path

if TYPE_CHECKING:
    from cfmcp.account.api import CloudflareApi

TOKEN_ENV = "CLOUDFLARE_API_TOKEN"
BASE_URL_ENV = "CLOUDFLARE_API_BASE_URL"
ACCOUNT_ENV = "CLOUDFLARE_ACCOUNT_ID"
TOKEN_PERMISSIONS = "Workers Scripts: Edit, Workers KV Storage: Edit"
TOKEN_HINT = f"set {TOKEN_ENV} ({TOKEN_PERMISSIONS})"
TOKEN_PROMPT = f"Cloudflare API token (input hidden; {TOKEN_PERMISSIONS})"


def read_token(env: Mapping[str, str], prompt: Callable[[str], str] | None = None) -> str:
    """The API token from the environment, else from `prompt` (hidden input); "" if none."""
    token = env.get(TOKEN_ENV, "").strip()
    if not token and prompt is not None:
        token = prompt(TOKEN_PROMPT).strip()
    return token


def base_url(env: Mapping[str, str]) -> str | None:
    """The API endpoint to use instead of Cloudflare's public one (None: the public one)."""
    return env.get(BASE_URL_ENV, "").strip() or None


def with_account_from_env(config: ProjectConfig, env: Mapping[str, str]) -> ProjectConfig:
    """`config`, its account id taken from CLOUDFLARE_ACCOUNT_ID when the file has none."""
    if not config.account_id and env.get(ACCOUNT_ENV, "").strip():
        config.account_id = env[ACCOUNT_ENV].strip()
        config.validate()
    return config


def connect(token: str, env: Mapping[str, str]) -> CloudflareApi:
    """The API gateway for `token`, at the endpoint the environment names."""
    from cfmcp.account.api import CloudflareApi

    return CloudflareApi(token, base_url=base_url(env))


def token_prompt(text: str) -> str:
    """Ask for the API token on stderr without echo, again until something is typed."""
    from cfmcp.prompts import ask_secret

    return ask_secret(text, hint=TOKEN_HINT)


@dataclass(frozen=True)
class Session:
    """A project and the account it deploys to: everything a command needs to reach it."""

    config: ProjectConfig
    state_file: Path
    state: DeployState  # empty unless it records this account and Worker
    token: str = field(repr=False)
    base_url: str | None

    def connect(self) -> CloudflareApi:
        from cfmcp.account.api import CloudflareApi

        return CloudflareApi(self.token, base_url=self.base_url)


def open_session(config_path: Path, env: Mapping[str, str], *, prompt_allowed: bool) -> Session:
    """Load cfmcp.toml (the account id from the environment if missing), the state it recorded
    for this account and Worker, and the API token (asked for, hidden, when allowed)."""
    config = with_account_from_env(load_config(config_path), env)
    if not config.account_id:
        raise UsageError(
            "cfmcp.toml has no account_id",
            hint=f"run `cfmcp init --account-id ID`, or set {ACCOUNT_ENV}",
        )
    token = read_token(env, token_prompt if prompt_allowed else None)
    if not token:
        raise UsageError("no Cloudflare API token", hint=TOKEN_HINT)
    path = state_path(config_path.resolve().parent)
    return Session(config, path, recorded_state(config, config_path), token, base_url(env))
