"""`cfmcp dev`: run the same Worker locally, in front of an upstream or a demo server."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("dev")(dev)


def dev(
    upstream: str = typer.Option(None, "--upstream", "-u", help="Upstream MCP endpoint URL."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8787, "--port", "-p", help="Port to listen on (0 = any free one)."),
    state: Path = typer.Option(
        Path(".cfmcp/dev-state.sqlite3"), "--state", help="SQLite file holding the KV state."
    ),
    bundle: Path = typer.Option(
        None, "--bundle", help="Serve this already-rendered bundle instead of rendering one."
    ),
    ready_file: Path = typer.Option(
        None, "--ready-file", help='Write {"origin": ...} here once listening.'
    ),
    config: Path = typer.Option(
        None, "--config", "-c", help="Project file (default: ./cfmcp.toml when present)."
    ),
    demo: bool = typer.Option(
        False, "--demo", help="Also start a PAT-only demo MCP server and front it."
    ),
) -> None:
    """Run the same Worker on this machine (--demo: with a demo upstream).

    Secrets come from CFMCP_UPSTREAM_TOKEN (or a hidden prompt), CFMCP_PIN and
    CFMCP_SIGNING_KEY (generated when unset); nothing but the KV state is written to disk.
    """
    from cfmcp.local.launch import DevOptions, run_dev

    run_dev(DevOptions(upstream=upstream, host=host, port=port, state=state, bundle=bundle,
                       ready_file=ready_file, config=config, demo=demo))
