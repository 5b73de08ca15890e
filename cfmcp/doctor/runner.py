"""Run independent checks concurrently; each becomes exactly one CheckResult, in list order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from cfmcp.doctor.model import CheckResult, Skip, fail, skip
from cfmcp.errors import CfmcpError

C = TypeVar("C")


@dataclass(frozen=True)
class Check(Generic[C]):
    """A named check: `run(context)` returns its result or raises Skip / CfmcpError."""

    name: str
    title: str
    run: Callable[[C], CheckResult]


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
