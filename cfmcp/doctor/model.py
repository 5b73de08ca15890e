"""Checks, their results and the choice of the one next command to run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Generic, TypeVar

C = TypeVar("C")

INIT = "cfmcp init"
DEPLOY = "cfmcp deploy"
DEV = "cfmcp dev"
SET_TOKEN = "export CLOUDFLARE_API_TOKEN=… && cfmcp doctor"
CONNECT = "cfmcp install-client claude-ai"


class Status(StrEnum):
    ok = "ok"
    warn = "warn"
    fail = "fail"
    skip = "skip"


@dataclass(frozen=True)
class CheckResult:
    """What one check found; `next_command` is what fixes it (empty when nothing does)."""

    status: Status
    reason: str
    hint: str = ""
    next_command: str = ""
    name: str = ""
    title: str = ""

    def named(self, name: str, title: str) -> CheckResult:
        return replace(self, name=name, title=title)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status.value,
            "reason": self.reason,
            "hint": self.hint or None,
            "next_command": self.next_command or None,
        }


@dataclass(frozen=True)
class Check(Generic[C]):
    """A named check: `run(context)` returns its result or raises Skip / CfmcpError."""

    name: str
    title: str
    run: Callable[[C], CheckResult]


class Skip(Exception):
    """Raised by a check (or a lookup it needs) when it cannot run; becomes a skip result."""

    def __init__(self, reason: str, hint: str = "", next_command: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint
        self.next_command = next_command


def ok(reason: str) -> CheckResult:
    return CheckResult(Status.ok, reason)


def warn(reason: str, hint: str = "", next_command: str = "") -> CheckResult:
    return CheckResult(Status.warn, reason, hint, next_command)


def fail(reason: str, hint: str = "", next_command: str = "") -> CheckResult:
    return CheckResult(Status.fail, reason, hint, next_command)


def skip(reason: str, hint: str = "", next_command: str = "") -> CheckResult:
    return CheckResult(Status.skip, reason, hint, next_command)


def first_problem(results: Sequence[CheckResult]) -> CheckResult | None:
    """The result the summary is about: the first failure, else the first warning or skip
    that names a command (results are in dependency order)."""
    failures = [r for r in results if r.status is Status.fail]
    if failures:
        return failures[0]
    for wanted in (Status.warn, Status.skip):
        for result in results:
            if result.status is wanted and result.next_command:
                return result
    return None


def next_command(results: Sequence[CheckResult], done: str = CONNECT) -> str:
    """The one command to run next ("" when the first failure is fixed outside cfmcp);
    `done`: the one when nothing is wrong."""
    problem = first_problem(results)
    return done if problem is None else problem.next_command
