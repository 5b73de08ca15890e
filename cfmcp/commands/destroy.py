"""`cfmcp destroy`: delete what deploy created (only that), then clear .cfmcp/state.json.

Exit codes: 0 deleted (or nothing left to delete), 1 a call failed or the Worker is not
cfmcp's, 2 usage. Re-running after a failure continues with what is left.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("destroy")(destroy)


def destroy(
    config_path: Path = typer.Option(Path("cfmcp.toml"), "--config", "-c", help="Project file."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking."),
    keep_kv: bool = typer.Option(
        False, "--keep-kv", help="Keep the KV namespace (grants and client records)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print a JSON summary (no secrets)."),
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
    from cfmcp.console import print_json
    from cfmcp.errors import CfmcpError

    try:
        _destroy(config_path, yes=yes, keep_kv=keep_kv, json_output=json_output)
    except CfmcpError as exc:
        if json_output:
            print_json({"ok": False, "error": exc.message, "hint": exc.hint})
        raise


def _destroy(config_path: Path, *, yes: bool, keep_kv: bool, json_output: bool) -> None:
    from cfmcp.console import console, err_console, print_json
    from cfmcp.destroy import delete, find_targets
    from cfmcp.errors import CfmcpError
    from cfmcp.project import connect, open_project

    out = err_console if json_output else console
    project = open_project(config_path, os.environ, prompt_allowed=not yes)
    config = project.config
    where = f"Worker {config.name} on account {config.account_id}"
    with connect(project) as api:
        found = find_targets(api, config, project.state, keep_kv=keep_kv)
        for line in found.kept:
            out.print(f"[dim]kept:[/] {line}", highlight=False)
        if found.targets and not yes:
            out.print(f"[bold]This deletes, for {where}:[/]", highlight=False)
            for target in found.targets:
                out.print(f"  [red]-[/] {_describe(target.kind, target.name)}", highlight=False)
            if not typer.confirm("Delete these?", default=False, err=True):
                raise typer.Abort()
        deleted = []
        for number, target in enumerate(found.targets):
            try:
                delete(api, config.account_id, target)
            except CfmcpError as exc:
                raise CfmcpError(
                    f"deleting {target.label} failed ({number} of {len(found.targets)} "
                    f"deleted): {exc.message}",
                    hint=(exc.hint + "; " if exc.hint else "")
                    + "re-run `cfmcp destroy`: it continues with what is left",
                ) from None
            deleted.append(target)
            out.print(f"[green]✓[/] deleted {target.label}", highlight=False)
        calls = len(api.calls)
    project.state_file.unlink(missing_ok=True)
    if not deleted:
        out.print(f"Nothing to delete for {where}.", highlight=False)
    if json_output:
        print_json(
            {
                "ok": True,
                "worker": config.name,
                "deleted": [t.to_json() for t in deleted],
                "kept": found.kept,
                "api_calls": calls,
            }
        )


def _describe(kind: str, name: str) -> str:
    extra = {
        "Worker": " (its secrets, versions, workers.dev route and Durable Object storage)",
        "KV namespace": " (every grant: all clients are disconnected)",
    }.get(kind, "")
    return f"{kind} {name}{extra}"
