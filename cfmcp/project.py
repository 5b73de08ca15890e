"""What the post-deploy commands (rotate-pin, clients, destroy) share: the project file, the
API token, the recorded state, and finding the deployed Worker and its KV namespace.

Only the project file and the account are trusted for *what* to touch; the state file only
saves calls (a zone id), exactly as for deploy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cfmcp.config import ProjectConfig, load_config
from cfmcp.deploy.models import BUNDLE_HASH_VAR
from cfmcp.deploy.state import DeployState, load_state, state_path
from cfmcp.errors import CfmcpError, UsageError

if TYPE_CHECKING:
    from cfmcp.cloudflare_api import CloudflareApi, DeployedScript

TOKEN_ENV = "CLOUDFLARE_API_TOKEN"
BASE_URL_ENV = "CLOUDFLARE_API_BASE_URL"


class NotDeployed(CfmcpError):
    """The Worker named in cfmcp.toml does not exist on the account."""


class NotOurs(CfmcpError):
    """A Worker with the configured name exists but cfmcp did not deploy it."""


@dataclass(frozen=True)
class Project:
    config: ProjectConfig
    state_file: Path
    state: DeployState  # empty unless it records this account and Worker
    token: str
    base_url: str | None


def load_project_config(config_path: Path, env: Mapping[str, str]) -> ProjectConfig:
    """Load cfmcp.toml, taking the account id from CLOUDFLARE_ACCOUNT_ID if the file has none."""
    config = load_config(config_path)
    if not config.account_id and env.get("CLOUDFLARE_ACCOUNT_ID"):
        config.account_id = env["CLOUDFLARE_ACCOUNT_ID"].strip()
        config.validate()
    if not config.account_id:
        raise UsageError(
            "cfmcp.toml has no account_id",
            hint="run `cfmcp init --account-id ID`, or set CLOUDFLARE_ACCOUNT_ID",
        )
    return config


def api_token(
    env: Mapping[str, str], *, prompt_allowed: bool, hint: str = f"set {TOKEN_ENV}"
) -> str:
    """The Cloudflare API token from the environment, else from a hidden prompt if allowed."""
    token = env.get(TOKEN_ENV, "").strip()
    if not token and prompt_allowed:
        token = typer.prompt(
            "Cloudflare API token (input hidden)", hide_input=True, err=True
        ).strip()
    if not token:
        raise UsageError("no Cloudflare API token", hint=hint)
    return token


def open_project(config_path: Path, env: Mapping[str, str], *, prompt_allowed: bool) -> Project:
    """Load cfmcp.toml (account id from CLOUDFLARE_ACCOUNT_ID if missing) and the API token."""
    config = load_project_config(config_path, env)
    token = api_token(env, prompt_allowed=prompt_allowed)
    path = state_path(config_path.resolve().parent)
    state = load_state(path)
    if not state.applies_to(config.account_id, config.name):
        state = DeployState()
    return Project(config, path, state, token, env.get(BASE_URL_ENV) or None)


def connect(project: Project) -> CloudflareApi:
    from cfmcp.cloudflare_api import CloudflareApi

    return CloudflareApi(project.token, base_url=project.base_url)


def is_ours(script: DeployedScript) -> bool:
    """Deploy marks every upload with the bundle hash variable; others lack it."""
    return script.var(BUNDLE_HASH_VAR) is not None


def our_worker(api: CloudflareApi, config: ProjectConfig) -> DeployedScript:
    """The deployed Worker, which must exist and have been deployed by cfmcp."""
    script = api.get_script(config.account_id, config.name)
    if script is None:
        raise NotDeployed(
            f"Worker {config.name!r} is not deployed on account {config.account_id}",
            hint="run `cfmcp deploy` first",
        )
    if not is_ours(script):
        raise NotOurs(
            f"Worker {config.name!r} on account {config.account_id} was not deployed by cfmcp",
            hint="check `name` in cfmcp.toml",
        )
    return script


def kv_namespace_id(api: CloudflareApi, config: ProjectConfig, script: DeployedScript) -> str:
    """The namespace the Worker is bound to (its binding is the truth), else found by title."""
    from cfmcp.render import KV_BINDING

    bound = script.kv_namespaces.get(KV_BINDING)
    if bound:
        return bound
    found = api.find_kv_namespace(config.account_id, config.kv_namespace_title)
    if found is None:
        raise NotDeployed(
            f"KV namespace {config.kv_namespace_title!r} does not exist",
            hint="run `cfmcp deploy` to create it",
        )
    return found.id
