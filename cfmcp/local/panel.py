"""What `cfmcp dev` prints: where to connect, the PIN (once), and warnings."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from rich.panel import Panel
from rich.table import Table

from cfmcp.output import console, err_console


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect_commands(mcp_url: str, upstream_transport: str) -> list[tuple[str, str]]:
    """(client, command) pairs for the Worker's MCP URL. The Worker's /mcp speaks the
    upstream's transport: with a legacy HTTP+SSE upstream, GET /mcp is the event stream and
    a streamable-HTTP POST to /mcp is answered 405, so clients must be told to use SSE.
    `npx -y`: npx would otherwise stop to ask before installing; Claude Code signs in (the
    consent page, the PIN) with `claude mcp login`."""
    sse = upstream_transport == "sse"
    transport = "sse" if sse else "http"
    return [
        ("mcp-remote", f"npx -y mcp-remote {mcp_url}" + (" --transport sse-only" if sse else "")),
        ("Claude Code", f"claude mcp add --transport {transport} cfmcp {mcp_url}"),
        ("  then sign in", "claude mcp login cfmcp"),
        (
            "MCP Inspector",
            f"npx -y @modelcontextprotocol/inspector ({'SSE' if sse else 'Streamable HTTP'}, "
            f"{mcp_url})",
        ),
    ]


def show(
    *,
    origin: str,
    upstream: str,
    upstream_transport: str = "streamable-http",
    pin: str | None,
    state: Path,
    demo: bool,
    host: str,
    runtime: str | None = None,
    signing_key_kept: bool = False,
    to_stderr: bool = False,
) -> None:
    """Print the connection panel (on stderr with `to_stderr`: stdout then holds only the
    Worker's log lines). `pin` is shown only when it was generated for this run."""
    out = err_console if to_stderr else console
    mcp_url = f"{origin}/mcp"
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("MCP URL", f"[bold cyan]{mcp_url}[/]")
    table.add_row(
        "Upstream",
        upstream
        + ("  (demo server, fresh PAT)" if demo else "")
        + ("  (legacy HTTP+SSE)" if upstream_transport == "sse" else ""),
    )
    if pin is not None:
        table.add_row("PIN", f"[bold yellow]{pin}[/]  (shown once; set CFMCP_PIN to choose it)")
    else:
        table.add_row("PIN", "from CFMCP_PIN")
    if signing_key_kept:
        table.add_row("State", f"{state}  (tokens last while CFMCP_SIGNING_KEY stays the same)")
    else:
        table.add_row(
            "State",
            f"{state}  (a new signing key this run: clients connected to an earlier run sign "
            "in again; set CFMCP_SIGNING_KEY to keep them)",
        )
    if runtime is not None:
        table.add_row("Runtime", runtime)
    title = "cfmcp dev" + (" --demo" if demo else "")
    out.print(Panel(table, title=title, subtitle="Ctrl-C to stop", expand=False))
    # Commands go outside the panel, unwrapped, so they copy-paste as one line.
    out.print("Connect a client:", style="bold")
    for label, command in connect_commands(mcp_url, upstream_transport):
        out.print(f"  [dim]{label}:[/] {command}", soft_wrap=True, highlight=False)
    out.print("[dim]Requests appear below as they come (--json-logs: as JSON lines).[/]")
    if not _is_loopback(host):
        warn(
            f"listening on {host} over plain http: the PIN and tokens cross the network "
            "unencrypted; use this only on a network you trust"
        )


def warn(message: str) -> None:
    err_console.print(f"[bold yellow]warning:[/] {message}", highlight=False)


def stopped() -> None:
    err_console.print("[dim]cfmcp dev stopped[/]")
