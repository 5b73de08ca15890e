"""The state that must be exact at every location, and its one serialising owner.

KV is eventually consistent and a read-modify-write over it is not atomic, so four decisions
live here instead (docs/STORAGE.md has the tables):
- PIN attempts: a sliding-window count per client address and globally, checked and counted
  in one step, so the stated bound holds under any concurrency. A correct PIN never resets
  the count (an attacker sharing the address gains nothing from the owner's success).
- Single use of consent-form tokens and authorization codes.
- Refresh rotation as compare-and-swap on a generation number; reuse of a rotated-out token
  after the grace window revokes the grant (RFC 9700 §4.14.2), replay of a used code revokes
  the grant issued from it (RFC 6749 §4.1.2).

`ExactLedger` holds the rules over a synchronous SQL connection. Every operation runs with no
`await` inside it: in a Durable Object (whose calls interleave at every `await`) that makes
each one atomic, and each runs in one transaction (`transactionSync` there, `BEGIN IMMEDIATE`
on CPython, so several processes sharing one file stay exact too). Hosts reach the
ledger through `ExactClient` with a `send(op, args_json) -> result_json` transport: a Durable
Object stub in the Workers runtime, a direct call on CPython.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

GLOBAL_SCOPE = "global"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS pin_failures (scope TEXT NOT NULL, at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS pin_failures_by_scope ON pin_failures (scope, at)",
    "CREATE INDEX IF NOT EXISTS pin_failures_by_time ON pin_failures (at)",
    "CREATE TABLE IF NOT EXISTS used_once (key TEXT PRIMARY KEY, grant_id TEXT NOT NULL, "
    "used_at INTEGER NOT NULL, expires_at INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS used_once_by_expiry ON used_once (expires_at)",
    "CREATE TABLE IF NOT EXISTS grants (grant_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, "
    "client_name TEXT NOT NULL, scope TEXT NOT NULL, resource TEXT NOT NULL, "
    "created_at INTEGER NOT NULL, generation INTEGER NOT NULL, rotated_at INTEGER NOT NULL, "
    "expires_at INTEGER NOT NULL, legacy_hash TEXT NOT NULL DEFAULT '', "
    "revoked INTEGER NOT NULL DEFAULT 0)",
)

# Answers of `consent_attempt`.
CONSENT_OK = "ok"
CONSENT_WRONG_PIN = "wrong_pin"
CONSENT_BLOCKED_ADDRESS = "blocked_address"
CONSENT_BLOCKED_GLOBAL = "blocked_global"
CONSENT_USED = "used"
# Answers of `redeem_code`.
CODE_NEW = "new"
CODE_RETRY = "retry"  # the same client asked again within the retry window: same grant
CODE_REPLAYED = "replayed"  # a used code came back later: its grant is now revoked
# Answers of `rotate_refresh`.
REFRESH_ROTATED = "rotated"
REFRESH_RETRY = "retry"  # the previous token inside the grace window: the current generation
REFRESH_REUSED = "reused"  # a rotated-out token after the grace window: grant now revoked
REFRESH_INVALID = "invalid"
REFRESH_TOO_MUCH_SCOPE = "invalid_scope"  # nothing rotated


class Sql(Protocol):
    """A synchronous SQL connection: rows as lists of column values."""

    def run(self, query: str, *params: Any) -> list[list[Any]]: ...

    def atomically(self, work: Callable[[], str]) -> str:
        """Run `work` as one transaction (all of its writes, or none on an exception)."""
        ...


class PinLimits:
    """The PIN bound: wrong PINs per address per window, and globally per hour."""

    __slots__ = ("global_max", "global_window", "per_address_max", "per_address_window")

    def __init__(
        self,
        per_address_max: int,
        per_address_window: int,
        global_max: int,
        global_window: int = 3600,
    ) -> None:
        self.per_address_max = per_address_max
        self.per_address_window = per_address_window
        self.global_max = global_max
        self.global_window = global_window


def pin_limits(settings: Any) -> PinLimits:
    """The PIN bound of a deployment's `Settings`."""
    return PinLimits(
        settings.pin_max_failures_per_ip,
        settings.pin_lockout_seconds,
        settings.pin_max_failures_global_per_hour,
    )


