"""What `cfmcp dev` does with the lines the Worker prints: each shown as it arrives, as one
readable Rich line (`cfmcp.logs.render`, as `cfmcp logs` shows them), or with `--json-logs`
passed on unchanged, one per line on stdout (the panel then goes to stderr).

Both runtimes feed it: the python runtime hands it every line the core writes (the core's
`log_lines.set_output`), the workerd runtime every line the runner prints on stdout.
"""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime
from typing import IO

from cfmcp.logs.entries import from_text
from cfmcp.logs.render import render


class WorkerOutput:
    """Shows one printed line of the Worker at a time (any thread may call it)."""

    def __init__(self, json_lines: bool = False) -> None:
        self.json_lines = json_lines
        self._lock = threading.Lock()

    def __call__(self, text: str) -> None:
        text = text.rstrip("\r\n")
        if not text:
            return
        with self._lock:
            if self.json_lines:
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
                return
            from cfmcp.output import console

            console.print(
                render(from_text(text, datetime.now(UTC))), soft_wrap=True, highlight=False
            )

    def relay(self, stream: IO[bytes]) -> threading.Thread:
        """Show every line of `stream` (a child's stdout) from a daemon thread, until EOF."""

        def pump() -> None:
            for raw in iter(stream.readline, b""):
                self(raw.decode("utf-8", "replace"))

        thread = threading.Thread(target=pump, name="worker-output", daemon=True)
        thread.start()
        return thread
