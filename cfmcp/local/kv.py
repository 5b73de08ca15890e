"""A SQLite-backed KvStore that behaves like Workers KV for the rules the core relies on.

Values are strings; a missing or expired key reads as None; `put` rejects an expiration TTL
below 60 s and keys longer than 512 UTF-8 bytes (or empty, "." and ".."), as KV does.
Operations are synchronous SQLite calls (sub-millisecond on a local file) wrapped in the
async interface the core expects.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

MIN_TTL_SECONDS = 60
MAX_KEY_BYTES = 512
MAX_VALUE_BYTES = 25 * 1024 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires_at REAL
)
"""


def check_key(key: str) -> None:
    """Raise ValueError for a key Workers KV would refuse."""
    if not isinstance(key, str):
        raise TypeError(f"KV keys are strings, not {type(key).__name__}")
    size = len(key.encode("utf-8"))
    if size == 0:
        raise ValueError("KV PUT failed: 400 Key names must not be empty.")
    if key in (".", ".."):
        raise ValueError(f'KV PUT failed: 400 Illegal key name "{key}".')
    if size > MAX_KEY_BYTES:
        raise ValueError(
            f"KV PUT failed: 414 UTF-8 encoded length of {size} exceeds key length limit "
            f"of {MAX_KEY_BYTES}."
        )


def create_private(path: Path) -> None:
    """Create the state file readable by its owner only (SQLite's journals follow suit)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))


class SqliteKvStore:
    """KvStore over one SQLite file (or ":memory:"); `clock` is injectable for tests."""

    def __init__(self, path: Path | str, *, clock: Callable[[], float] = time.time) -> None:
        if str(path) != ":memory:":
            create_private(Path(path))
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._clock = clock

    def close(self) -> None:
        self._db.close()

    async def get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value, expires_at FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        value, expires_at = row
        if expires_at is not None and expires_at <= self._clock():
            self._db.execute(
                "DELETE FROM kv WHERE key = ? AND expires_at <= ?", (key, self._clock())
            )
            return None
        return value

    async def put(self, key: str, value: str, ttl: int | None = None) -> None:
        check_key(key)
        if not isinstance(value, str):
            raise TypeError(f"KV values are strings here, not {type(value).__name__}")
        if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
            raise ValueError("KV PUT failed: 413 Value length exceeds limit of 26214400.")
        expires_at = None
        if ttl is not None:
            if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl < MIN_TTL_SECONDS:
                raise ValueError(
                    f"KV PUT failed: 400 Invalid expiration_ttl of {ttl}. Expiration TTL must "
                    f"be at least {MIN_TTL_SECONDS}."
                )
            expires_at = self._clock() + ttl
        self._db.execute(
            "INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
            "expires_at = excluded.expires_at",
            (key, value, expires_at),
        )

    async def delete(self, key: str) -> None:
        self._db.execute("DELETE FROM kv WHERE key = ?", (key,))

    async def list_keys(self, prefix: str) -> list[str]:
        """Live keys starting with `prefix`, in UTF-8 byte order like KV's list."""
        now = self._clock()
        rows = self._db.execute(
            "SELECT key FROM kv WHERE substr(key, 1, ?) = ? "
            "AND (expires_at IS NULL OR expires_at > ?)",
            (len(prefix), prefix, now),
        ).fetchall()
        return sorted((row[0] for row in rows), key=lambda k: k.encode("utf-8"))
