"""`cfmcp destroy`: delete what deploy created (only that), then clear .cfmcp/state.json.

Exit codes: 0 deleted (or nothing left to delete), 1 a call failed or the Worker is not
cfmcp's, 2 usage. Re-running after a failure continues with what is left.
"""

from __future__ import annotations

import os

import typer

from cfmcp.commands.options import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    VerboseOption,
    YesOption,
)


def register(app: typer.Typer) -> None:
    app.command("destroy")(destroy)


def destroy(
    config_path: ConfigOption = DEFAULT_CONFIG,
    yes: YesOption = False,
    keep_kv: bool = typer.Option(
        False, "--keep-kv", help="Keep the KV namespace (grants and client records)."
    ),
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Delete what `cfmcp deploy` created: domain or route, Worker, KV namespace.

    Deletes the custom domain or route pointing at the Worker, the Worker (its secrets and its
    Durable Object with the exact state go with it) and its KV namespace (unless --keep-kv),
    then clears .cfmcp/state.json. Only what deploy created is deleted: a Worker cfmcp did not
    deploy, or domains and routes of other Workers, are left alone. Asks first unless --yes;
    with nothing left it says so and exits 0.
    Exit codes: 0 deleted or nothing to delete, 1 a call failed or the Worker is not cfmcp's
    (nothing deleted then), 2 usage.
    """
    from cfmcp.account.teardown import run_destroy
    from cfmcp.output import Output

    run_destroy(config_path, os.environ, yes=yes, keep_kv=keep_kv, out=Output(json_output))
