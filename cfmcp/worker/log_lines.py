"""The Worker's log lines as the CLI reads them (the format: docs/CONTRACTS.md, "Log lines").

A line is cfmcp's when it is one JSON object whose `LOG_MARKER` key names a known kind;
anything else the Worker printed is someone else's text and is shown as it is.
"""

from __future__ import annotations

import json
from typing import Any

from cfmcp.worker.contract import LOG_DENIED, LOG_KINDS, LOG_MARKER, LOG_TOOL_CALL

WorkerLine = dict[str, Any]


def read_line(text: str) -> WorkerLine | None:
    """The cfmcp line `text` holds, else None."""
    text = text.strip()
    if not text.startswith("{") or f'"{LOG_MARKER}"' not in text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get(LOG_MARKER) not in LOG_KINDS:
        return None
    return data


def kind_of(line: WorkerLine) -> str:
    return str(line[LOG_MARKER])


def is_denied(line: WorkerLine) -> bool:
    return kind_of(line) == LOG_TOOL_CALL and line.get("decision") == LOG_DENIED
