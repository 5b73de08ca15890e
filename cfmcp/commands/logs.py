"""`cfmcp logs`: watch the deployed Worker work (a live tail), filtered."""

from __future__ import annotations

import os

import typer

from cfmcp.commands.options import DEFAULT_CONFIG, ConfigOption, VerboseOption


def register(app: typer.Typer) -> None:
    app.command("logs")(logs)


def logs(
    config_path: ConfigOption = DEFAULT_CONFIG,
    json_output: bool = typer.Option(
        False,
        "--json",
        help="One JSON object per line on stdout: the Worker's lines as it wrote them, other "
        'output as {"log"}, exceptions as {"exception", "message"} (never a secret).',
    ),
    status: list[str] = typer.Option(
        [],
        "--status",
        metavar="STATUS",
        help="Only requests with this status: 401, 4xx, 5xx (repeatable).",
    ),
    client: str = typer.Option(
        None,
        "--client",
        metavar="NAME",
        help="Only requests of clients whose name contains this (any case).",
    ),
    denied: bool = typer.Option(
        False, "--denied", help="Only requests with a tool call the policy refused."
    ),
    verbose: VerboseOption = False,
) -> None:
    """Show the deployed Worker's requests live: one line each (method, path, status, time,
    client, grant, policy, MCP method and tool), tool calls, notes and errors. Ctrl-C stops."""
    from cfmcp.errors import CfmcpError, Interrupted
    from cfmcp.logs.filters import RequestFilter
    from cfmcp.logs.run import run_logs
    from cfmcp.output import Output

    try:
        run_logs(config_path, os.environ, RequestFilter.of(status, client, denied), json_output)
    except KeyboardInterrupt:  # how it usually ends: the tail is deleted already
        stopped = Interrupted("interrupted")
        Output(json_output, lines=True).failure(stopped)
        raise typer.Exit(stopped.exit_code) from None
    except CfmcpError as exc:  # with --json, the failure is one line of the stream too
        Output(json_output, lines=True).failure(exc)
        raise typer.Exit(exc.exit_code) from None
