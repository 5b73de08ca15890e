"""Every MCP client `cfmcp install-client` knows (DESIGN.md §2b) and how each one is pointed
at a cfmcp Worker: a command, instructions, or an entry in the client's own config file.

Formats and locations were checked against each host's documentation and, where the client
could be installed from npm and read its config offline, against the client itself (see
tests/test_install_client_real.py). Each setup names its source in a comment.

With a legacy HTTP+SSE upstream the Worker's /mcp speaks SSE too, so each client gets its
SSE form; a host without SSE (Codex) gets mcp-remote as a local stdio bridge instead.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cfmcp.client_configs.jsonc import JSON, JSONC, Dialect

# "jsonc": comments allowed (trailing commas too unless the file's dialect says otherwise)
Format = Literal["json", "jsonc", "toml"]
JSON_WITH_COMMENTS = Dialect(comments=True, trailing_commas=False)


@dataclass(frozen=True)
class Server:
    """The Worker as a client sees it."""

    name: str
    url: str
    sse: bool = False  # the upstream (so the Worker's /mcp) speaks legacy HTTP+SSE
    cwd: Path = Path(".")


@dataclass(frozen=True)
class ConfigFile:
    """A client's config file: where servers live in it and what syntax the host accepts."""

    path: Path
    format: Format
    servers_at: tuple[str, ...]  # keys from the root to the object holding the servers
    dialect: Dialect = JSON  # JSON formats only


@dataclass(frozen=True)
class ClientSetup:
    """What to do for one client: run a command, follow instructions, or merge an entry."""

    client: str
    instructions: str
    command: list[str] | None = None
    sign_in: str | None = None  # how to sign in once the server is added
    config: ConfigFile | None = None
    entry: dict[str, Any] | None = None


def _mcp_remote(server: Server) -> list[str]:
    """mcp-remote (a stdio-to-remote bridge that does the OAuth sign-in in a browser)."""
    sse = ["--transport", "sse-only"] if server.sse else []
    return ["npx", "-y", "mcp-remote", server.url, *sse]


def _same_entry_for_sse(server: Server, host: str) -> str:
    return (
        f" The same entry serves this legacy-SSE Worker: {host} picks the transport itself."
        if server.sse
        else ""
    )


def _config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def claude_ai(server: Server) -> ClientSetup:
    # support.claude.com "Getting started with custom connectors using remote MCP"; Anthropic's
    # connector docs: both Streamable HTTP and the legacy HTTP+SSE transport are supported.
    transport = (
        " If Advanced settings offers a transport, choose SSE (this Worker's upstream is legacy "
        "HTTP+SSE)."
        if server.sse
        else ""
    )
    return ClientSetup(
        "claude-ai",
        "In claude.ai open Settings → Connectors → Add custom connector, name it "
        f"{server.name}, paste {server.url} as the remote MCP server URL and click Add, then "
        "Connect and approve with your PIN. Claude Desktop and the mobile apps use the same "
        f"connector.{transport}",
    )


def chatgpt(server: Server) -> ClientSetup:
    # developers.openai.com/apps-sdk "Connect from ChatGPT" and OpenAI's developer-mode help
    # page: developer mode under Settings → Apps & Connectors → Advanced, then Create; SSE
    # and streaming HTTP are both accepted.
    return ClientSetup(
        "chatgpt",
        "In ChatGPT turn on Settings → Apps & Connectors → Advanced settings → Developer mode, "
        f"then Settings → Apps & Connectors → Create: name it {server.name}, paste {server.url} "
        "as the MCP server URL, choose OAuth authentication and click Create; approve with "
        "your PIN. Enable it in a chat from + → Developer mode.",
    )


def claude_code(server: Server) -> ClientSetup:
    # `claude mcp add --transport http|sse NAME URL`, then `claude mcp login NAME` (§2b).
    transport = "sse" if server.sse else "http"
    return ClientSetup(
        "claude-code",
        "Run this command, then sign in (the consent page asks for your PIN).",
        command=["claude", "mcp", "add", "--transport", transport, server.name, server.url],
        sign_in=f"claude mcp login {server.name}",
    )


