"""`cfmcp install-client`: connect an MCP client to the deployed (or local) Worker."""

from __future__ import annotations

import typer

from cfmcp.commands.options import DEFAULT_CONFIG, ConfigOption, JsonOption


def register(app: typer.Typer) -> None:
    app.command("install-client")(install_client)


def install_client(
    client: str = typer.Argument(
        ..., help="claude-ai, claude-code, claude-desktop, cursor, vscode or mcp-remote."
    ),
    url: str = typer.Option("", "--url", help="MCP URL (default: the deployed Worker's)."),
    name: str = typer.Option(
        "", "--name", help="Server name in the client (default: worker name)."
    ),
    write: bool = typer.Option(
        False,
        "--write",
        help="Merge the entry into the client's config file (cursor, vscode, claude-desktop).",
    ),
    config_path: ConfigOption = DEFAULT_CONFIG,
    json_output: JsonOption = False,
) -> None:
    """Show (or write) how to connect an MCP client to your Worker."""
    from cfmcp.client_configs import run_install_client
    from cfmcp.output import Output

    run_install_client(
        client, url=url, name=name, write=write, config_path=config_path, out=Output(json_output)
    )
