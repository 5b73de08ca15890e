"""Show doctor results: a Rich table and one summary line for people, JSON for scripts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cfmcp.doctor.model import CONNECT, CheckResult, Status, first_problem, next_command

MARKS = {
    Status.ok: ("✓ ok", "green"),
    Status.warn: ("! warn", "yellow"),
    Status.fail: ("✗ fail", "bold red"),
    Status.skip: ("- skip", "dim"),
}


def counts(results: Sequence[CheckResult]) -> dict[str, int]:
    return {status.value: sum(r.status is status for r in results) for status in Status}


def to_json(
    results: Sequence[CheckResult], public_url: str | None, done: str = CONNECT
) -> dict[str, Any]:
    """The `--json` document (reasons and hints never hold secret values)."""
    return {
        "ok": not any(r.status is Status.fail for r in results),
        "public_url": public_url,
        "counts": counts(results),
        "next_command": next_command(results, done) or None,
        "checks": [r.to_json() for r in results],
    }


def results_table(results: Sequence[CheckResult]) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("details")
    shown_hints: set[str] = set()
    for result in results:
        mark, style = MARKS[result.status]
        details = Text(result.reason)
        if result.hint and result.status is not Status.ok and result.hint not in shown_hints:
            shown_hints.add(result.hint)
            details.append("\n→ " + result.hint, style="dim")
        table.add_row(result.title or result.name, Text(mark, style=style), details)
    return table


def summary_line(results: Sequence[CheckResult], done: str = CONNECT) -> Text:
    """One line: how it went, and the single next command to run."""
    n = counts(results)
    problem = first_problem(results)
    command = next_command(results, done)
    if n["fail"]:
        head = Text(f"{n['fail']} of {len(results)} checks failed", style="bold red")
    elif n["warn"]:
        head = Text(f"No check failed ({n['warn']} warning{'s' * (n['warn'] > 1)})", style="yellow")
    else:
        head = Text(
            f"All {n['ok']} checks that ran passed"
            if n["skip"]
            else f"All {n['ok']} checks passed",
            style="green",
        )
    if command:
        head.append(". Next: ").append(command, style="bold")
    elif problem is not None and problem.hint:
        head.append(f". Next ({problem.title or problem.name}): {problem.hint}")
    return head


def print_report(results: Sequence[CheckResult], out: Console, done: str = CONNECT) -> None:
    out.print(results_table(results))
    out.print()
    out.print(summary_line(results, done), highlight=False)
