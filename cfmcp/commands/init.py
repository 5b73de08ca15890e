"""`cfmcp init`: write (or edit) `cfmcp.toml`, asking only what flags and the environment don't say.

Interactive by default; `--non-interactive` takes every answer from flags and the environment.
Re-running in a project edits its file: existing values are the defaults. The Cloudflare token is
only used to check things on the spot (token, accounts, zones); it is never written anywhere.
The flow is `cfmcp.project.setup`.
"""

from __future__ import annotations

import os

import typer

from cfmcp.commands.options import DEFAULT_CONFIG, ConfigOption, JsonOption, VerboseOption


def register(app: typer.Typer) -> None:
    app.command("init")(init)


def init(
    config_path: ConfigOption = DEFAULT_CONFIG,
    non_interactive: bool = typer.Option(
        False, "--non-interactive", help="Never prompt: answers come from flags and the env."
    ),
    name: str = typer.Option("", "--name", help="Worker name (lower-case letters, digits, -)."),
    account_id: str = typer.Option(
        "",
        "--account-id",
        envvar="CLOUDFLARE_ACCOUNT_ID",
        help="Cloudflare account id (32 hex digits).",
    ),
    upstream: str = typer.Option(
        "", "--upstream", help="Upstream MCP URL, or 'github' for api.githubcopilot.com/mcp."
    ),
    auth_header: str = typer.Option(
        "", "--auth-header", help="Header carrying the PAT upstream (Authorization)."
    ),
    auth_format: str = typer.Option(
        "", "--auth-format", help='Its value, with {token}: "Bearer {token}".'
    ),
    extra_header: list[str] = typer.Option(
        [], "--extra-header", help='Static header sent upstream, "Name: value" (repeatable).'
    ),
    workers_dev: bool = typer.Option(
        False, "--workers-dev", help="Serve on <name>.<subdomain>.workers.dev (default)."
    ),
    domain: str = typer.Option("", "--domain", help="Serve on this custom domain."),
    route: str = typer.Option("", "--route", help="Serve on this route pattern (with --zone)."),
    zone: str = typer.Option("", "--zone", help="Zone of the custom domain / route."),
    access_days: float | None = typer.Option(
        None,
        "--access-token-days",
        help="Access token lifetime in days (default 30, or the file's value).",
        show_default=False,
    ),
    refresh_days: float | None = typer.Option(
        None,
        "--refresh-token-days",
        help="Refresh token lifetime in days (default 90, or the file's value).",
        show_default=False,
    ),
    server_name: str = typer.Option("", "--server-name", help="Name shown on the consent page."),
    github_read_only: bool | None = typer.Option(
        None,
        "--github-read-only/--no-github-read-only",
        help="GitHub upstream: preselect read-only (X-MCP-Readonly) for claude.ai and ChatGPT "
        "on the consent page (default: yes).",
        show_default=False,
    ),
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Create or edit cfmcp.toml for `cfmcp deploy`."""
    from cfmcp.output import Output
    from cfmcp.project.setup import InitAnswers, run_init, seconds_of_days

    answers = InitAnswers(
        name=name,
        account_id=account_id,
        upstream=upstream,
        auth_header=auth_header,
        auth_format=auth_format,
        extra_headers=tuple(extra_header),
        workers_dev=workers_dev,
        domain=domain,
        route=route,
        zone=zone,
        access_token_ttl=None if access_days is None else seconds_of_days(access_days),
        refresh_token_ttl=None if refresh_days is None else seconds_of_days(refresh_days),
        server_name=server_name,
        github_read_only=github_read_only,
    )
    run_init(
        config_path,
        answers,
        interactive=not non_interactive,
        env=dict(os.environ),
        out=Output(json_output),
    )
