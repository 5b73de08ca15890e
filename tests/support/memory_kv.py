"""An in-memory KvStore with Workers KV's rules, driven by a test clock."""

from __future__ import annotations

from collections.abc import Callable


class MemoryKv:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.data: dict[str, tuple[str, float | None]] = {}
        self.writes = 0

    async def get(self, key: str) -> str | None:
        item = self.data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= self._clock():
            del self.data[key]
            return None
        return value

    async def put(self, key: str, value: str, ttl: int | None = None) -> None:
        if len(key.encode()) > 512:
            raise ValueError("KV key longer than 512 bytes")
        if ttl is not None and ttl < 60:
            raise ValueError("KV expirationTtl must be at least 60 seconds")
        if not isinstance(value, str):
            raise TypeError("KV values are strings here")
        self.writes += 1
        self.data[key] = (value, None if ttl is None else self._clock() + ttl)

    async def delete(self, key: str) -> None:
        self.data.pop(key, None)

    async def list_keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.data if k.startswith(prefix))
