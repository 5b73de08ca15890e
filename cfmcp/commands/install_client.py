"""`cfmcp install-client`: connect an MCP client to the deployed (or local) Worker."""

from __future__ import annotations

import typer

from cfmcp.commands.options import DEFAULT_CONFIG, ConfigOption, JsonOption

# The names of cfmcp.client_configs.hosts.CLIENTS (kept here so --help imports nothing).
CLIENT_NAMES = (
    "claude-ai, chatgpt, claude-code, claude-desktop, cursor, vscode, windsurf, gemini, "
    "codex, opencode or mcp-remote"
)


def register(app: typer.Typer) -> None:
    app.command("install-client")(install_client)


def install_client(
    client: str = typer.Argument(..., metavar="CLIENT", help=f"{CLIENT_NAMES}."),
    url: str = typer.Option("", "--url", help="MCP URL (default: the deployed Worker's)."),
    name: str = typer.Option(
        "", "--name", help="Server name in the client (default: worker name)."
    ),
    transport: str = typer.Option(
        "",
        "--transport",
        help="streamable-http or sse (default: the project's \\[upstream] transport).",
    ),
    write: bool = typer.Option(
        False,
        "--write",
        help="Merge the entry into the client's config file (claude-desktop, cursor, vscode, "
        "windsurf, gemini, codex, opencode); comments and other servers stay.",
    ),
    force: bool = typer.Option(
        False, "--force", help="With --write: replace a server of the same name."
    ),
    config_path: ConfigOption = DEFAULT_CONFIG,
    json_output: JsonOption = False,
) -> None:
    """Show (or write) how to connect an MCP client to your Worker."""
    from cfmcp.client_configs.install import run_install_client
    from cfmcp.output import Output

    run_install_client(
        client,
        url=url,
        name=name,
        transport=transport,
        write=write,
        force=force,
        config_path=config_path,
        out=Output(json_output),
    )