def _claude_desktop_path() -> Path:
    # Claude's MCP quickstart: macOS ~/Library/Application Support/Claude, Windows
    # %APPDATA%\Claude. There is no Linux build from Anthropic; community builds read
    # ~/.config/Claude, which is what this uses there.
    system = platform.system()
    if system == "Darwin":
        return Path.home() / "Library/Application Support/Claude/claude_desktop_config.json"
    if system == "Windows":
        appdata = os.environ.get("APPDATA") or str(Path.home() / "AppData/Roaming")
        return Path(appdata) / "Claude/claude_desktop_config.json"
    return _config_home() / "Claude/claude_desktop_config.json"


def claude_desktop(server: Server) -> ClientSetup:
    # Anthropic: Claude Desktop does not connect to remote servers written into
    # claude_desktop_config.json (those go through Settings → Connectors); a stdio command
    # there works, so the entry runs mcp-remote. Plain JSON (the app parses it strictly).
    command, *args = _mcp_remote(server)
    return ClientSetup(
        "claude-desktop",
        "Claude Desktop connects to remote servers through Settings → Connectors (as in "
        "claude.ai: see `cfmcp install-client claude-ai`). This entry instead runs mcp-remote "
        "as a local bridge (Node.js needed); restart Claude Desktop and sign in in the browser.",
        config=ConfigFile(_claude_desktop_path(), "json", ("mcpServers",)),
        entry={"command": command, "args": args},
    )


def cursor(server: Server) -> ClientSetup:
    # cursor.com/docs/mcp: ~/.cursor/mcp.json (a project's .cursor/mcp.json also works),
    # `mcpServers.NAME.url` for Streamable HTTP and SSE alike (Cursor picks the transport).
    # Not documented to allow comments, and a trailing comma breaks it: plain JSON.
    return ClientSetup(
        "cursor",
        "Cursor picks this up on restart (Settings → MCP); click the server's Connect / "
        "Needs login to sign in." + _same_entry_for_sse(server, "Cursor"),
        config=ConfigFile(Path.home() / ".cursor" / "mcp.json", "json", ("mcpServers",)),
        entry={"url": server.url},
    )


def vscode(server: Server) -> ClientSetup:
    # code.visualstudio.com/docs/copilot/reference/mcp-configuration: .vscode/mcp.json (or
    # the user profile's mcp.json), `servers.NAME {type: "http" | "sse", url}`; VS Code reads
    # it as JSON with comments (JSONC, trailing commas allowed).
    entry = {"type": "sse" if server.sse else "http", "url": server.url}
    add_mcp = json.dumps({"name": server.name, **entry})
    return ClientSetup(
        "vscode",
        "VS Code: start the server from the MCP view (or the Start code lens in mcp.json) and "
        "sign in. For every workspace instead, add it to your user profile with "
        f"`code --add-mcp {shlex.quote(add_mcp)}`.",
        config=ConfigFile(server.cwd / ".vscode" / "mcp.json", "jsonc", ("servers",), JSONC),
        entry=entry,
    )


def windsurf(server: Server) -> ClientSetup:
    # docs.windsurf.com (Cascade → MCP): ~/.codeium/windsurf/mcp_config.json (Windows
    # %USERPROFILE%\.codeium\windsurf), remote servers under `serverUrl` (HTTP and SSE).
    # Comments are not documented: plain JSON.
    return ClientSetup(
        "windsurf",
        "Windsurf: press Refresh in Cascade's MCP panel (or restart) and sign in when asked."
        + _same_entry_for_sse(server, "Windsurf"),
        config=ConfigFile(
            Path.home() / ".codeium" / "windsurf" / "mcp_config.json", "json", ("mcpServers",)
        ),
        entry={"serverUrl": server.url},
    )


