"""The public URL of this project's Worker, as far as it is known without asking Cloudflare.

A custom domain or route names its own origin in cfmcp.toml. A workers.dev origin needs the
account's subdomain, which only a deploy learns: it is taken from `.cfmcp/state.json` when
that records this account and this Worker. The URL a deploy recorded is never reused as it
is: the Worker may have been renamed, or moved to another hostname mode, since.
"""

from __future__ import annotations

from pathlib import Path

from cfmcp.project.config import ProjectConfig
from cfmcp.project.state import DeployState, load_state, state_path


def project_state(config_path: Path) -> DeployState:
    """The deploy record beside `config_path` (every command resolves it the same way)."""
    return load_state(state_path(config_path.resolve().parent))


def recorded_state(config: ProjectConfig, config_path: Path) -> DeployState:
    """The deploy record beside `config_path` when it records this account and Worker, else
    an empty one (a record of another Worker or account must not stand in for this one)."""
    state = project_state(config_path)
    return state if state.applies_to(config.account_id, config.name) else DeployState()


def known_public_origin(config: ProjectConfig, state: DeployState) -> str:
    """The Worker's origin (no trailing slash), or "" when it cannot be known yet."""
    if config.hostname.mode != "workers_dev":
        return config.public_origin()
    if not state.applies_to(config.account_id, config.name):
        return ""
    return config.public_origin(state.workers_subdomain)
