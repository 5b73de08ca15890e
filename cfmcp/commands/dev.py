"""`cfmcp dev`: run the same Worker locally, in front of an upstream or a demo server."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer


class Runtime(StrEnum):
    """Where `cfmcp dev` runs the Worker."""

    python = "python"
    workerd = "workerd"


def register(app: typer.Typer) -> None:
    app.command("dev")(dev)


def dev(
    upstream: str = typer.Option(None, "--upstream", "-u", help="Upstream MCP endpoint URL."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8787, "--port", "-p", help="Port to listen on (0 = any free one)."),
    runtime: Runtime = typer.Option(
        Runtime.python,
        "--runtime",
        help="python (default, starts in well under a second): the Worker core on this "
        "CPython. workerd: the rendered bundle in Cloudflare's own runtime (Pyodide), "
        "as on the edge; needs Node.js and the npm package miniflare@4.20260120.0, "
        "starts in a few seconds.",
    ),
    state: Path = typer.Option(
        None,
        "--state",
        help="Where KV and the exact state persist: a SQLite file for python (default "
        ".cfmcp/dev-state.sqlite3), a directory for workerd (default .cfmcp/dev-state/).",
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
    miniflare_dir: Path = typer.Option(
        None,
        "--miniflare-dir",
        help="workerd: the node_modules folder (or package folder) holding miniflare "
        "(env CFMCP_MINIFLARE_DIR; default: the checkout's tests/node, ./node_modules, "
        "then npm's global folder).",
    ),
    pyodide_cache: Path = typer.Option(
        None,
        "--pyodide-cache",
        help="workerd, offline: folder holding Pyodide's bundle/ and packages/ "
        "(env CFMCP_PYODIDE_CACHE_DIR; default: a shared/workerd/ above this folder; "
        "without one workerd downloads them).",
    ),
    json_logs: bool = typer.Option(
        False,
        "--json-logs",
        help="Print the Worker's log lines as it writes them, one JSON object per line on "
        "stdout (the panel goes to stderr), instead of readable lines.",
    ),
    kv_latency_ms: int = typer.Option(
        0,
        "--kv-latency-ms",
        hidden=True,
        min=0,
        help="Testing aid (workerd): every KV operation waits this long first.",
    ),
    count_ops: bool = typer.Option(
        False,
        "--count-ops",
        hidden=True,
        help="Testing aid (workerd): count KV operations and Durable Object calls; the "
        'ready file gets "control", serving GET /ops and POST /ops/reset.',
    ),
) -> None:
    """Run the same Worker on this machine (--demo: with a demo upstream).

    Secrets come from CFMCP_UPSTREAM_TOKEN (or a hidden prompt), CFMCP_PIN and
    CFMCP_SIGNING_KEY (generated when unset); nothing but the KV state is written to disk.
    """
    from cfmcp.local.launch import DevOptions, run_dev

    run_dev(
        DevOptions(
            upstream=upstream,
            host=host,
            port=port,
            state=state,
            bundle=bundle,
            ready_file=ready_file,
            config=config,
            demo=demo,
            runtime=runtime.value,
            miniflare_dir=miniflare_dir,
            pyodide_cache=pyodide_cache,
            kv_latency_ms=kv_latency_ms,
            count_ops=count_ops,
            json_logs=json_logs,
        )
    )
