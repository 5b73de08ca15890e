"""Bounds on PIN guessing: a per-IP failure counter with lockout, and a global hourly ceiling.

Counters live in KV (eventually consistent, so across edge locations they are a best-effort
bound) and in the isolate's memory (exact within one isolate). With the defaults an attacker
gets at most 5 wrong PINs per IP per 15 minutes, and never more than 60 per hour in total.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from cfmcp_worker.crypto import sha256_hex
from cfmcp_worker.kv import MIN_TTL_SECONDS, KvStore


class PinGuard:
    def __init__(
        self,
        kv: KvStore,
        *,
        max_per_ip: int,
        lockout_seconds: int,
        max_global_per_hour: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._kv = kv
        self._max_per_ip = max_per_ip
        self._lockout = lockout_seconds
        self._max_global = max_global_per_hour
        self._clock = clock
        self._local: dict[str, tuple[int, float]] = {}  # key -> (count, expires at)

    def _ip_key(self, ip: str | None) -> str:
        return f"pin-fail:ip:{sha256_hex(ip or 'unknown')}"

    def _global_key(self) -> str:
        return f"pin-fail:global:{int(self._clock() // 3600)}"

    async def _count(self, key: str) -> int:
        stored = await self._kv.get(key)
        try:
            remote = int(json.loads(stored)["n"]) if stored else 0
        except (ValueError, KeyError, TypeError):
            remote = 0
        count, expires = self._local.get(key, (0, 0.0))
        local = count if expires > self._clock() else 0
        return max(remote, local)

    async def blocked_reason(self, ip: str | None) -> str | None:
        """Why a PIN attempt from `ip` may not be made now, or None if it may."""
        if await self._count(self._ip_key(ip)) >= self._max_per_ip:
            minutes = max(1, self._lockout // 60)
            return f"Too many wrong PINs from your address. Try again in {minutes} minutes."
        if await self._count(self._global_key()) >= self._max_global:
            return "Too many wrong PINs were entered recently. Try again within the hour."
        return None

    async def record_failure(self, ip: str | None) -> None:
        for key, ttl in ((self._ip_key(ip), self._lockout), (self._global_key(), 3600 + 60)):
            count = await self._count(key) + 1
            self._local[key] = (count, self._clock() + ttl)
            if len(self._local) > 10000:
                self._local.clear()
            await self._kv.put(key, json.dumps({"n": count}), ttl=max(MIN_TTL_SECONDS, ttl))

    async def record_success(self, ip: str | None) -> None:
        key = self._ip_key(ip)
        if self._local.pop(key, None) or await self._kv.get(key) is not None:
            await self._kv.delete(key)
