"""`cfmcp rotate-pin`: set a new consent-page PIN; `--revoke-all` also rotates SIGNING_KEY.

The PIN comes from CFMCP_PIN, a hidden prompt, or is generated and shown once in a panel (on
stderr with --json, never in the JSON). The signing key is generated and never shown.
Exit codes: 0 done, 1 a call failed, 2 usage.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console

CONFIRM_PIN = "This sets a new PIN: the old one stops working on the consent page."
KEEP_NOTE = "Clients already connected keep working."
CONFIRM_REVOKE_ALL = (
    "--revoke-all also replaces SIGNING_KEY: every client registration, authorization code, "
    "access token and refresh token stops working at once, so every client must register and "
    "be approved again with the new PIN."
)
VERSIONS_NOTE = "Each secret change creates a new Worker version (it serves within seconds)."


def register(app: typer.Typer) -> None:
    app.command("rotate-pin")(rotate_pin)


def rotate_pin(
    config_path: Path = typer.Option(Path("cfmcp.toml"), "--config", "-c", help="Project file."),
    revoke_all: bool = typer.Option(
        False, "--revoke-all", help="Also rotate SIGNING_KEY: disconnects every client at once."
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Do not ask; never prompt (PIN from CFMCP_PIN or generated)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print a JSON summary (no secrets)."),
) -> None:
    """Set a new consent-page PIN on the deployed Worker (secret AUTH_PIN).

    The PIN comes from CFMCP_PIN, a hidden prompt (Enter: generate one), or is generated and
    shown once. With --revoke-all the signing key is replaced too, which invalidates every
    client registration, code and token. Each secret change creates a new Worker version.
    Exit codes: 0 set, 1 a call failed (or the Worker is missing / not cfmcp's), 2 usage.
    """
    from cfmcp.console import print_json
    from cfmcp.errors import CfmcpError

    try:
        _rotate(config_path, revoke_all=revoke_all, yes=yes, json_output=json_output)
    except CfmcpError as exc:
        if json_output:
            print_json({"ok": False, "error": exc.message, "hint": exc.hint})
        raise


def _rotate(config_path: Path, *, revoke_all: bool, yes: bool, json_output: bool) -> None:
    from cfmcp.console import console, err_console, print_json
    from cfmcp.deploy.secret_values import gather_secrets
    from cfmcp.errors import CfmcpError
    from cfmcp.project import connect, open_project, our_worker

    out = err_console if json_output else console
    project = open_project(config_path, os.environ, prompt_allowed=not yes)
    config = project.config
    names = ("AUTH_PIN", "SIGNING_KEY") if revoke_all else ("AUTH_PIN",)
    with connect(project) as api:
        our_worker(api, config)
        if not yes:
            out.print(CONFIRM_PIN, highlight=False)
            if revoke_all:
                out.print(f"[bold yellow]{CONFIRM_REVOKE_ALL}[/]", highlight=False)
            else:
                out.print(KEEP_NOTE, highlight=False)
            out.print(VERSIONS_NOTE, highlight=False)
            if not typer.confirm(
                f"Rotate on Worker {config.name}?", default=not revoke_all, err=True
            ):
                raise typer.Abort()
        # The signing key is always generated here (CFMCP_SIGNING_KEY is for deploy/dev).
        env = {k: v for k, v in os.environ.items() if k != "CFMCP_SIGNING_KEY"}
        secrets = gather_secrets(names, env, prompt=None if yes else _hidden_prompt)
        done: list[str] = []
        try:
            for name in names:
                api.put_secret(config.account_id, config.name, name, secrets.values[name])
                done.append(name)
                out.print(f"[green]✓[/] set {name} (new Worker version)", highlight=False)
        except CfmcpError as exc:
            if secrets.generated_pin:  # it may be set (the answer, not the call, may be lost)
                _show_pin(secrets.generated_pin, out, uncertain="AUTH_PIN" not in done)
            raise CfmcpError(
                f"setting {names[len(done)]} failed: {exc.message}",
                hint=(exc.hint + "; " if exc.hint else "") + "re-run `cfmcp rotate-pin`",
            ) from None
        calls = len(api.calls)
    if secrets.generated_pin:
        _show_pin(secrets.generated_pin, out)
    if revoke_all:
        out.print(
            "Every client was disconnected: connect them again (`cfmcp install-client`). "
            "`cfmcp clients list` may show their old grants until they expire.",
            highlight=False,
        )
    if json_output:
        print_json(
            {
                "ok": True,
                "worker": config.name,
                "secrets_set": list(names),
                "pin_generated": secrets.generated_pin is not None,
                "revoked_all": revoke_all,
                "new_versions": len(names),
                "api_calls": calls,
            }
        )


def _hidden_prompt(text: str) -> str:
    return typer.prompt(text, default="", show_default=False, hide_input=True, err=True)


def _show_pin(pin: str, out: Console, *, uncertain: bool = False) -> None:
    from rich.panel import Panel

    note = (
        "\n[yellow]The call that sets it failed, so it may not be set: if the old PIN "
        "still works, re-run `cfmcp rotate-pin`.[/]"
        if uncertain
        else ""
    )
    out.print(
        Panel(
            f"[bold]{pin}[/]\n\n"
            "Users type this PIN on the consent page when they connect a client.\n"
            "It is shown only this once and stored only as a Cloudflare secret: keep it safe."
            + note,
            title="Your new PIN",
            border_style="yellow",
            expand=False,
        )
    )
