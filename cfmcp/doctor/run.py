"""The doctor flow behind `cfmcp doctor`: build the context, run the checks, report."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from cfmcp.console import console, print_json
from cfmcp.doctor.checks import CHECKS
from cfmcp.doctor.context import DoctorContext, DoctorOptions
from cfmcp.doctor.model import CheckResult, Skip, Status
from cfmcp.doctor.report import print_report, to_json
from cfmcp.doctor.runner import Check, run_checks
from cfmcp.errors import CfmcpError


def _public_url(ctx: DoctorContext) -> str | None:
    try:
        return ctx.public_url()
    except (Skip, CfmcpError):
        return None


def run_doctor(
    options: DoctorOptions,
    env: Mapping[str, str],
    *,
    json_output: bool = False,
    checks: Sequence[Check[DoctorContext]] = CHECKS,
) -> int:
    """Run every check; print the table (or JSON); return 0 when none failed, else 1."""
    ctx = DoctorContext(options, env)
    try:
        results = run_checks(checks, ctx) if json_output else _run_with_spinner(checks, ctx)
        public_url = _public_url(ctx)
    finally:
        ctx.close()
    if json_output:
        print_json(to_json(results, public_url))
    else:
        if public_url:
            console.print(f"[bold]cfmcp doctor[/] · {public_url}", highlight=False)
        print_report(results, console)
    return 1 if any(r.status is Status.fail for r in results) else 0


def _run_with_spinner(
    checks: Sequence[Check[DoctorContext]], ctx: DoctorContext
) -> list[CheckResult]:
    done = 0
    lock = threading.Lock()
    with console.status(f"Running {len(checks)} checks …") as status:

        def progress(_: CheckResult) -> None:
            nonlocal done
            with lock:
                done += 1
                status.update(f"Running {len(checks)} checks … {done} done")

        return run_checks(checks, ctx, on_done=progress)
