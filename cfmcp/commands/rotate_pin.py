"""`cfmcp rotate-pin`: set a new consent-page PIN; `--revoke-all` also rotates SIGNING_KEY.

The flow is `cfmcp.account.rotation`. Exit codes: 0 done, 1 a call failed, 2 usage.
"""

from __future__ import annotations

import os

import typer

from cfmcp.commands.options import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    VerboseOption,
    YesOption,
)


def register(app: typer.Typer) -> None:
    app.command("rotate-pin")(rotate_pin)


def rotate_pin(
    config_path: ConfigOption = DEFAULT_CONFIG,
    revoke_all: bool = typer.Option(
        False, "--revoke-all", help="Also rotate SIGNING_KEY: disconnects every client at once."
    ),
    yes: YesOption = False,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Set a new consent-page PIN on the deployed Worker (secret AUTH_PIN).

    The PIN comes from CFMCP_PIN, a hidden prompt (Enter: generate one), or is generated and
    shown once. With --revoke-all the signing key is replaced too, which invalidates every
    client registration, code and token. Each secret change creates a new Worker version.
    Exit codes: 0 set, 1 a call failed (or the Worker is missing / not cfmcp's), 2 usage.
    """
    from cfmcp.account.rotation import run_rotation
    from cfmcp.output import Output

    run_rotation(config_path, os.environ, revoke_all=revoke_all, yes=yes, out=Output(json_output))