class ExactLedger:
    """The exact decisions over one SQL store; each public operation is one transaction."""

    def __init__(self, sql: Sql, limits: PinLimits) -> None:
        self._sql = sql
        self._limits = limits
        for statement in SCHEMA:
            sql.run(statement)
        self._ops: dict[str, Callable[..., dict[str, Any]]] = {
            "consent_attempt": self.consent_attempt,
            "redeem_code": self.redeem_code,
            "adopt_legacy": self.adopt_legacy,
            "rotate_refresh": self.rotate_refresh,
            "revoke": self.revoke,
            "set_scope": self.set_scope,
            "grant_owner": self.grant_owner,
        }

    def handle(self, op: str, args_json: str) -> str:
        """Run one operation named by a transport; JSON in, JSON out."""
        operation = self._ops.get(op)
        if operation is None:
            raise ValueError(f"unknown exact-state operation {op!r}")
        args = json.loads(args_json)
        return self._sql.atomically(lambda: json.dumps(operation(**args), separators=(",", ":")))

    def _one(self, query: str, *params: Any) -> list[Any] | None:
        rows = self._sql.run(query, *params)
        return rows[0] if rows else None

    # -- PIN attempts and consent tokens -----------------------------------------------

    def consent_attempt(
        self, address: str, pin_ok: bool, consent_key: str, consent_expires: int, now: float
    ) -> dict[str, Any]:
        """Check-and-count one PIN attempt; on success mark the consent token used."""
        limits = self._limits
        # Two range deletes (indexed); an address row never outlives the global window.
        oldest_kept = min(limits.per_address_window, limits.global_window)
        self._sql.run("DELETE FROM pin_failures WHERE at <= ?", now - limits.global_window)
        self._sql.run(
            "DELETE FROM pin_failures WHERE at <= ? AND scope != ?", now - oldest_kept, GLOBAL_SCOPE
        )
        mine = self._one("SELECT count(*), min(at) FROM pin_failures WHERE scope = ?", address) or [
            0,
            None,
        ]
        if mine[0] >= limits.per_address_max:
            wait = mine[1] + limits.per_address_window - now
            return {"result": CONSENT_BLOCKED_ADDRESS, "retry_after": max(1, int(wait) + 1)}
        everyone = self._one(
            "SELECT count(*), min(at) FROM pin_failures WHERE scope = ?", GLOBAL_SCOPE
        ) or [0, None]
        if everyone[0] >= limits.global_max:
            wait = everyone[1] + limits.global_window - now
            return {"result": CONSENT_BLOCKED_GLOBAL, "retry_after": max(1, int(wait) + 1)}
        if not pin_ok:
            self._sql.run(
                "INSERT INTO pin_failures (scope, at) VALUES (?, ?), (?, ?)",
                address,
                now,
                GLOBAL_SCOPE,
                now,
            )
            return {"result": CONSENT_WRONG_PIN, "left": limits.per_address_max - mine[0] - 1}
        if not self._use_once(consent_key, "", int(now), consent_expires):
            return {"result": CONSENT_USED}
        return {"result": CONSENT_OK}

    def _use_once(self, key: str, grant_id: str, now: int, expires_at: int) -> bool:
        """Record `key` as used; False if it already was (expired rows are forgotten)."""
        self._sql.run("DELETE FROM used_once WHERE expires_at < ?", now)
        inserted = self._sql.run(
            "INSERT INTO used_once (key, grant_id, used_at, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING RETURNING key",
            key,
            grant_id,
            now,
            expires_at,
        )
        return bool(inserted)

    # -- authorization codes and grants -------------------------------------------------

    def redeem_code(
        self,
        code_key: str,
        code_expires: int,
        grant_id: str,
        client_id: str,
        client_name: str,
        scope: str,
        resource: str,
        now: int,
        retry_seconds: int,
        refresh_ttl: int,
    ) -> dict[str, Any]:
        """Single use of a code: the first redemption creates `grant_id` at generation 1."""
        if self._use_once(code_key, grant_id, now, code_expires):
            self._sql.run(
                "INSERT INTO grants (grant_id, client_id, client_name, scope, resource, "
                "created_at, generation, rotated_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)",
                grant_id,
                client_id,
                client_name,
                scope,
                resource,
                now,
                now,
                now + refresh_ttl,
            )
            return {"result": CODE_NEW}
        used = self._one(
            "SELECT u.grant_id, u.used_at, g.revoked, g.generation FROM used_once u "
            "LEFT JOIN grants g ON g.grant_id = u.grant_id WHERE u.key = ?",
            code_key,
        )
        if used is None or used[0] != grant_id:  # cannot happen: the grant id derives from it
            return {"result": CODE_REPLAYED}
        if now - used[1] <= retry_seconds and used[2] == 0 and used[3] == 1:
            return {"result": CODE_RETRY}
        return {"result": CODE_REPLAYED, "newly_revoked": self._revoke(grant_id)}

    def adopt_legacy(
        self,
        grant_id: str,
        client_id: str,
        client_name: str,
        scope: str,
        resource: str,
        created_at: int,
        legacy_hash: str,
        now: int,
        refresh_ttl: int,
    ) -> dict[str, Any]:
        """Give a KV-era grant (refresh token checked against KV by the caller) a row here."""
        self._sql.run(
            "INSERT INTO grants (grant_id, client_id, client_name, scope, resource, created_at, "
            "generation, rotated_at, expires_at, legacy_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?) ON CONFLICT (grant_id) DO NOTHING",
            grant_id,
            client_id,
            client_name,
            scope,
            resource,
            created_at,
            now,
            now + refresh_ttl,
            legacy_hash,
        )
        return {}

    def rotate_refresh(
        self,
        grant_id: str,
        client_id: str,
        generation: int,
        legacy_hash: str,
        requested_scope: str,
        now: int,
        grace_seconds: int,
        refresh_ttl: int,
    ) -> dict[str, Any]:
        """Compare-and-swap the grant's generation; the answer names the generation to issue
        and carries the grant (client name, scope, resource, created_at)."""
        row = self._one(
            "SELECT client_id, generation, rotated_at, expires_at, legacy_hash, revoked, "
            "client_name, scope, resource, created_at FROM grants WHERE grant_id = ?",
            grant_id,
        )
        if row is None or row[0] != client_id or row[5] or row[3] < now:
            return {"result": REFRESH_INVALID}
        current, rotated_at = row[1], row[2]
        if generation == 0 and legacy_hash != row[4]:
            return {"result": REFRESH_INVALID}  # not this grant's KV-era token
        if not _policy_scopes(requested_scope) <= _policy_scopes(row[7]):
            return {"result": REFRESH_TOO_MUCH_SCOPE}
        grant = {"client_name": row[6], "scope": row[7], "resource": row[8], "created_at": row[9]}
        if generation == current:
            self._sql.run(
                "UPDATE grants SET generation = ?, rotated_at = ?, expires_at = ? "
                "WHERE grant_id = ? AND generation = ?",
                current + 1,
                now,
                now + refresh_ttl,
                grant_id,
                current,
            )
            return {"result": REFRESH_ROTATED, "generation": current + 1, **grant}
        if generation == current - 1 and now <= rotated_at + grace_seconds:
            return {"result": REFRESH_RETRY, "generation": current, **grant}
        if generation < current:
            return {"result": REFRESH_REUSED, "newly_revoked": self._revoke(grant_id)}
        return {"result": REFRESH_INVALID}

    def revoke(self, grant_id: str) -> dict[str, Any]:
        return {"newly_revoked": self._revoke(grant_id)}

    def _revoke(self, grant_id: str) -> bool:
        """Revoke for good, leaving a tombstone for a grant with no row yet (a KV-era grant
        never adopted stays revoked); True when this call did the revoking."""
        changed = self._sql.run(
            "INSERT INTO grants (grant_id, client_id, client_name, scope, resource, created_at, "
            "generation, rotated_at, expires_at, revoked) "
            "VALUES (?, '', '', '', '', 0, 0, 0, 0, 1) "
            "ON CONFLICT (grant_id) DO UPDATE SET revoked = 1 WHERE revoked = 0 RETURNING grant_id",
            grant_id,
        )
        return bool(changed)

    def set_scope(self, grant_id: str, scope: str) -> dict[str, Any]:
        """A narrowed grant's new scope (`cfmcp clients set-policy`, applied at refresh)."""
        self._sql.run(
            "UPDATE grants SET scope = ? WHERE grant_id = ? AND revoked = 0", scope, grant_id
        )
        return {}

    def grant_owner(self, grant_id: str) -> dict[str, Any]:
        """The client of a grant that is not revoked ("" when there is none)."""
        row = self._one("SELECT client_id FROM grants WHERE grant_id = ? AND revoked = 0", grant_id)
        return {"client_id": row[0] if row else ""}


