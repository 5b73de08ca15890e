"""The audit trail: one `tools/call` log line per tool call, allowed or refused.

The line (its format is `log_lines.py`'s): `grant`, `client`, `tool`, `policy`, `decision`
(`allowed` or `denied`), `status` (the upstream's HTTP status; absent when the call never
reached it) and `headers_ms` (until the upstream's answer began). Never arguments, tokens or
headers: what a tool was called with may be private, and the line is all a log reader sees.
"""

from __future__ import annotations

from cfmcp_worker import log_lines


class Caller:
    """Who a request is from, as the audit line names it: the grant (shortened) and the
    client's name."""

    __slots__ = ("client", "grant")

    def __init__(self, grant_id: str, client: str) -> None:
        self.grant = log_lines.short_grant(grant_id)
        self.client = client

    def log(
        self, tool: str, policy: str, denied: bool, status: int | None, ms: float | None = None
    ) -> None:
        log_lines.write(
            log_lines.TOOL_CALL,
            {
                "grant": self.grant,
                "client": self.client,
                "tool": tool,
                "policy": policy,
                "decision": log_lines.DENIED if denied else log_lines.ALLOWED,
                "status": status,
                "headers_ms": None if ms is None else round(ms, 1),
            },
        )


def note(message: str) -> None:
    log_lines.note(message)
