"""`cfmcp deploy`: observe the account, plan, (confirm,) execute, record, smoke-test.

Exit codes: 0 deployed and every smoke check passed; 1 a step or a check failed; 2 usage.
Secrets (the PAT, the signing key) are never printed; a PIN cfmcp generated is shown once, in a
panel, never in `--json`.
"""

from __future__ import annotations

import os
from enum import StrEnum

import typer

from cfmcp.commands.options import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    SmokeViaOption,
    VerboseOption,
    YesOption,
)


class OutputFormat(StrEnum):
    plan = "plan"
    curl = "curl"


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)


def deploy(
    config_path: ConfigOption = DEFAULT_CONFIG,
    yes: YesOption = False,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; make no write call."),
    output_format: OutputFormat = typer.Option(
        OutputFormat.plan,
        "--format",
        help="With --dry-run: 'plan' (default) or 'curl' (the equivalent curl commands).",
    ),
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
    skip_smoke: bool = typer.Option(False, "--skip-smoke", help="Do not run the smoke checks."),
    smoke_via: SmokeViaOption = "",
    smoke_timeout: float = typer.Option(
        300.0, "--smoke-timeout", help="Seconds to wait for the new version to answer."
    ),
    new_upstream_token: bool = typer.Option(
        False,
        "--new-upstream-token",
        help="Replace the upstream PAT (from CFMCP_UPSTREAM_TOKEN or a hidden prompt), e.g. "
        "after it expired.",
    ),
    skip_pat_check: bool = typer.Option(
        False,
        "--skip-pat-check",
        envvar="CFMCP_SKIP_PAT_CHECK",
        help="Do not try the PAT upstream before deploying it (for an upstream this machine "
        "cannot reach; Cloudflare's network may).",
    ),
) -> None:
    """Deploy the Worker: KV namespace, upload, secrets, hostname, then smoke checks.

    Needs CLOUDFLARE_API_TOKEN (or asks for it). On the first deploy the upstream PAT comes
    from CFMCP_UPSTREAM_TOKEN (or a hidden prompt) and the PIN from CFMCP_PIN (or is
    generated and shown once); before anything is written the PAT is tried upstream (an MCP
    initialize), and a refused one stops the deploy. CLOUDFLARE_API_BASE_URL points cfmcp at
    another API endpoint.
    What was deployed is recorded in .cfmcp/state.json next to cfmcp.toml (ids, no secrets).
    Exit codes: 0 deployed and checked, 1 a step or a smoke check failed, 2 usage.
    """
    from cfmcp.deploy.flow import DeployOptions, run_deploy
    from cfmcp.errors import UsageError

    if output_format is OutputFormat.curl and not dry_run:
        raise UsageError(
            "--format curl only goes with --dry-run",
            hint="run `cfmcp deploy --dry-run --format curl`",
        )
    options = DeployOptions(
        config_path=config_path,
        yes=yes,
        dry_run=dry_run,
        curl=output_format is OutputFormat.curl,
        json_output=json_output,
        skip_smoke=skip_smoke,
        smoke_via=smoke_via or None,
        smoke_timeout=smoke_timeout,
        new_upstream_token=new_upstream_token,
        skip_pat_check=skip_pat_check,
    )
    exit_code = run_deploy(options, env=dict(os.environ))
    if exit_code:
        raise typer.Exit(exit_code)
