"""The Worker's log lines: every line cfmcp's Worker prints, one JSON object each.

The Workers runtime sends stdout to the Worker's logs and live tails (Workers Logs indexes a
JSON line's fields); `cfmcp dev` and `cfmcp logs` read them back. Every line carries the marker
`"cfmcp": KIND`, which tells it from any other print, and only the fields below (absent when
unknown; cfmcp/worker/contract.py holds the same names for the CLI):

- `request`, one per request: `method`, `path` (never the query string), `status`, and `ms`
  for an answer the Worker made whole, or `headers_ms` for a proxied answer, logged when the
  upstream's headers arrived (its body streams on after the line); on `/mcp` also `client`,
  `grant`, `policy`, and `mcp_method` / `tool` when the request named them (the policy gate's
  reading of the body, else the `Mcp-Method` / `Mcp-Name` headers; the body is never read for
  the log alone). Those two names are the client's: a line holds them without non-printable
  characters, cut to MAX_NAME (`printable`, the rule a client's own name is cleaned by).
- `tools/call`, the audit line, one per tool call, allowed or refused (`audit.py`): `grant`,
  `client`, `tool`, `policy`, `decision` (`allowed` / `denied`), `status` (the upstream's;
  absent when the call never reached it), `headers_ms`.
- `note`: `message`, something an operator should know (an upstream that failed, a probe);
  a URL in it loses its query string and fragment, up to the next whitespace (a host's
  error text may quote the URL it fetched).
- `error`: `type` and `where` (file:line function, innermost last) of an exception the Worker
  caught and answered with a 500. Never its message: that can quote request data.

`client` is the client's name, `grant` the first GRANT_SHOWN characters of the grant id (what
`cfmcp clients revoke` takes as a prefix). A line never holds a token, code, PIN, PAT, client
secret, signing key, query string, request body or tool argument, nor a header but the
`Mcp-Method` / `Mcp-Name` values (cleaned as above).
"""

from __future__ import annotations

import json
import re
import sys

MARKER = "cfmcp"
REQUEST = "request"
TOOL_CALL = "tools/call"
NOTE = "note"
ERROR = "error"
KINDS = (REQUEST, TOOL_CALL, NOTE, ERROR)
REQUEST_FIELDS = (
    "method",
    "path",
    "status",
    "ms",
    "headers_ms",
    "client",
    "grant",
    "policy",
    "mcp_method",
    "tool",
)
TOOL_CALL_FIELDS = ("grant", "client", "tool", "policy", "decision", "status", "headers_ms")
NOTE_FIELDS = ("message",)
ERROR_FIELDS = ("type", "where")
ALLOWED = "allowed"
DENIED = "denied"
GRANT_SHOWN = 8
MAX_FRAMES = 12
MAX_NAME = 128  # a tool's or MCP method's name in a line: the client chooses it
NAMED_FIELDS = ("tool", "mcp_method")

_encode = json.JSONEncoder(separators=(",", ":")).encode  # made once: json.dumps with
# separators builds a new encoder per call, twice the cost of the line itself under Pyodide


def _stdout(line: str) -> None:
    sys.stdout.write(line + "\n")  # one write (print makes two); the runtime logs each line


_output = _stdout


def set_output(write) -> None:
    """Where lines go (default: stdout): `cfmcp dev` shows them as it reads them."""
    global _output
    _output = write


def printable(value: str, limit: int) -> str:
    """`value` without its non-printable characters (a newline, an escape), cut to `limit`:
    the one rule for a name the client chose (its own, a tool's, an MCP method's) before a
    line or a page shows it."""
    if len(value) <= limit and value.isprintable():
        return value
    return "".join(ch for ch in value if ch.isprintable())[:limit]


def write(kind: str, fields: dict) -> None:
    """One line of `kind` with the fields that are known."""
    line = {MARKER: kind}
    for name, value in fields.items():
        if value is not None:
            line[name] = printable(value, MAX_NAME) if name in NAMED_FIELDS else value
    _output(_encode(line))


def short_grant(grant_id: str | None) -> str | None:
    return grant_id[:GRANT_SHOWN] if grant_id else None


_QUERY = re.compile(r"(\w+://[^\s?#\"'<>]*)([?#])\S*")  # all of it: a quote does not end it


def note(message: str) -> None:
    write(NOTE, {"message": _QUERY.sub(r"\1\2…", message)})


def error(exc: BaseException) -> None:
    """The `error` line of an exception: its type and where it was raised, no message."""
    import traceback  # only on this rare path: it is not needed at start-up

    frames = traceback.extract_tb(exc.__traceback__)[-MAX_FRAMES:]
    where = [f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}" for frame in frames]
    write(ERROR, {"type": type(exc).__name__, "where": where})


class RequestLine:
    """The `request` line of one request, filled in on the way and written once, at its end
    (for a proxied answer: when the upstream's headers are in)."""

    __slots__ = (
        "client",
        "grant",
        "mcp_method",
        "method",
        "path",
        "policy",
        "started",
        "tool",
        "written",
    )

    def __init__(self, method: str, path: str, started: float) -> None:
        self.method = method
        self.path = path
        self.started = started
        self.client: str | None = None
        self.grant: str | None = None
        self.policy: str | None = None
        self.mcp_method: str | None = None
        self.tool: str | None = None
        self.written = False

    def name_messages(self, messages: list, batch: bool) -> None:
        """What the policy gate read in the body (a batch is named `batch`, its calls are in
        their audit lines)."""
        if batch:
            self.mcp_method, self.tool = "batch", None
        elif messages:
            self.mcp_method = messages[0].method
            self.tool = messages[0].name if messages[0].method == TOOL_CALL else None

    def finish(self, status: int, now: float, streamed: bool = False) -> None:
        if self.written:
            return
        self.written = True
        line = {
            MARKER: REQUEST,
            "method": self.method,
            "path": self.path,
            "status": status,
            "headers_ms" if streamed else "ms": round((now - self.started) * 1000, 1),
        }
        if self.client is not None:
            line["client"] = self.client
        if self.grant is not None:
            line["grant"] = self.grant
        if self.policy is not None:
            line["policy"] = self.policy
        if self.mcp_method is not None:
            line["mcp_method"] = printable(self.mcp_method, MAX_NAME)
            if self.tool is not None:
                line["tool"] = printable(self.tool, MAX_NAME)
        _output(_encode(line))
