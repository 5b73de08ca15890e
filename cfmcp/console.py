"""Terminal output for every command: Rich for people, JSON for scripts, errors as one line.

`cfmcp.output.Output` decides, per command, which of these to use.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    """Machine output on stdout (callers make sure no secret is in `data`)."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    sys.stdout.flush()


def print_error(message: str, hint: str | None = None, *, wrap: bool = True) -> None:
    """`error: MESSAGE` and `hint: HINT` on stderr (`wrap=False`: each stays one line)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=not wrap)
    if hint:
        err_console.print(f"[dim]hint:[/] {escape(hint)}", highlight=False, soft_wrap=not wrap)
