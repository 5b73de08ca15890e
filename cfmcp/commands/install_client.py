"""`cfmcp install-client`: connect an MCP client to the deployed (or local) Worker."""

from __future__ import annotations

import shlex
from pathlib import Path

import typer

from cfmcp.console import console, print_json


def register(app: typer.Typer) -> None:
    app.command("install-client")(install_client)


def _resolve_url(url: str, config_path: Path) -> tuple[str, str]:
    """(server name, MCP URL) from --url, else from the project file."""
    from cfmcp.config import load_config
    from cfmcp.errors import UsageError

    if url:
        name = "cfmcp"
        if config_path.exists():
            name = load_config(config_path).name
        return name, url.rstrip("/")
    if not config_path.exists():
        raise UsageError(
            "no --url given and no cfmcp.toml here",
            hint="pass --url https://…/mcp, or run this in your cfmcp project",
        )
    config = load_config(config_path)
    from cfmcp.deploy.state import load_state, state_path

    recorded = load_state(state_path(config_path.parent)).public_url
    origin = recorded or config.public_origin()
    if not origin:
        raise UsageError(
            "this project has not been deployed yet, so its URL is unknown",
            hint="run `cfmcp deploy` first, or pass --url",
        )
    return config.name, origin.rstrip("/") + "/mcp"


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
    config_path: Path = typer.Option(Path("cfmcp.toml"), "--config", "-c", help="Project file."),
    json_output: bool = typer.Option(False, "--json", help="Print the setup as JSON."),
) -> None:
    """Show (or write) how to connect an MCP client to your Worker."""
    from cfmcp.client_configs import merge_into_file, setup_for

    server_name, mcp_url = _resolve_url(url, config_path)
    server_name = name or server_name
    setup = setup_for(client, server_name, mcp_url, Path.cwd())
    written = merge_into_file(setup, server_name) if write else None
    if json_output:
        print_json(
            {
                "client": client,
                "name": server_name,
                "mcp_url": mcp_url,
                "command": setup.command,
                "config_path": str(setup.config_path or ""),
                "entry": setup.entry,
                "written": bool(written),
            }
        )
        return
    console.print(f"[bold]{client}[/] → {mcp_url}")
    console.print(setup.instructions)
    if setup.command:
        console.print(f"\n  [bold cyan]{shlex.join(setup.command)}[/]\n", highlight=False)
    snippet = setup.snippet(server_name)
    if written:
        console.print(f"Wrote the '{server_name}' entry to [bold]{written}[/]")
    elif snippet:
        console.print(f"Add this to [bold]{setup.config_path}[/] (or re-run with --write):")
        console.print(snippet, highlight=False, markup=False)
