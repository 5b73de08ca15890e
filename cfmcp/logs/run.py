"""`cfmcp logs`: the deployed Worker's requests as they happen, filtered, for people or scripts.

The project's session names the account and Worker; the Worker must be cfmcp's (one read);
then a live tail streams its events until Ctrl-C (exit 130), and the tail is deleted. Only
this Worker's events are shown; one that cannot be read is skipped, and the tail goes on.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from rich.markup import escape
from rich.text import Text

from cfmcp.account.ours import our_worker
from cfmcp.account.session import open_session
from cfmcp.logs import entries, render, tail
from cfmcp.logs.filters import RequestFilter
from cfmcp.output import console, err_console, print_json_line

SKIPPED = "[dim]a tail event cfmcp cannot read was skipped[/]"


class Printer:
    """Shows the entries of the requests the filter lets through: Rich lines, or with
    `json_lines` one JSON object per line. An event of another Worker is dropped; one that
    cannot be read is skipped, said in one dim line on stderr (the tail goes on)."""

    def __init__(self, script: str, request_filter: RequestFilter, json_lines: bool) -> None:
        self._script = script
        self._filter = request_filter
        self._json = json_lines

    def event(self, event: tail.Event) -> None:
        if event.get("scriptName") != self._script:
            return
        try:
            shown = self._shown(event)
        except Exception:  # an odd event must not end the tail: its content is not shown
            err_console.print(SKIPPED, highlight=False)
            return
        for item in shown:
            if isinstance(item, Text):
                console.print(item, soft_wrap=True, highlight=False)
            else:
                print_json_line(item)

    def _shown(self, event: tail.Event) -> list[Text | dict]:
        """What the event shows, made before anything is printed."""
        found = entries.from_event(event)
        if not found or not self._filter.shows(found):
            return []
        if self._json:
            return [entry.to_json() for entry in found]
        return [render.render(entry) for entry in found]


@contextlib.contextmanager
def _until_stdout_closes() -> Iterator[None]:
    """A reader of stdout that went away (`cfmcp logs --json | head`) ends the tail quietly."""
    try:
        yield
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit


def run_logs(
    config_path: Path, env: Mapping[str, str], request_filter: RequestFilter, json_output: bool
) -> None:
    session = open_session(config_path, env, prompt_allowed=not json_output)
    config = session.config
    printer = Printer(config.name, request_filter, json_output)
    with session.connect() as api, _until_stdout_closes():
        our_worker(api, config)
        tail.follow(
            api,
            config.account_id,
            config.name,
            printer.event,
            on_open=lambda _: err_console.print(
                f"[dim]live tail of Worker {escape(config.name)}: Ctrl-C to stop[/]",
                highlight=False,
            ),
            warn=lambda message: err_console.print(
                f"[bold yellow]warning:[/] {escape(message)}", highlight=False
            ),
        )