def gemini(server: Server) -> ClientSetup:
    # geminicli.com/docs/tools/mcp-server and the CLI's settings schema (0.61.0):
    # ~/.gemini/settings.json, `mcpServers.NAME.httpUrl` for Streamable HTTP, `url` with
    # `type: "sse"` for SSE. It strips comments before JSON.parse (strip-json-comments), so
    # comments are fine but a trailing comma is an error (checked with `gemini mcp list`).
    entry: dict[str, Any] = (
        {"url": server.url, "type": "sse"} if server.sse else {"httpUrl": server.url}
    )
    return ClientSetup(
        "gemini",
        "Gemini CLI reads this on start (a project's .gemini/settings.json works too); it "
        "signs in only from inside its TUI, with the command below.",
        sign_in=f"/mcp auth {server.name}",
        config=ConfigFile(
            Path.home() / ".gemini" / "settings.json", "jsonc", ("mcpServers",), JSON_WITH_COMMENTS
        ),
        entry=entry,
    )


def _codex_config() -> Path:
    return Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex") / "config.toml"


def codex(server: Server) -> ClientSetup:
    # developers.openai.com/codex/mcp and `codex mcp add --help` (0.169.0): config.toml in
    # $CODEX_HOME (default ~/.codex), `[mcp_servers.NAME] url = ...` for Streamable HTTP,
    # then `codex mcp login NAME`. Codex has no SSE transport: `command`/`args` run a bridge.
    if server.sse:
        command, *args = _mcp_remote(server)
        return ClientSetup(
            "codex",
            "Codex has no legacy SSE transport, so this entry runs mcp-remote as a local "
            "bridge (Node.js needed); it opens the sign-in page itself on first use.",
            config=ConfigFile(_codex_config(), "toml", ("mcp_servers",)),
            entry={"command": command, "args": args},
        )
    return ClientSetup(
        "codex",
        f"Codex reads this on start (or run `codex mcp add {server.name} --url {server.url}`).",
        sign_in=f"codex mcp login {server.name}",
        config=ConfigFile(_codex_config(), "toml", ("mcp_servers",)),
        entry={"url": server.url},
    )


def _opencode_config() -> Path:
    # opencode.ai/docs/config: global config in ~/.config/opencode (XDG), as opencode.json
    # or opencode.jsonc; both are read as JSONC. An existing file is edited, else .json.
    folder = _config_home() / "opencode"
    for name in ("opencode.jsonc", "opencode.json"):
        if (folder / name).exists():
            return folder / name
    return folder / "opencode.json"


def opencode(server: Server) -> ClientSetup:
    # opencode.ai/docs/mcp-servers: `mcp.NAME {type: "remote", url}`; checked with
    # `opencode mcp list` (1.18.33), which also falls back to SSE by itself, so the entry is
    # the same for a legacy-SSE Worker.
    return ClientSetup(
        "opencode",
        "opencode connects on start; sign in with the command below (or /mcps in the TUI)."
        + _same_entry_for_sse(server, "opencode"),
        sign_in=f"opencode mcp auth {server.name}",
        config=ConfigFile(_opencode_config(), "jsonc", ("mcp",), JSONC),
        entry={"type": "remote", "url": server.url},
    )


def mcp_remote(server: Server) -> ClientSetup:
    return ClientSetup(
        "mcp-remote",
        "Any stdio-only client can use mcp-remote as a bridge: give it this command.",
        command=_mcp_remote(server),
    )


CLIENTS: dict[str, Callable[[Server], ClientSetup]] = {
    "claude-ai": claude_ai,
    "chatgpt": chatgpt,
    "claude-code": claude_code,
    "claude-desktop": claude_desktop,
    "cursor": cursor,
    "vscode": vscode,
    "windsurf": windsurf,
    "gemini": gemini,
    "codex": codex,
    "opencode": opencode,
    "mcp-remote": mcp_remote,
}
