"""The audit trail: one structured log line per `tools/call`, allowed or refused.

A line is one JSON object on stdout (the Workers runtime sends stdout to the Worker's logs,
and Workers Logs indexes a JSON line's fields): `event`, `grant`, `client`, `tool`, `policy`,
`decision` (`allowed` or `denied`), `status` (the upstream's HTTP status; null when the call
never reached it) and `ms` (until the upstream's answer began). Never arguments, tokens or
headers: what a tool was called with may be private, and the line is all a log reader sees.
"""

from __future__ import annotations

import json

EVENT = "tools/call"
ALLOWED = "allowed"
DENIED = "denied"


class Caller:
    """Who a request is from, as the audit line names it."""

    __slots__ = ("client_id", "grant_id")

    def __init__(self, grant_id: str, client_id: str) -> None:
        self.grant_id = grant_id
        self.client_id = client_id

    def log(self, tool: str, policy: str, denied: bool, status: int | None, ms: float = 0.0):
        line = {
            "event": EVENT,
            "grant": self.grant_id,
            "client": self.client_id,
            "tool": tool,
            "policy": policy,
            "decision": DENIED if denied else ALLOWED,
            "status": status,
            "ms": round(ms, 1),
        }
        print(json.dumps(line, separators=(",", ":")))


def note(message: str) -> None:
    print(f"cfmcp: {message}")
