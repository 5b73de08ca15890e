"""`cfmcp clients list|set-policy|revoke`: the connections (grants) the Worker approved.

Grants live in the Worker's KV namespace (read through the Cloudflare API), or with `--local`
in `cfmcp dev`'s SQLite file. Revoking does what the Worker's own revocation does, so the
running Worker honours it. Exit codes: 0 ok, 1 a call failed or the grant is unknown, 2 usage.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from cfmcp.grants import GrantInfo, GrantKv

DEV_STATE = Path(".cfmcp/dev-state.sqlite3")
LOCAL_NOTE = "A running `cfmcp dev` honours it within 10 s (its in-process cache)."

clients_app = typer.Typer(
    name="clients",
    help="List, narrow or revoke the client connections (grants) of the Worker.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

_CONFIG = typer.Option(Path("cfmcp.toml"), "--config", "-c", help="Project file.")
_LOCAL = typer.Option(False, "--local", help="Use `cfmcp dev`'s KV file instead of Cloudflare.")
_STATE = typer.Option(DEV_STATE, "--state", help="With --local: the dev KV file.")


def register(app: typer.Typer) -> None:
    app.add_typer(clients_app)


def _shown_as_errors(callback: Callable[..., Any]) -> Callable[..., Any]:
    """CfmcpError → one line + hint and its exit code (sub-commands are not wrapped by cli)."""

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        from cfmcp.console import print_error, print_json
        from cfmcp.errors import CfmcpError

        try:
            return callback(*args, **kwargs)
        except CfmcpError as exc:
            if kwargs.get("json_output"):
                print_json({"ok": False, "error": exc.message, "hint": exc.hint})
            print_error(exc.message, exc.hint)
            raise typer.Exit(exc.exit_code) from None

    return run


@contextmanager
def _grant_store(
    config_path: Path, local: bool, state: Path, *, prompt_allowed: bool
) -> Iterator[tuple[GrantKv, int, str]]:
    """(store, access token TTL, where) for the deployed Worker or the local one."""
    from cfmcp.config import load_config
    from cfmcp.errors import UsageError
    from cfmcp.grants import CloudflareKv, LocalKv, marker_ttl

    if local:
        if not state.exists():
            raise UsageError(
                f"no dev KV file at {state}", hint="run `cfmcp dev` first, or pass --state PATH"
            )
        oauth = load_config(config_path).oauth if config_path.exists() else None
        ttl = marker_ttl(oauth.access_token_ttl, oauth.refresh_token_ttl) if oauth else 0
        store = LocalKv(state)
        try:
            yield store, ttl or marker_ttl(30 * 24 * 3600, 90 * 24 * 3600), f"local KV {state}"
        finally:
            store.close()
        return
    from cfmcp.project import connect, kv_namespace_id, open_project, our_worker

    project = open_project(config_path, os.environ, prompt_allowed=prompt_allowed)
    config = project.config
    with connect(project) as api:
        namespace = kv_namespace_id(api, config, our_worker(api, config))
        yield (
            CloudflareKv(api, config.account_id, namespace),
            marker_ttl(config.oauth.access_token_ttl, config.oauth.refresh_token_ttl),
            f"Worker {config.name}",
        )


@clients_app.command("list")
@_shown_as_errors
def list_clients(
    config_path: Path = _CONFIG,
    json_output: bool = typer.Option(False, "--json", help="Print JSON (no secrets)."),
    local: bool = _LOCAL,
    state: Path = _STATE,
) -> None:
    """List the approved client connections: client name, client id, policy, created."""
    from cfmcp.console import console, print_json
    from cfmcp.grants import list_grants

    with _grant_store(config_path, local, state, prompt_allowed=not json_output) as (kv, _, where):
        grants = list_grants(kv, parallel=1 if local else 8)
    if json_output:
        print_json({"ok": True, "grants": [g.to_json() for g in grants]})
        return
    if not grants:
        console.print(f"No connected clients on {where}.")
        return
    console.print(_table(grants, where))
    console.print("[dim]Revoke one with `cfmcp clients revoke GRANT_ID`.[/]", highlight=False)


def _table(grants: list[GrantInfo], where: str) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(
        title=f"{len(grants)} connected client(s) on {where}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("grant", no_wrap=True)
    table.add_column("client", min_width=12)
    table.add_column("client id", no_wrap=True)
    table.add_column("policy", no_wrap=True)
    table.add_column("created", no_wrap=True)
    for g in grants:
        table.add_row(g.grant_id, g.client_name or "-", g.short_client_id, g.policy, g.created)
    return table


@clients_app.command("revoke")
@_shown_as_errors
def revoke_clients(
    grant_id: str = typer.Argument(
        None,
        metavar="GRANT_ID",
        help="The grant to revoke (from `cfmcp clients list`; "
        "a unique prefix is enough; put `--` before an id "
        "that starts with '-').",
    ),
    revoke_all: bool = typer.Option(False, "--all", help="Revoke every connection."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    config_path: Path = _CONFIG,
    json_output: bool = typer.Option(False, "--json", help="Print JSON (no secrets)."),
    local: bool = _LOCAL,
    state: Path = _STATE,
) -> None:
    """Revoke a connection: its access and refresh tokens stop working (the client must be
    approved again with the PIN). Reaches every Cloudflare location within about 60 s."""
    from cfmcp.console import console, err_console, print_json
    from cfmcp.errors import CfmcpError, UsageError
    from cfmcp.grants import PROPAGATION_NOTE, list_grants, revoke, select

    if bool(grant_id) == revoke_all:
        raise UsageError("give one GRANT_ID or --all", hint="see `cfmcp clients list`")
    out = err_console if json_output else console
    with _grant_store(config_path, local, state, prompt_allowed=not yes) as (kv, ttl, where):
        grants = list_grants(kv, parallel=1 if local else 8)
        if revoke_all:
            chosen = grants
        else:
            match = select(grants, grant_id)
            if match is None:
                raise CfmcpError(
                    f"no grant {grant_id!r} on {where}",
                    hint="`cfmcp clients list` shows the grant ids",
                )
            chosen = [match]
        if not chosen:
            out.print(f"No connected clients on {where}: nothing to revoke.")
        elif not yes:
            for g in chosen:
                out.print(
                    f"  {g.grant_id}  {g.client_name or '-'}  ({g.short_client_id})",
                    highlight=False,
                )
            if not typer.confirm(
                f"Revoke {len(chosen)} connection(s) on {where}?", default=False, err=True
            ):
                raise typer.Abort()
        for g in chosen:
            revoke(kv, g.grant_id, ttl)
            out.print(
                f"[green]✓[/] revoked {g.grant_id} ({g.client_name or g.short_client_id})",
                highlight=False,
            )
    note = (LOCAL_NOTE if local else PROPAGATION_NOTE) if chosen else ""
    if note:
        out.print(f"[dim]{note}[/]", highlight=False)
    if json_output:
        print_json({"ok": True, "revoked": [g.grant_id for g in chosen], "note": note})


@clients_app.command("set-policy")
@_shown_as_errors
def set_policy_command(
    grant_id: str = typer.Argument(
        ..., metavar="GRANT_ID", help="The grant (from `cfmcp clients list`; a unique prefix)."
    ),
    policy: str = typer.Argument(
        ..., metavar="POLICY", help="A policy of cfmcp.toml narrower than the grant's."
    ),
    config_path: Path = _CONFIG,
    json_output: bool = typer.Option(False, "--json", help="Print JSON (no secrets)."),
    local: bool = _LOCAL,
    state: Path = _STATE,
) -> None:
    """Narrow a live connection to a stricter policy, without the client reconnecting.
    Widening needs the PIN: reconnect from the client and choose on the consent page."""
    from cfmcp.config import load_config
    from cfmcp.console import console, err_console, print_json
    from cfmcp.errors import CfmcpError
    from cfmcp.grants import PROPAGATION_NOTE, list_grants, select, set_policy
    from cfmcp.policies import narrowed_scope

    config = load_config(config_path)
    out = err_console if json_output else console
    with _grant_store(config_path, local, state, prompt_allowed=not json_output) as (
        kv,
        ttl,
        where,
    ):
        grant = select(list_grants(kv, parallel=1 if local else 8), grant_id)
        if grant is None:
            raise CfmcpError(
                f"no grant {grant_id!r} on {where}",
                hint="`cfmcp clients list` shows the grant ids",
            )
        scope = narrowed_scope(config, grant.scope, policy)
        set_policy(kv, grant, scope, policy, ttl)
    note = LOCAL_NOTE if local else PROPAGATION_NOTE
    out.print(
        f"[green]✓[/] {grant.grant_id} ({grant.client_name or grant.short_client_id}): "
        f"{grant.policy} → {policy}",
        highlight=False,
    )
    out.print(f"[dim]{note}[/]", highlight=False)
    if json_output:
        print_json({"ok": True, "grant_id": grant.grant_id, "policy": policy, "note": note})
