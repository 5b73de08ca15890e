"""What the upstream says of the PAT, kept in KV for `cfmcp doctor` (key `upstream:pat`).

The upstream is the only judge of the PAT, and its answers reach only the Worker: a 401 means
refused (wrong, expired or revoked), a 403 forbidden (GitHub also says 403 for rate limits,
SSO and missing permissions, so it is told apart), a 2xx accepted, and GitHub names the PAT's
expiry on its answers (`github-authentication-token-expiration: 2026-12-31 00:00:00 UTC`).

Cost, per isolate: the first answer that says anything of the PAT reads the key once; after
that a KV write happens only when the reading changes (accepted ↔ refused, another expiry), at
most once per WRITE_INTERVAL seconds, one at a time, never for an answer that says nothing of
the PAT (5xx, 404, …). A plain 2xx over a refused record replaces it, so one transient 401/403
does not stick. While the key holds a refusal, the isolate reads it again at most every
REREAD_AFTER seconds (`cfmcp deploy` deletes it when it sets a new PAT, and a refusal of the
new PAT must be written then). A 401 storm writes once per isolate that sees the change; the
steady state reads once and writes nothing. Work is handed to the host (`take()`), which runs
it after the response (`ctx.waitUntil` on Workers), so no request waits for KV. The value never
holds the PAT: `{"status": "accepted"|"refused"|"forbidden", "http_status": 401, "seen_at":
"…Z", "expires": "…"}`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Coroutine
from typing import Any

from cfmcp_worker import log_lines
from cfmcp_worker.http_types import Headers
from cfmcp_worker.kv import KvStore

PAT_STATUS_KEY = "upstream:pat"
EXPIRATION_HEADER = "github-authentication-token-expiration"
WRITE_INTERVAL = 60.0
REREAD_AFTER = 300.0  # seconds a cached refusal is trusted before the key is read again
MAX_EXPIRES_CHARS = 64
ACCEPTED = "accepted"
REFUSED = "refused"
FORBIDDEN = "forbidden"
# As cfmcp/worker/contract.py spells them (tests/test_worker_contract.py compares): 2xx accepts.
PAT_REFUSED_STATUSES = (401,)
PAT_FORBIDDEN_STATUSES = (403,)

Reading = tuple[str, str]  # (status, expires: "" when not named)
NOTHING_TO_SAY: Reading = (ACCEPTED, "")


def reading_of(status: int, headers: Headers) -> Reading | None:
    """What this answer says of the PAT, None when nothing (neither 2xx nor 401/403)."""
    if status in PAT_REFUSED_STATUSES:
        verdict = REFUSED
    elif status in PAT_FORBIDDEN_STATUSES:
        verdict = FORBIDDEN
    elif 200 <= status < 300:
        verdict = ACCEPTED
    else:
        return None
    expires = ""
    for name, value in headers:
        if name.lower() == EXPIRATION_HEADER:
            expires = value.strip()[:MAX_EXPIRES_CHARS]
            if not expires.isprintable():
                expires = ""
            break
    return verdict, expires


class PatWatch:
    """Per isolate: the reading KV holds (as last read or written here) and the one pending
    sync; `observe` is synchronous and cheap, `take` hands the KV work to the host."""

    def __init__(self, kv: KvStore, clock: Callable[[], float] = time.time) -> None:
        self._kv = kv
        self._clock = clock
        self._stored: Reading | None = None
        self._known_at: float | None = None  # when `_stored` was read or written; None: never
        self._busy = False
        self._due: tuple[Reading, int] | None = None
        self._last_write = float("-inf")

    def observe(self, status: int, headers: Headers) -> None:
        reading = reading_of(status, headers)
        if reading is None or self._busy:
            return
        now = self._clock()
        if not self._must_read(now) and (
            self._holds(reading) or now - self._last_write < WRITE_INTERVAL
        ):
            return
        self._due = (reading, status)

    def take(self) -> Coroutine[Any, Any, None] | None:
        """The KV work due, for the host to run in the background; None almost always."""
        if self._due is None or self._busy:
            return None
        reading, status = self._due
        self._due = None
        return self._sync(reading, status)

    def _must_read(self, now: float) -> bool:
        """Never read yet, or a cached refusal old enough to have been deleted by a deploy."""
        if self._known_at is None:
            return True
        refusal = self._stored is not None and self._stored[0] != ACCEPTED
        return refusal and now - self._known_at >= REREAD_AFTER

    def _holds(self, reading: Reading) -> bool:
        """KV says this already (no record says a plain acceptance)."""
        return reading == self._stored or (reading == NOTHING_TO_SAY and self._stored is None)

    async def _sync(self, reading: Reading, status: int) -> None:
        if self._busy:  # another sync started first; `_busy` is set only by a running sync
            return
        self._busy = True
        try:
            if self._must_read(self._clock()):
                self._known_at = self._clock()  # counted even if the read fails: no read storm
                self._stored = _parse(await self._kv.get(PAT_STATUS_KEY))
            if self._holds(reading):
                return
            now = self._clock()
            if now - self._last_write < WRITE_INTERVAL:
                return
            self._last_write = now  # counted even if the write fails: no retry storm
            await self._kv.put(PAT_STATUS_KEY, _record(reading, status, now))
            self._stored, self._known_at = reading, now
            if reading[0] != ACCEPTED:
                log_lines.note(f"the upstream refused the PAT (HTTP {status}); recorded for doctor")
        except Exception as exc:  # a failed record must never fail a request
            log_lines.note(f"could not record the PAT's status: {type(exc).__name__}")
        finally:
            self._busy = False


def _parse(value: str | None) -> Reading | None:
    if not value:
        return None
    try:
        data = json.loads(value)
        return str(data["status"]), str(data.get("expires") or "")
    except (ValueError, KeyError, TypeError):
        return None


def _record(reading: Reading, status: int, now: float) -> str:
    seen_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    record = {"status": reading[0], "http_status": status, "seen_at": seen_at}
    if reading[1]:
        record["expires"] = reading[1]
    return json.dumps(record, sort_keys=True)
