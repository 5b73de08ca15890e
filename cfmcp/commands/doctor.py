"""`cfmcp doctor`: check the project, the Cloudflare account and the live Worker at once.

Exit codes: 0 no check failed (warnings and skips allowed), 1 a check failed, 2 usage.
"""

from __future__ import annotations

import os

import typer

from cfmcp.commands.options import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    SmokeViaOption,
    VerboseOption,
)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(
    config_path: ConfigOption = DEFAULT_CONFIG,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
    smoke_via: SmokeViaOption = "",
    local: str = typer.Option(
        "",
        "--local",
        metavar="URL",
        help="Check a local Worker (`cfmcp dev`, e.g. http://127.0.0.1:8787) instead of the "
        "deployed one; the Cloudflare account is not checked (--smoke-via is ignored).",
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
