"""A log entry as people read it: one Rich line, the Worker's values never read as markup
and shown through `shown` (a newline or an escape sequence is printed as `\\n`, `\\x1b`: a
value can neither forge a line nor reach the terminal).

14:02:07    tools/call get_issue allowed  Claude Code  grant 1a2b3c4d  full  upstream 200
14:02:07  POST /mcp  200  41.2 ms to headers  Claude Code  grant 1a2b3c4d  full  tools/call
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from cfmcp.logs.entries import CFMCP, EXCEPTION, INVOCATION, LOG, LogEntry
from cfmcp.worker.contract import LOG_DENIED, LOG_ERROR, LOG_NOTE, LOG_REQUEST, LOG_TOOL_CALL


def _escaped(char: str) -> str:
    return char if char.isprintable() else char.encode("unicode_escape").decode("ascii")


def shown(value: object) -> str:
    """`value` as text with every non-printable character escaped (`\\n`, `\\x1b`, `\\u202e`)."""
    text = str(value)
    return text if text.isprintable() else "".join(_escaped(char) for char in text)


def status_style(status: object) -> str:
    if not isinstance(status, int):
        return "dim"
    return {2: "green", 3: "cyan", 4: "yellow"}.get(status // 100, "bold red")


def _clock(at: datetime | None) -> Text:
    stamp = (
        at.astimezone().strftime("%H:%M:%S")
        if at is not None
        else datetime.now().strftime("%H:%M:%S")
    )
    return Text(stamp + "  ", style="dim")


def _duration(line: dict) -> str:
    if isinstance(line.get("headers_ms"), int | float):
        return f"{shown(line['headers_ms'])} ms to headers"
    if isinstance(line.get("ms"), int | float):
        return f"{shown(line['ms'])} ms"
    return ""


def _who(text: Text, line: dict) -> None:
    if line.get("client"):
        text.append(f"  {shown(line['client'])}", style="bold")
    if line.get("grant"):
        text.append(f"  grant {shown(line['grant'])}", style="dim")
    if line.get("policy"):
        text.append(f"  {shown(line['policy'])}", style="magenta")


def _request(text: Text, line: dict) -> None:
    text.append(f"{shown(line.get('method', '?'))} {shown(line.get('path', '?'))}  ", style="bold")
    text.append(shown(line.get("status", "?")), style=status_style(line.get("status")))
    duration = _duration(line)
    if duration:
        text.append(f"  {duration}", style="dim")
    _who(text, line)
    if line.get("mcp_method"):
        text.append(f"  {shown(line['mcp_method'])}", style="cyan")
    if line.get("tool"):
        text.append(f" {shown(line['tool'])}", style="cyan")


def _tool_call(text: Text, line: dict) -> None:
    denied = line.get("decision") == LOG_DENIED
    text.append("  tools/call ", style="cyan")
    text.append(shown(line.get("tool", "?")), style="bold cyan")
    text.append(f" {shown(line.get('decision', '?'))}", style="bold red" if denied else "green")
    _who(text, line)
    if "status" in line:
        text.append(f"  upstream {shown(line['status'])}", style=status_style(line["status"]))
    if isinstance(line.get("headers_ms"), int | float):
        text.append(f"  {shown(line['headers_ms'])} ms", style="dim")


def _worker_line(text: Text, line: dict) -> None:
    kind = line.get("cfmcp")
    if kind == LOG_REQUEST:
        _request(text, line)
    elif kind == LOG_TOOL_CALL:
        _tool_call(text, line)
    elif kind == LOG_NOTE:
        text.append(f"  note: {shown(line.get('message', ''))}", style="yellow")
    elif kind == LOG_ERROR:
        where = line.get("where") if isinstance(line.get("where"), list) else []
        text.append(f"  error {shown(line.get('type', '?'))}", style="bold red")
        if where:
            text.append(f" at {shown(where[-1])}", style="red")
            frames = "".join(f"  ← {shown(frame)}" for frame in reversed(where[:-1]))
            text.append(frames, style="dim")


def render(entry: LogEntry) -> Text:
    """The entry's one line (wrapped by the terminal, never split by us)."""
    text = _clock(entry.at)
    if entry.kind == CFMCP:
        _worker_line(text, entry.line)
    elif entry.kind == LOG:
        text.append(f"  ({shown(entry.level)}) ", style="dim")
        text.append(shown(entry.text))
    elif entry.kind == EXCEPTION:
        text.append(f"  exception {shown(entry.name)}: ", style="bold red")
        text.append(shown(entry.text), style="red")
    elif entry.kind == INVOCATION:
        found = entry.invocation
        text.append(
            f"{shown(found.get('method', '?'))} {shown(found.get('path', '?'))}  ", style="bold"
        )
        text.append(shown(found.get("status") or "-"), style=status_style(found.get("status")))
        text.append(f"  outcome {shown(found.get('outcome'))}", style="dim")
    return text
