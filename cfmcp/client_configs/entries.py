"""One rule for an entry that is already there: cfmcp changes only the keys it writes.

A server's entry may hold keys of the user's own (Codex `startup_timeout_sec`, an `env` or
`http_headers` table, VS Code `headers` ...): they stay. The keys cfmcp writes for this client,
in any of its transports (`url`, `httpUrl`, `type`, `command`, `args` ...), are cfmcp's: they
take the new values, and those the new entry does not have are removed (Gemini's `httpUrl`
goes when the entry becomes `url` + `type: "sse"`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any


def merged_entry(current: Any, entry: dict[str, Any], owned: Collection[str]) -> dict[str, Any]:
    """`current` with cfmcp's keys set to `entry` (in the current order, new ones last)."""
    if not isinstance(current, dict):
        return dict(entry)
    merged: dict[str, Any] = {}
    for key, value in current.items():
        if key in entry:
            merged[key] = entry[key]
        elif key not in owned:
            merged[key] = value
    for key, value in entry.items():
        merged.setdefault(key, value)
    return merged
