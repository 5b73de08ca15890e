"""A log entry as people read it: one Rich line, the Worker's values never read as markup.

14:02:07    tools/call get_issue allowed  Claude Code  grant 1a2b3c4d  full  upstream 200
14:02:07  POST /mcp  200  41.2 ms to headers  Claude Code  grant 1a2b3c4d  full  tools/call
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from cfmcp.logs.entries import CFMCP, EXCEPTION, INVOCATION, LOG, LogEntry
from cfmcp.worker.contract import LOG_DENIED, LOG_ERROR, LOG_NOTE, LOG_REQUEST, LOG_TOOL_CALL


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
        return f"{line['headers_ms']} ms to headers"
    if isinstance(line.get("ms"), int | float):
        return f"{line['ms']} ms"
    return ""


def _who(text: Text, line: dict) -> None:
    if line.get("client"):
        text.append(f"  {line['client']}", style="bold")
    if line.get("grant"):
        text.append(f"  grant {line['grant']}", style="dim")
    if line.get("policy"):
        text.append(f"  {line['policy']}", style="magenta")


def _request(text: Text, line: dict) -> None:
    text.append(f"{line.get('method', '?')} {line.get('path', '?')}  ", style="bold")
    text.append(str(line.get("status", "?")), style=status_style(line.get("status")))
    duration = _duration(line)
    if duration:
        text.append(f"  {duration}", style="dim")
    _who(text, line)
    if line.get("mcp_method"):
        text.append(f"  {line['mcp_method']}", style="cyan")
    if line.get("tool"):
        text.append(f" {line['tool']}", style="cyan")


def _tool_call(text: Text, line: dict) -> None:
    denied = line.get("decision") == LOG_DENIED
    text.append("  tools/call ", style="cyan")
    text.append(str(line.get("tool", "?")), style="bold cyan")
    text.append(f" {line.get('decision', '?')}", style="bold red" if denied else "green")
    _who(text, line)
    if "status" in line:
        text.append(f"  upstream {line['status']}", style=status_style(line["status"]))
    if isinstance(line.get("headers_ms"), int | float):
        text.append(f"  {line['headers_ms']} ms", style="dim")


def _worker_line(text: Text, line: dict) -> None:
    kind = line.get("cfmcp")
    if kind == LOG_REQUEST:
        _request(text, line)
    elif kind == LOG_TOOL_CALL:
        _tool_call(text, line)
    elif kind == LOG_NOTE:
        text.append(f"  note: {line.get('message', '')}", style="yellow")
    elif kind == LOG_ERROR:
        where = line.get("where") if isinstance(line.get("where"), list) else []
        text.append(f"  error {line.get('type', '?')}", style="bold red")
        if where:
            text.append(f" at {where[-1]}", style="red")
            text.append("".join(f"  ← {frame}" for frame in reversed(where[:-1])), style="dim")


def render(entry: LogEntry) -> Text:
    """The entry's one line (wrapped by the terminal, never split by us)."""
    text = _clock(entry.at)
    if entry.kind == CFMCP:
        _worker_line(text, entry.line)
    elif entry.kind == LOG:
        text.append(f"  ({entry.level}) ", style="dim")
        text.append(entry.text)
    elif entry.kind == EXCEPTION:
        text.append(f"  exception {entry.name}: ", style="bold red")
        text.append(entry.text, style="red")
    elif entry.kind == INVOCATION:
        found = entry.invocation
        text.append(f"{found.get('method', '?')} {found.get('path', '?')}  ", style="bold")
        text.append(str(found.get("status") or "-"), style=status_style(found.get("status")))
        text.append(f"  outcome {found.get('outcome')}", style="dim")
    return text
