"""`cfmcp doctor`: check the project, the Cloudflare account and the live Worker at once.

Exit codes: 0 no check failed (warnings and skips allowed), 1 a check failed, 2 usage.
"""

from __future__ import annotations

import os
from typing import Any

import typer
from typer.core import TyperCommand

from cfmcp.commands.options import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    SmokeViaOption,
    VerboseOption,
)

LOCAL_OPTION = "--local"
LOCAL_AUTO = "auto"  # cfmcp.doctor.local.LOCAL_AUTO (not imported here: keep startup light)


def with_local_value(args: list[str]) -> list[str]:
    """`--local` given without a value means `--local auto`. Neither typer 0.29 (its own copy
    of click) nor older typer passes click's optional-value options through, so the command
    line is completed before it is parsed: `--local` last or followed by another option."""
    done: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--":
            return done + args[index:]
        done.append(arg)
        following = args[index + 1] if index + 1 < len(args) else None
        if arg == LOCAL_OPTION and (following is None or following.startswith("-")):
            done.append(LOCAL_AUTO)
    return done


class _DoctorCommand(TyperCommand):
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, with_local_value(list(args)))


def register(app: typer.Typer) -> None:
    app.command("doctor", cls=_DoctorCommand)(doctor)


def doctor(
    config_path: ConfigOption = DEFAULT_CONFIG,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
    smoke_via: SmokeViaOption = "",
    local: str = typer.Option(
        "",
        LOCAL_OPTION,
        metavar="[URL]",
        help="Check the Worker `cfmcp dev` runs here (the URL it recorded in .cfmcp/dev.json, "
        "else http://127.0.0.1:8787), or the one at URL, instead of the deployed one: no "
        "cfmcp.toml needed, the Cloudflare account is not checked (--smoke-via is ignored).",
    ),
    timeout: float = typer.Option(
        5.0, "--timeout", min=0.5, help="Seconds per HTTP request of the live checks."
    ),
) -> None:
    """Find what stands between your MCP clients and the upstream, and the command that fixes it.

    Checks cfmcp.toml, the Cloudflare token and account, the deployed Worker (is its bundle
    the one cfmcp.toml renders? secrets, KV, hostname), the live endpoints, Cloudflare's
    "Block AI bots" setting (claude.ai's User-Agent Claude-User) and the upstream. Needs
    CLOUDFLARE_API_TOKEN for the account checks (skipped without it). All run at once.
    Exit codes: 0 no check failed, 1 a check failed, 2 usage.
    """
    from cfmcp.doctor.context import DoctorOptions
    from cfmcp.doctor.run import run_doctor
    from cfmcp.output import Output

    options = DoctorOptions(
        config_path=config_path,
        smoke_via=None if local else smoke_via or None,
        timeout=timeout,
        local_url=local or None,
    )
    code = run_doctor(options, dict(os.environ), out=Output(json_output))
    if code:
        raise typer.Exit(code)
