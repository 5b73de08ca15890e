"""The storage interface the core needs: the subset of Workers KV it uses.

Hosts provide an object with these coroutines. Semantics follow Workers KV: values are
strings, `get` of a missing or expired key returns None (hosts convert JS `null`/`jsnull`),
`put` with `ttl` sets `expirationTtl` (hosts and KV reject ttl < 60 and keys > 512 bytes),
and writes may take up to 60 s to be visible at other edge locations.
"""

from __future__ import annotations

from typing import Protocol

MIN_TTL_SECONDS = 60
MAX_KEY_BYTES = 512


class KvStore(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str, ttl: int | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def list_keys(self, prefix: str) -> list[str]: ...
