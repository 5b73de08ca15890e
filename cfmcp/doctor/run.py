"""The doctor flow behind `cfmcp doctor`: build the context, run the checks concurrently
(each becomes exactly one CheckResult, in list order), report."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from cfmcp.doctor.checks import CHECKS, LOCAL_CHECKS
from cfmcp.doctor.context import DoctorContext, DoctorOptions
from cfmcp.doctor.local import require_answer
from cfmcp.doctor.model import CONNECT, Check, CheckResult, Skip, Status, fail, skip
from cfmcp.doctor.report import print_report, to_json
from cfmcp.errors import CfmcpError
from cfmcp.output import Output, console

C = TypeVar("C")


def run_one(check: Check[C], context: C) -> CheckResult:
    """One check, with any exception turned into a result (a bug is a failure, not a crash)."""
    try:
        result = check.run(context)
    except Skip as exc:
        result = skip(exc.reason, exc.hint, exc.next_command)
    except CfmcpError as exc:
        result = fail(exc.message, exc.hint or "")
    except Exception as exc:  # a bug in a check is reported as its failure
        result = fail(
            f"the check itself failed: {type(exc).__name__}",
            "please report this with `cfmcp doctor --json`",
        )
    return result.named(check.name, check.title)


def run_checks(
    checks: Sequence[Check[C]],
    context: C,
    on_done: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
    """Run all checks at once, one thread each; return their results in the checks' order.

    `on_done` is called (from the check's thread) as each one finishes, e.g. to update a
    spinner.
    """
    if not checks:
        return []

    def run_and_report(check: Check[C]) -> CheckResult:
        result = run_one(check, context)
        if on_done is not None:
            on_done(result)
        return result

    with ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="cfmcp-doctor") as pool:
        futures = [pool.submit(run_and_report, check) for check in checks]
        return [future.result() for future in futures]


def _public_url(ctx: DoctorContext) -> str | None:
    try:
        return ctx.public_url()
    except (Skip, CfmcpError):
        return None


def run_doctor(
    options: DoctorOptions,
    env: Mapping[str, str],
    *,
    out: Output | None = None,
    checks: Sequence[Check[DoctorContext]] | None = None,
) -> int:
    """Run every check; print the table (or JSON); return 0 when none failed, else 1.

    With `--local`, the local checks, and none at all when nothing answers there
    (DevNotRunning: one line)."""
    out = out or Output()
    ctx = DoctorContext(options, env)
    if checks is None:
        checks = LOCAL_CHECKS if ctx.local else CHECKS
    try:
        if ctx.local:
            require_answer(ctx.local_target(), ctx.http)
        results = run_checks(checks, ctx) if out.json else _run_with_spinner(checks, ctx)
        public_url = _public_url(ctx)
    finally:
        ctx.close()
    # A local Worker is for local clients: Claude Code, not claude.ai (it cannot reach it).
    done = f"cfmcp install-client claude-code --url {public_url}/mcp" if ctx.local else CONNECT
    if out.json:
        out.result(to_json(results, public_url, done))
    else:
        if public_url:
            console.print(f"[bold]cfmcp doctor[/] · {public_url}", highlight=False)
        print_report(results, console, done)
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
