"""`cfmcp install-client`: how each MCP client is pointed at a cfmcp Worker (commands, JSON
snippets, config files), and merging the entry into the client's own file."""

from __future__ import annotations

import json
import os
import platform
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.markup import escape

from cfmcp.errors import ClientConfigError, UsageError
from cfmcp.output import Output


@dataclass(frozen=True)
class ClientSetup:
    """What to do for one client: a command to run, or an entry to merge into a JSON file."""

    client: str
    instructions: str
    command: list[str] | None = None
    config_path: Path | None = None
    config_key: str | None = None  # top-level object holding servers, e.g. "mcpServers"
    entry: dict[str, Any] | None = None

    def snippet(self, name: str) -> str | None:
        if self.entry is None or self.config_key is None:
            return None
        return json.dumps({self.config_key: {name: self.entry}}, indent=2)


def _claude_desktop_config() -> Path:
    system = platform.system()
    if system == "Darwin":
        return Path.home() / "Library/Application Support/Claude/claude_desktop_config.json"
    if system == "Windows":
        return (
            Path(os.environ.get("APPDATA", str(Path.home()))) / "Claude/claude_desktop_config.json"
        )
    return Path.home() / ".config/Claude/claude_desktop_config.json"


CLIENTS = ("claude-ai", "claude-code", "claude-desktop", "cursor", "vscode", "mcp-remote")


def setup_for(client: str, name: str, mcp_url: str, project_dir: Path) -> ClientSetup:
    """The setup of `client` for a server called `name` at `mcp_url`."""
    if client == "claude-ai":
        return ClientSetup(
            client,
            (
                "In claude.ai open Settings → Connectors → Add custom connector, paste "
                f"{mcp_url} as the URL and click Connect; approve with your PIN."
            ),
        )
    if client == "claude-code":
        return ClientSetup(
            client,
            "Run this command, then `/mcp` in Claude Code to sign in.",
            command=["claude", "mcp", "add", "--transport", "http", name, mcp_url],
        )
    if client == "claude-desktop":
        return ClientSetup(
            client,
            "Claude Desktop reaches OAuth servers through mcp-remote; restart it after.",
            config_path=_claude_desktop_config(),
            config_key="mcpServers",
            entry={"command": "npx", "args": ["-y", "mcp-remote", mcp_url]},
        )
    if client == "cursor":
        return ClientSetup(
            client,
            "Cursor picks this up on restart and opens the sign-in page.",
            config_path=Path.home() / ".cursor" / "mcp.json",
            config_key="mcpServers",
            entry={"url": mcp_url},
        )
    if client == "vscode":
        return ClientSetup(
            client,
            "VS Code: start the server from the MCP view and sign in.",
            config_path=project_dir / ".vscode" / "mcp.json",
            config_key="servers",
            entry={"type": "http", "url": mcp_url},
        )
    if client == "mcp-remote":
        return ClientSetup(
            client,
            "Any stdio-only client can use mcp-remote as a bridge.",
            command=["npx", "-y", "mcp-remote", mcp_url],
        )
    raise UsageError(f"unknown client {client!r}", hint=f"choose one of: {', '.join(CLIENTS)}")


def merge_into_file(setup: ClientSetup, name: str) -> Path:
    """Add (or replace) this server's entry in the client's JSON config, keeping the rest."""
    if setup.config_path is None or setup.config_key is None or setup.entry is None:
        instead = shlex.join(setup.command) if setup.command else setup.instructions
        raise UsageError(
            f"{setup.client} is not configured through a file (leave out --write)",
            hint=f"instead: {instead}",
        )
    path = setup.config_path
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8") or "{}")
        except ValueError:
            raise ClientConfigError(
                f"{path} is not valid JSON", hint="fix or move the file, then run this again"
            ) from None
        if not isinstance(data, dict):
            raise ClientConfigError(f"{path} does not hold a JSON object")
    servers = data.setdefault(setup.config_key, {})
    if not isinstance(servers, dict):
        raise ClientConfigError(f"'{setup.config_key}' in {path} is not an object")
    servers[name] = setup.entry
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def resolve_server(url: str, config_path: Path) -> tuple[str, str]:
    """(server name, MCP URL) from `url`, else from the project file and its deploy record."""
    from cfmcp.project.config import load_config
    from cfmcp.project.state import load_state, state_path

    if url:
        name = load_config(config_path).name if config_path.exists() else "cfmcp"
        return name, url.rstrip("/")
    if not config_path.exists():
        raise UsageError(
            "no --url given and no cfmcp.toml here",
            hint="pass --url https://…/mcp, or run this in your cfmcp project",
        )
    config = load_config(config_path)
    recorded = load_state(state_path(config_path.parent)).public_url
    origin = recorded or config.public_origin()
    if not origin:
        raise UsageError(
            "this project has not been deployed yet, so its URL is unknown",
            hint="run `cfmcp deploy` first, or pass --url",
        )
    return config.name, origin.rstrip("/") + "/mcp"


def run_install_client(
    client: str, *, url: str, name: str, write: bool, config_path: Path, out: Output
) -> None:
    """Show (or merge into the client's file) the setup of `client` for this Worker."""
    server_name, mcp_url = resolve_server(url, config_path)
    server_name = name or server_name
    setup = setup_for(client, server_name, mcp_url, Path.cwd())
    written = merge_into_file(setup, server_name) if write else None
    out.result(
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
    if out.json:
        return
    out.console.print(f"[bold]{client}[/] → {mcp_url}")
    out.console.print(setup.instructions)
    if setup.command:
        out.say(f"\n  [bold cyan]{escape(shlex.join(setup.command))}[/]\n")
    snippet = setup.snippet(server_name)
    if written:
        out.console.print(f"Wrote the '{server_name}' entry to [bold]{written}[/]")
    elif snippet:
        out.console.print(f"Add this to [bold]{setup.config_path}[/] (or re-run with --write):")
        out.console.print(snippet, highlight=False, markup=False)
