"""What there is to show: the Worker's cfmcp lines, its other output, and exceptions.

A Workers tail event (wrangler's `trace-v1` shape) is one invocation: `event.request` (url,
method, headers), `event.response.status`, `outcome`, `logs` ([{message: [...], level,
timestamp}]) and `exceptions` ([{name, message, timestamp}]). Only what is safe to show is
kept: cfmcp's lines as the Worker wrote them (they hold no secret by construction; their
values are masked all the same), other printed text and exception messages with anything
shaped like a credential masked (`redact`), and for a request that printed no
cfmcp line its method, path (never the query string), status and outcome. Request headers
are never kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cfmcp.worker.contract import LOG_REQUEST
from cfmcp.worker.log_lines import WorkerLine, kind_of, read_line

CFMCP = "cfmcp"
LOG = "log"
EXCEPTION = "exception"
INVOCATION = "invocation"
LATEST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: a later time is no time
_CREDENTIAL = re.compile(
    r"\b(?P<cfmcp>cfat|cfrt|cfcode|cfc|cfreq)\.[A-Za-z0-9_.~+/=-]+"
    r"|(?i:\b(?P<scheme>bearer|basic)\s+)[A-Za-z0-9_.~+/=-]{8,}"
    r"|\b(?P<github>gh[pousr]_|github_pat_)[A-Za-z0-9_]{16,}"
    r"|(?i:\b(?P<param>\w*(?:token|key))=)[A-Za-z0-9_.~+/%=-]{16,}"
)


def _masked(match: re.Match[str]) -> str:
    found = match.groupdict()
    if found["cfmcp"]:
        return f"{found['cfmcp']}.<redacted>"
    if found["scheme"]:
        return f"{found['scheme']} <redacted>"
    if found["github"]:
        return f"{found['github']}<redacted>"
    return f"{found['param']}=<redacted>"


def redact(text: str) -> str:
    """`text` with credentials masked: cfmcp tokens, Authorization credentials, GitHub tokens
    (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`) and a long value of a `…token=` or
    `…key=` parameter."""
    return _CREDENTIAL.sub(_masked, text)


@dataclass(frozen=True)
class LogEntry:
    """One line to show. `kind` CFMCP: `line` is the Worker's line; LOG: `text` and `level`;
    EXCEPTION: `name` and `text`; INVOCATION: a request that printed no cfmcp line."""

    kind: str
    at: datetime | None = None
    line: WorkerLine = field(default_factory=dict)
    text: str = ""
    level: str = "log"
    name: str = ""
    invocation: dict[str, Any] = field(default_factory=dict)

    @property
    def is_request_line(self) -> bool:
        return self.kind == CFMCP and kind_of(self.line) == LOG_REQUEST

    def to_json(self) -> dict[str, Any]:
        """The one JSON object `cfmcp logs --json` prints for this entry."""
        at = {"at": self.at.isoformat(timespec="milliseconds")} if self.at else {}
        if self.kind == CFMCP:
            return {**self.line, **at}
        if self.kind == LOG:
            return {"log": self.text, "level": self.level, **at}
        if self.kind == EXCEPTION:
            return {"exception": self.name, "message": self.text, **at}
        return {INVOCATION: self.invocation.get("outcome"), **self.invocation, **at}


def from_text(text: str, at: datetime | None = None, level: str = "log") -> LogEntry:
    """A line the Worker printed: a cfmcp line, or other text."""
    line = read_line(text)
    if line is not None:  # masked too, in case a value ever looks like a credential
        masked = {k: redact(v) if isinstance(v, str) else v for k, v in line.items()}
        return LogEntry(CFMCP, at, line=masked)
    return LogEntry(LOG, at, text=redact(text.rstrip("\n")), level=level)


def _time(value: object) -> datetime | None:
    """A tail event's time (milliseconds since the epoch), when it is one a datetime can hold."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= LATEST_MS:
        return datetime.fromtimestamp(value / 1000, UTC)
    return None


def _dicts(value: object) -> list[dict[str, Any]]:
    """The objects of a list an event holds (anything else there is no entry)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _path(url: object) -> str:
    """A request URL's path, never its query ("?" when it is no URL)."""
    try:
        return urlsplit(str(url or "")).path or "/"
    except ValueError:
        return "?"


def _text_of(message: object) -> str:
    parts = message if isinstance(message, list) else [message]
    return " ".join(part if isinstance(part, str) else repr(part) for part in parts)


def from_event(event: dict[str, Any]) -> list[LogEntry]:
    """The entries of one tail event, in order (a request without its cfmcp line first)."""
    entries = [
        from_text(_text_of(log.get("message")), _time(log.get("timestamp")), str(log.get("level")))
        for log in _dicts(event.get("logs"))
    ]
    for exc in _dicts(event.get("exceptions")):
        message = exc.get("message")
        entries.append(
            LogEntry(
                EXCEPTION,
                _time(exc.get("timestamp")),
                name=redact(str(exc.get("name") or "Error")),
                text=redact(message if isinstance(message, str) else repr(message)),
            )
        )
    if not any(entry.is_request_line for entry in entries):
        summary = _invocation(event)
        if summary:
            entries.insert(0, LogEntry(INVOCATION, _time(event.get("eventTimestamp")), **summary))
    return entries


def _invocation(event: dict[str, Any]) -> dict[str, Any]:
    trigger = event.get("event")
    request = trigger.get("request") if isinstance(trigger, dict) else None
    if not isinstance(request, dict):
        return {}
    response = trigger.get("response") if isinstance(trigger, dict) else None
    status = response.get("status") if isinstance(response, dict) else None
    return {
        "invocation": {
            "outcome": str(event.get("outcome") or "unknown"),
            "method": str(request.get("method") or "").upper(),
            "path": _path(request.get("url")),
            "status": status if isinstance(status, int) else None,
        }
    }