# policy.SCOPE_PREFIX, spelled here because this module imports nothing from its package (the
# Pyodide harness's exact_server.py loads it alone); tests/core/test_policy.py checks they match.
POLICY_SCOPE_PREFIX = "mcp:"


def _policy_scopes(scope: str) -> set[str]:
    """The scopes naming a policy (`mcp:<name>`): what a refresh may not widen. Other scopes
    name no access (`mcp`, `offline_access`, an SDK's `openid`), so asking for them is not
    asking for more."""
    return {s for s in scope.split() if s.startswith(POLICY_SCOPE_PREFIX)}


Send = Callable[[str, str], Awaitable[str]]


class ExactClient:
    """Typed, async access to the ledger through a host's transport."""

    def __init__(self, send: Send) -> None:
        self._send = send

    async def _call(self, op: str, **args: Any) -> dict[str, Any]:
        answer = await self._send(op, json.dumps(args, separators=(",", ":")))
        return json.loads(str(answer))

    async def consent_attempt(
        self, address: str, pin_ok: bool, consent_key: str, consent_expires: int, now: float
    ) -> dict[str, Any]:
        return await self._call(
            "consent_attempt",
            address=address,
            pin_ok=pin_ok,
            consent_key=consent_key,
            consent_expires=consent_expires,
            now=now,
        )

    async def redeem_code(self, **args: Any) -> dict[str, Any]:
        return await self._call("redeem_code", **args)

    async def adopt_legacy(self, **args: Any) -> None:
        await self._call("adopt_legacy", **args)

    async def rotate_refresh(self, **args: Any) -> dict[str, Any]:
        return await self._call("rotate_refresh", **args)

    async def revoke(self, grant_id: str) -> None:
        await self._call("revoke", grant_id=grant_id)

    async def set_scope(self, grant_id: str, scope: str) -> None:
        await self._call("set_scope", grant_id=grant_id, scope=scope)

    async def grant_owner(self, grant_id: str) -> str:
        return str((await self._call("grant_owner", grant_id=grant_id))["client_id"])


def direct_sender(ledger: ExactLedger) -> Send:
    """A transport for hosts that hold the ledger in-process (CPython, tests)."""

    async def send(op: str, args_json: str) -> str:
        return ledger.handle(op, args_json)

    return send
