"""`cfmcp clients list|set-policy|revoke`: the connections (grants) the Worker approved.

The flows are `cfmcp.account.grants`. Revoking does what the Worker's own revocation does, so
the running Worker honours it. Exit codes: 0 ok, 1 a call failed or the grant is unknown,
2 usage.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from cfmcp.commands.options import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    VerboseOption,
    YesOption,
)

DEV_STATE = Path(".cfmcp/dev-state.sqlite3")  # cfmcp dev's default (cfmcp.local.launch)

clients_app = typer.Typer(
    name="clients",
    help="List, narrow or revoke the client connections (grants) of the Worker.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

_LOCAL = typer.Option(False, "--local", help="Use `cfmcp dev`'s KV file instead of Cloudflare.")
_STATE = typer.Option(DEV_STATE, "--state", help="With --local: the dev KV file.")


def register(app: typer.Typer) -> None:
    app.add_typer(clients_app)


@clients_app.command("list")
def list_clients(
    config_path: ConfigOption = DEFAULT_CONFIG,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
    local: bool = _LOCAL,
    state: Path = _STATE,
) -> None:
    """List the approved client connections: client name, client id, policy, created."""
    from cfmcp.account.grants import open_grant_store, show_grants
    from cfmcp.output import Output

    with open_grant_store(
        config_path, os.environ, local=local, dev_state=state, prompt_allowed=not json_output
    ) as store:
        show_grants(store, Output(json_output))


@clients_app.command("revoke")
def revoke_clients(
    grant_id: str = typer.Argument(
        None,
        metavar="GRANT_ID",
        help="The grant to revoke (from `cfmcp clients list`; "
        "a unique prefix is enough; put `--` before an id "
        "that starts with '-').",
    ),
    revoke_all: bool = typer.Option(False, "--all", help="Revoke every connection."),
    yes: YesOption = False,
    config_path: ConfigOption = DEFAULT_CONFIG,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
    local: bool = _LOCAL,
    state: Path = _STATE,
) -> None:
    """Revoke a connection: its access and refresh tokens stop working (the client must be
    approved again with the PIN). Reaches every Cloudflare location within about 60 s."""
    from cfmcp.account.grants import open_grant_store, revoke_grants
    from cfmcp.errors import UsageError
    from cfmcp.output import Output

    if bool(grant_id) == revoke_all:
        raise UsageError("give one GRANT_ID or --all", hint="see `cfmcp clients list`")
    with open_grant_store(
        config_path, os.environ, local=local, dev_state=state, prompt_allowed=not yes
    ) as store:
        revoke_grants(store, grant_id, revoke_all=revoke_all, yes=yes, out=Output(json_output))


@clients_app.command("set-policy")
def set_policy_command(
    grant_id: str = typer.Argument(
        ..., metavar="GRANT_ID", help="The grant (from `cfmcp clients list`; a unique prefix)."
    ),
    policy: str = typer.Argument(
        ..., metavar="POLICY", help="A policy of cfmcp.toml within the connection's own."
    ),
    config_path: ConfigOption = DEFAULT_CONFIG,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
    local: bool = _LOCAL,
    state: Path = _STATE,
) -> None:
    """Narrow a live connection to a stricter policy, without the client reconnecting.
    Widening needs the PIN: reconnect from the client and choose on the consent page."""
    from cfmcp.account.grants import narrow_grant, open_grant_store
    from cfmcp.output import Output
    from cfmcp.project.config import load_config

    config = load_config(config_path)
    with open_grant_store(
        config_path, os.environ, local=local, dev_state=state, prompt_allowed=not json_output
    ) as store:
        narrow_grant(store, grant_id, policy, config, Output(json_output))
