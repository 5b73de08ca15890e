"""Where KV values live: in memory, or in SQLite files shared with the local Worker processes.

With ``run_workers=True`` each namespace is one SQLite file in the schema of cfmcp's local
runtime (``cfmcp.local.kv``), and a Worker bound to the namespace is started with
``--state`` pointing at that file: what the Worker writes is what the API lists, and a key
deleted through the API is gone for the Worker too (as on Cloudflare, minus the propagation
delay).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from .model import KvEntry, KvNamespace


class KvStore(Protocol):
    """Storage of a namespace's entries (expired entries are never returned)."""

    def entries(self, ns: KvNamespace) -> dict[str, KvEntry]:
        """All live entries."""
        ...

    def get(self, ns: KvNamespace, key: str) -> KvEntry | None:
        """One live entry."""
        ...

    def put(self, ns: KvNamespace, key: str, entry: KvEntry) -> None:
        """Create or replace an entry."""
        ...

    def delete(self, ns: KvNamespace, key: str) -> None:
        """Remove an entry (no error when absent)."""
        ...

    def drop(self, ns: KvNamespace) -> None:
        """Forget the whole namespace."""
        ...


class MemoryKvStore:
    """Entries in ``KvNamespace.entries`` (persisted with the rest of the state)."""

    def entries(self, ns: KvNamespace) -> dict[str, KvEntry]:
        """Live entries (expired ones are purged)."""
        now = time.time()
        for key in [k for k, e in ns.entries.items() if e.expiration and e.expiration <= now]:
            del ns.entries[key]
        return dict(ns.entries)

    def get(self, ns: KvNamespace, key: str) -> KvEntry | None:
        """One live entry."""
        return self.entries(ns).get(key)

    def put(self, ns: KvNamespace, key: str, entry: KvEntry) -> None:
        """Create or replace."""
        ns.entries[key] = entry

    def delete(self, ns: KvNamespace, key: str) -> None:
        """Remove if present."""
        ns.entries.pop(key, None)

    def drop(self, ns: KvNamespace) -> None:
        """Forget all entries."""
        ns.entries.clear()


class SqliteKvStore:
    """One SQLite file per namespace (``<root>/<namespace id>.sqlite3``), table ``kv(key,
    value, expires_at)`` as created by cfmcp's own ``SqliteKvStore``; KV metadata (which
    the Worker does not use) in a side table."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, namespace_id: str) -> Path:
        """The namespace's file (what a bound Worker gets as ``--state``)."""
        path = self.root / f"{namespace_id}.sqlite3"
        if not path.exists():
            from cfmcp.local.kv import SqliteKvStore as RuntimeStore

            RuntimeStore(path).close()  # the runtime's own schema, so both sides agree
        return path

    @contextlib.contextmanager
    def _db(self, ns: KvNamespace) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(str(self.path_for(ns.id)), timeout=10, isolation_level=None)
        try:
            db.execute(
                "CREATE TABLE IF NOT EXISTS fake_kv_meta "
                "(key TEXT PRIMARY KEY, metadata TEXT NOT NULL)"
            )
            yield db
        finally:
            db.close()

    def adopt(self, ns: KvNamespace) -> None:
        """Move entries held in memory (seed or loaded state) into the namespace's file."""
        for key, entry in list(ns.entries.items()):
            self.put(ns, key, entry)
        ns.entries.clear()

    def entries(self, ns: KvNamespace) -> dict[str, KvEntry]:
        """Live entries, read from the file."""
        with self._db(ns) as db:
            rows = db.execute(
                "SELECT kv.key, kv.value, kv.expires_at, m.metadata FROM kv "
                "LEFT JOIN fake_kv_meta m ON m.key = kv.key "
                "WHERE kv.expires_at IS NULL OR kv.expires_at > ?",
                (time.time(),),
            ).fetchall()
        return {
            key: _entry(value, expires_at, metadata) for key, value, expires_at, metadata in rows
        }

    def get(self, ns: KvNamespace, key: str) -> KvEntry | None:
        """One live entry."""
        with self._db(ns) as db:
            row = db.execute(
                "SELECT kv.value, kv.expires_at, m.metadata FROM kv "
                "LEFT JOIN fake_kv_meta m ON m.key = kv.key WHERE kv.key = ? "
                "AND (kv.expires_at IS NULL OR kv.expires_at > ?)",
                (key, time.time()),
            ).fetchone()
        return _entry(*row) if row else None

    def put(self, ns: KvNamespace, key: str, entry: KvEntry) -> None:
        """Create or replace (UTF-8 values are stored as text, as the Worker writes them)."""
        try:
            value: str | bytes = entry.value.decode("utf-8")
        except UnicodeDecodeError:
            value = entry.value
        with self._db(ns) as db:
            db.execute(
                "INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
                "expires_at = excluded.expires_at",
                (key, value, entry.expiration),
            )
            db.execute("DELETE FROM fake_kv_meta WHERE key = ?", (key,))
            if entry.metadata is not None:
                db.execute(
                    "INSERT INTO fake_kv_meta (key, metadata) VALUES (?, ?)",
                    (key, json.dumps(entry.metadata)),
                )

    def delete(self, ns: KvNamespace, key: str) -> None:
        """Remove if present."""
        with self._db(ns) as db:
            db.execute("DELETE FROM kv WHERE key = ?", (key,))
            db.execute("DELETE FROM fake_kv_meta WHERE key = ?", (key,))

    def drop(self, ns: KvNamespace) -> None:
        """Delete the namespace's file."""
        for suffix in ("", "-wal", "-shm"):
            (self.root / f"{ns.id}.sqlite3{suffix}").unlink(missing_ok=True)


def _entry(value: str | bytes, expires_at: float | None, metadata: str | None) -> KvEntry:
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return KvEntry(raw, expires_at, json.loads(metadata) if metadata is not None else None)
