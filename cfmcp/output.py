"""Terminal output for every command: Rich for people, JSON for scripts, errors as one line.

`Output` is made once per command from its `--json` flag and decides where everything goes:
- people: lines and panels on stdout (on stderr with --json, so stdout holds only the JSON);
- scripts: one JSON document on stdout, `{"ok": true, ...}` from `result()`;
- a failure (a `CfmcpError`, shown by `cli.py` for every command the same way): one line and
  its hint on stderr and, with --json, `{"ok": false, "error": MESSAGE, "code": CODE,
  "hint": HINT}` on stdout. CODE is the error's stable code (`cfmcp.errors.ERROR_CODES`).
Models hand plain text to the UI, which adds the style here and in the commands.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

from cfmcp.errors import CfmcpError

console = Console()
err_console = Console(stderr=True)


_trace_calls = False


def trace_calls(on: bool) -> None:
    """`--verbose`: show each Cloudflare API call (`trace_call`) for the rest of the command."""
    global _trace_calls
    _trace_calls = on


def trace_call(method: str, path: str, status: int | None, seconds: float) -> None:
    """One API call on stderr, when `--verbose` asked for it. Callers pass no secret: method,
    a path with KV key names cut to their kind and tail ids cut, a status and a time — never
    headers or bodies."""
    if _trace_calls:
        err_console.print(
            f"[dim]api:[/] {escape(method)} {escape(path)} → {status or '-'} "
            f"[dim]({seconds * 1000:.0f} ms)[/]",
            highlight=False,
            soft_wrap=True,
        )


def print_json(data: Any) -> None:
    """Machine output on stdout (callers make sure no secret is in `data`)."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    sys.stdout.flush()


def print_json_line(data: Any) -> None:
    """One JSON object on one line of stdout, flushed (a stream of them: `cfmcp logs`)."""
    sys.stdout.write(json.dumps(data, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def print_error(message: str, hint: str | None = None, *, wrap: bool = True) -> None:
    """`error: MESSAGE` and `hint: HINT` on stderr (`wrap=False`: each stays one line)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=not wrap)
    if hint:
        err_console.print(f"[dim]hint:[/] {escape(hint)}", highlight=False, soft_wrap=not wrap)


def failure_json(exc: CfmcpError) -> dict[str, Any]:
    """The one shape every command's `--json` failure has."""
    return {"ok": False, "error": exc.message, "code": exc.code, "hint": exc.hint}


class Output:
    """Human or `--json` output for one command."""

    def __init__(self, json_output: bool = False, *, lines: bool = False) -> None:
        self.json = json_output
        self.lines = lines  # --json prints a stream of one-line objects (the failure too)
        # What people read goes to stderr with --json: stdout is the JSON document alone.
        self.console = err_console if json_output else console

    def say(self, text: str) -> None:
        """A line for people (Rich markup allowed; values are escaped by the caller)."""
        self.console.print(text, highlight=False)

    def result(self, data: dict[str, Any]) -> None:
        """With --json: the command's JSON document (`ok` is true unless `data` says)."""
        if self.json:
            print_json({"ok": True, **data})

    def failure(self, exc: CfmcpError) -> None:
        """Show `exc`: one line and its hint, plus the JSON failure with --json."""
        if self.json:
            (print_json_line if self.lines else print_json)(failure_json(exc))
        print_error(exc.message, exc.hint)


def show_pin(console: Console, pin: str, *, title: str, extra: str = "", warning: str = "") -> None:
    """A PIN cfmcp generated, in a panel: it is shown only this once (never in --json)."""
    from rich.panel import Panel

    text = (
        f"[bold]{escape(pin)}[/]\n\n"
        "Users type this PIN on the consent page when they connect a client.\n"
        "It is shown only this once and stored only as a Cloudflare secret: keep it safe."
        + (f"\n{extra}" if extra else "")
        + (f"\n[yellow]{warning}[/]" if warning else "")
    )
    console.print(Panel(text, title=title, border_style="yellow", expand=False))
