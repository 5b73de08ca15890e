"""The CPython host's exact state: the core's `ExactLedger` over a SQLite file.

Each ledger operation runs synchronously inside one `BEGIN IMMEDIATE` transaction, so it is
atomic within the event loop (no `await` inside) and across processes sharing the file, as
exact as the Durable Object that holds it on Cloudflare.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cfmcp.local.kv import create_private

BUSY_TIMEOUT_SECONDS = 10.0


class SqliteSql:
    """The core's `Sql` interface over one sqlite3 connection (or ":memory:")."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            create_private(Path(path))
        self._db = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_SECONDS
        )
        self._db.execute("PRAGMA journal_mode=WAL")

    def run(self, query: str, *params: Any) -> list[list[Any]]:
        return [list(row) for row in self._db.execute(query, params).fetchall()]

    def atomically(self, work: Callable[[], str]) -> str:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            result = work()
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return result

    def close(self) -> None:
        self._db.close()
