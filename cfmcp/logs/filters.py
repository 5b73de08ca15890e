"""`cfmcp logs --status / --client / --denied`: which requests to show.

A filter decides per request (one tail event, all its lines): a request is shown whole when
it passes every filter given — its status matches one `--status` pattern (`401`, `4xx`,
`5xx`), a line names a client containing `--client` (any case), and with `--denied` one of
its tool calls was refused by the connection's policy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cfmcp.errors import UsageError
from cfmcp.logs.entries import CFMCP, INVOCATION, LogEntry
from cfmcp.worker.log_lines import is_denied

_STATUS = re.compile(r"^[1-5](?:\d\d|xx)$")


@dataclass(frozen=True)
class StatusPattern:
    """`401` (exactly), or `4xx` (the class)."""

    text: str

    @classmethod
    def parse(cls, text: str) -> StatusPattern:
        value = text.strip().lower()
        if not _STATUS.match(value):
            raise UsageError(f"--status {text!r} is not a status", hint="give e.g. 401, 4xx or 5xx")
        return cls(value)

    def matches(self, status: int) -> bool:
        if self.text.endswith("xx"):
            return status // 100 == int(self.text[0])
        return status == int(self.text)


@dataclass(frozen=True)
class RequestFilter:
    statuses: tuple[StatusPattern, ...] = ()
    client: str | None = None
    denied: bool = False

    @classmethod
    def of(cls, statuses: Sequence[str], client: str | None, denied: bool) -> RequestFilter:
        return cls(tuple(StatusPattern.parse(s) for s in statuses), client or None, denied)

    def shows(self, entries: Sequence[LogEntry]) -> bool:
        lines = [entry.line for entry in entries if entry.kind == CFMCP]
        if self.statuses:
            status = status_of(entries)
            if status is None or not any(p.matches(status) for p in self.statuses):
                return False
        if self.client is not None:
            wanted = self.client.casefold()
            names = [str(line.get("client", "")).casefold() for line in lines]
            if not any(wanted in name for name in names):
                return False
        return not self.denied or any(is_denied(line) for line in lines)


def status_of(entries: Sequence[LogEntry]) -> int | None:
    """The request's status: its request line's, else the tail event's response."""
    for entry in entries:
        if entry.is_request_line and isinstance(entry.line.get("status"), int):
            return int(entry.line["status"])
        if entry.kind == INVOCATION and isinstance(entry.invocation.get("status"), int):
            return int(entry.invocation["status"])
    return None
