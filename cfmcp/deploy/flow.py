"""The deploy flow behind `cfmcp deploy`, from the project file to the final panel.

observe → render (the public URL is known now) → plan → show / confirm → gather secrets →
execute (state recorded after every step) → smoke checks → summary. Kept apart from the Typer
command so tests and the benchmark can drive it directly.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from cfmcp.account.api import CloudflareApi
from cfmcp.account.session import open_session
from cfmcp.deploy.curl import format_curl
from cfmcp.deploy.executor import DisplayOnlyExecutor, Executor, RichProgress
from cfmcp.deploy.models import Plan, Step
from cfmcp.deploy.pat_gate import PatGate, check_pat_before_deploy
from cfmcp.deploy.planner import plan_deploy, public_url_for
from cfmcp.deploy.remote import Observation, observe
from cfmcp.errors import StepFailed
from cfmcp.output import Output, console, print_error, show_pin
from cfmcp.pat.verdict import iso
from cfmcp.project.config import ProjectConfig
from cfmcp.project.secrets import SecretValues, gather_secrets
from cfmcp.project.state import DeployState, StateRecorder
from cfmcp.prompts import confirm
from cfmcp.worker.contract import BUNDLE_HASH_VAR
from cfmcp.worker.render import render_bundle
from cfmcp.worker.smoke import SmokeCheck, SmokeTester


@dataclass(frozen=True)
class DeployOptions:
    config_path: Path = Path("cfmcp.toml")
    yes: bool = False
    dry_run: bool = False
    curl: bool = False
    json_output: bool = False
    skip_smoke: bool = False
    smoke_via: str | None = None
    smoke_timeout: float = 300.0
    new_upstream_token: bool = False
    skip_pat_check: bool = False


def _remember_observation(obs: Observation, recorder: StateRecorder, kv_title: str) -> None:
    remote = obs.remote
    changes: dict[str, Any] = {"token_account_owned": obs.token.account_owned}
    if remote.workers_subdomain:
        changes["workers_subdomain"] = remote.workers_subdomain
    if remote.zone is not None:
        changes.update(zone_id=remote.zone.id, zone_name=remote.zone.name)
    if remote.kv_namespace is not None:
        changes.update(kv_namespace_id=remote.kv_namespace.id, kv_namespace_title=kv_title)
    script = remote.script
    changes["script_uploaded"] = script is not None
    if script is not None:
        changes["secrets_set"] = tuple(sorted(script.secret_names))
        changes["bundle_sha256"] = script.var(BUNDLE_HASH_VAR) or ""
    changes["workers_dev_enabled"] = bool(remote.script_on_workers_dev)
    if remote.domain is not None:
        changes["custom_domain"] = remote.domain.hostname
    if remote.route is not None:
        changes.update(route_pattern=remote.route.pattern, route_id=remote.route.id)
    recorder.update(**changes)


def _plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "steps": [{"action": s.label, "detail": s.describe()} for s in plan.steps],
        "unchanged": list(plan.unchanged),
    }


def _show_pin(pin: str, out: Console, *, uncertain: bool = False) -> None:
    warning = (
        "The step that sets it failed, so it may not be set: if the re-run shows "
        "a new PIN, that one replaces this one."
    )
    show_pin(
        out,
        pin,
        title="Your PIN",
        extra="Change it later with `cfmcp rotate-pin`.",
        warning=warning if uncertain else "",
    )


def _sends_pin(steps: list[Step]) -> bool:
    return any(
        "AUTH_PIN"
        in Plan(steps=(step,), unchanged=(), public_url="", bundle_sha256="").secret_names
        for step in steps
    )


def _smoke(plan: Plan, options: DeployOptions, out: Console) -> list[SmokeCheck]:
    tester = SmokeTester(plan.public_url, via=options.smoke_via, expected_bundle=plan.bundle_sha256)
    try:
        if options.json_output:
            return tester.run(options.smoke_timeout)
        with out.status(f"Waiting for {plan.public_url} to answer …"):
            return tester.run(options.smoke_timeout)
    finally:
        tester.close()


def run_deploy(options: DeployOptions, env: Mapping[str, str]) -> int:
    """Run the whole deploy; return the exit code (errors for the user raise CfmcpError)."""
    quiet = options.json_output
    output = Output(quiet)
    out = output.console
    prompt_allowed = not options.yes
    session = open_session(options.config_path, env, prompt_allowed=prompt_allowed)
    config, state = session.config, session.state

    with session.connect() as api:
        if quiet or options.curl:
            obs = observe(api, config, state)
        else:
            with out.status("Reading what exists on the account …"):
                obs = observe(api, config, state)
        public_url = public_url_for(config, obs.remote)
        bundle = render_bundle(config, public_url=public_url)
        replace = ("UPSTREAM_TOKEN",) if options.new_upstream_token else ()
        plan = plan_deploy(config, obs.remote, bundle, replace_secrets=replace)

        if options.dry_run:
            return _dry_run(plan, config, options, api, output)

        if not quiet:
            DisplayOnlyExecutor(console).execute(plan)
        if plan.steps and not options.yes:
            confirm("Apply these changes?", default=True)

        secrets = gather_secrets(plan.secret_names, env, interactive=prompt_allowed)
        pat = _check_pat(config, secrets, env, options, out)
        if not quiet:
            _say_pat(pat, out)
        start = state if state.account_id else DeployState(config.account_id, config.name)
        recorder = StateRecorder(session.state_file, start)
        _remember_observation(obs, recorder, config.kv_namespace_title)
        recorder.update(public_url=plan.public_url)

        progress = None if quiet else RichProgress(console)
        executor = Executor(api, config.account_id, bundle, secrets.values, recorder, progress)
        try:
            executor.execute(plan)
        except StepFailed as failed:
            # The PIN may already be set (or the failed call applied and only its answer was
            # lost): show a generated one now, or it could never be shown again.
            step = failed.step
            if (
                secrets.generated_pin
                and isinstance(step, Step)
                and _sends_pin([*executor.result.done, step])
            ):
                _show_pin(
                    secrets.generated_pin, out, uncertain=not _sends_pin(executor.result.done)
                )
            raise
        if pat.outcome != "kept":
            _remember_pat(pat, recorder)
        calls = len(api.calls)

    if secrets.generated_pin:
        _show_pin(secrets.generated_pin, out)
    checks = [] if options.skip_smoke else _smoke(plan, options, out)
    ok = all(c.ok for c in checks)
    _summary(config.name, plan, calls, checks, secrets, pat, options, ok, output)
    return 0 if ok else 1


def _check_pat(
    config: ProjectConfig,
    secrets: SecretValues,
    env: Mapping[str, str],
    options: DeployOptions,
    out: Console,
) -> PatGate:
    """The PAT this deploy sends, tried upstream before any write (raises when refused)."""
    token = secrets.values.get("UPSTREAM_TOKEN")

    def check() -> PatGate:
        return check_pat_before_deploy(
            config.upstream,
            token,
            env,
            skip=options.skip_pat_check,
            replacing=options.new_upstream_token,
        )

    if token is None or options.skip_pat_check or options.json_output:
        return check()
    with out.status(f"Checking the PAT with {config.upstream.url} …"):
        return check()


def _say_pat(pat: PatGate, out: Console) -> None:
    """What was (or was not) checked of the PAT, before anything is written."""
    mark = "[yellow]![/]" if pat.warning else ("[green]✓[/]" if pat.verdict else "[dim]-[/]")
    out.print(f"{mark} {escape(pat.message)}", highlight=False)


def _remember_pat(pat: PatGate, recorder: StateRecorder) -> None:
    """When this deploy set the PAT, and its expiry if the upstream named one (no secret)."""
    stamp = datetime.now(UTC).replace(microsecond=0).isoformat()
    verdict = pat.verdict
    expires = verdict.expires_at if verdict is not None else None
    recorder.update(
        pat_set_at=stamp, pat_checked=pat.outcome == "checked", pat_expires_at=iso(expires) or ""
    )


def _dry_run(
    plan: Plan, config: ProjectConfig, options: DeployOptions, api: CloudflareApi, out: Output
) -> int:
    if options.curl:
        sys.stdout.write(format_curl(plan, config))
        sys.stdout.flush()
    elif out.json:
        out.result(
            {
                "dry_run": True,
                "public_url": plan.public_url,
                "mcp_url": plan.public_url + "/mcp",
                "bundle_sha256": plan.bundle_sha256,
                "api_calls": len(api.calls),
                **_plan_json(plan),
            }
        )
    else:
        console.print(
            f"[bold]Plan[/] for Worker [bold]{config.name}[/] → {plan.public_url}", highlight=False
        )
        DisplayOnlyExecutor(console).execute(plan)
        console.print("[dim]Dry run: nothing was changed.[/]")
    return 0


def _summary(
    name: str,
    plan: Plan,
    calls: int,
    checks: list[SmokeCheck],
    secrets: SecretValues,
    pat: PatGate,
    options: DeployOptions,
    ok: bool,
    out: Output,
) -> None:
    mcp_url = plan.public_url + "/mcp"
    if out.json:
        out.result(
            {
                "ok": ok,
                "worker": name,
                "public_url": plan.public_url,
                "mcp_url": mcp_url,
                "bundle_sha256": plan.bundle_sha256,
                "api_calls": calls,
                **_plan_json(plan),
                "secrets_set": list(plan.secret_names),
                "pin_generated": secrets.generated_pin is not None,
                "pat": pat.to_json(),
                "smoke": None if options.skip_smoke else [c.to_json() for c in checks],
            }
        )
        return
    for check in checks:
        mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
        console.print(f"{mark} {check.detail}", highlight=False)
    if not ok:
        print_error("the Worker was deployed but a smoke check failed")
        return
    verb = "Deployed" if plan.steps else "Already up to date"
    console.print(
        Panel(
            f"MCP URL  [bold]{mcp_url}[/]\n\nNext: [bold]cfmcp install-client claude-code[/] "
            "(or claude-ai, claude-desktop, cursor, vscode, mcp-remote)",
            title=f"{verb}: {name}",
            border_style="green",
            expand=False,
        )
    )
    console.print(f"[dim]{calls} Cloudflare API calls[/]")
