"""SqliteKvStore follows the Workers KV rules the core relies on."""

from __future__ import annotations

from pathlib import Path

import pytest

from cfmcp.local.kv import SqliteKvStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kv(tmp_path: Path, clock: Clock) -> SqliteKvStore:
    return SqliteKvStore(tmp_path / "state" / "kv.sqlite3", clock=clock)


async def test_missing_key_is_none(kv: SqliteKvStore) -> None:
    assert await kv.get("nope") is None


async def test_put_get_overwrite_delete(kv: SqliteKvStore) -> None:
    await kv.put("a", "1")
    assert await kv.get("a") == "1"
    await kv.put("a", "ünïcode ✓")
    assert await kv.get("a") == "ünïcode ✓"
    await kv.delete("a")
    assert await kv.get("a") is None
    await kv.delete("a")  # deleting a missing key is fine


async def test_ttl_expiry(kv: SqliteKvStore, clock: Clock) -> None:
    await kv.put("t", "v", ttl=60)
    clock.now += 59.9
    assert await kv.get("t") == "v"
    clock.now += 0.2
    assert await kv.get("t") is None
    assert await kv.list_keys("t") == []


async def test_put_without_ttl_clears_old_expiry(kv: SqliteKvStore, clock: Clock) -> None:
    await kv.put("k", "1", ttl=60)
    await kv.put("k", "2")
    clock.now += 10_000
    assert await kv.get("k") == "2"


@pytest.mark.parametrize("ttl", [0, 1, 59, -5])
async def test_ttl_below_60_rejected(kv: SqliteKvStore, ttl: int) -> None:
    with pytest.raises(ValueError, match="at least 60"):
        await kv.put("k", "v", ttl=ttl)
    assert await kv.get("k") is None


async def test_key_length_limit_in_utf8_bytes(kv: SqliteKvStore) -> None:
    await kv.put("k" * 512, "ok")
    with pytest.raises(ValueError, match="512"):
        await kv.put("k" * 513, "v")
    with pytest.raises(ValueError, match="512"):
        await kv.put("é" * 257, "v")  # 514 bytes


@pytest.mark.parametrize("key", ["", ".", ".."])
async def test_illegal_keys(kv: SqliteKvStore, key: str) -> None:
    with pytest.raises(ValueError):
        await kv.put(key, "v")


async def test_values_are_strings(kv: SqliteKvStore) -> None:
    with pytest.raises(TypeError):
        await kv.put("k", b"bytes")  # type: ignore[arg-type]


async def test_list_keys_by_prefix_sorted(kv: SqliteKvStore, clock: Clock) -> None:
    for key in ["grant:b", "grant:a", "grantee", "client:x", "grant:c"]:
        await kv.put(key, "1")
    await kv.put("grant:z", "1", ttl=60)
    clock.now += 61
    assert await kv.list_keys("grant:") == ["grant:a", "grant:b", "grant:c"]
    assert await kv.list_keys("") == ["client:x", "grant:a", "grant:b", "grant:c", "grantee"]
    assert await kv.list_keys("gr%") == []  # no LIKE wildcards


async def test_state_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "kv.sqlite3"
    first = SqliteKvStore(path)
    await first.put("persist", "yes", ttl=3600)
    first.close()
    assert await SqliteKvStore(path).get("persist") == "yes"


def test_state_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "kv.sqlite3"
    SqliteKvStore(path)
    assert path.stat().st_mode & 0o077 == 0
