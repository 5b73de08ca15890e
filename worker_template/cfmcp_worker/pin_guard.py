"""Bounds on PIN guessing, checked and counted exactly by the exact state (`exact.py`).

With the defaults, in any 15 minutes at most 5 wrong PINs are answered per client address, and
in any 60 minutes at most 60 in all, from every edge location together. A wrong PIN costs no KV
write. A correct PIN does not reset the count, and also spends the consent form's token: the
same form cannot be submitted again to mint a second code.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cfmcp_worker import exact
from cfmcp_worker.crypto import Signer, sha256_hex
from cfmcp_worker.exact import ExactClient


class PinVerdict:
    """What to do with one consent POST: go on (`ok`), or show `message` with `status` —
    on the consent page again, or on an error page when the form is `spent`."""

    __slots__ = ("message", "ok", "spent", "status")

    def __init__(self, ok: bool, message: str = "", status: int = 200, spent: bool = False) -> None:
        self.ok = ok
        self.message = message
        self.status = status
        self.spent = spent


class PinGuard:
    def __init__(
        self,
        exact_state: ExactClient,
        signer: Signer,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._exact = exact_state
        self._signer = signer
        self._clock = clock

    async def attempt(
        self, client_ip: str | None, pin_ok: bool, consent_token: str, consent_expires: int
    ) -> PinVerdict:
        """Count this attempt and say whether it may proceed (in one exact step)."""
        answer = await self._exact.consent_attempt(
            # keyed: a plain hash of an IPv4 address is reversed by trying all 2^32
            address=f"ip:{self._signer.derive_hex('pin-address', client_ip or 'unknown')}",
            pin_ok=pin_ok,
            consent_key=f"consent:{sha256_hex(consent_token)}",
            consent_expires=consent_expires,
            now=self._clock(),
        )
        result = answer["result"]
        if result == exact.CONSENT_OK:
            return PinVerdict(True)
        if result == exact.CONSENT_WRONG_PIN:
            left = int(answer.get("left", 0))
            plural = "s" if left != 1 else ""
            more = f" {left} more attempt{plural} from your address." if left else ""
            return PinVerdict(False, f"Wrong PIN.{more}", 401)
        if result == exact.CONSENT_BLOCKED_ADDRESS:
            minutes = max(1, -(-int(answer.get("retry_after", 60)) // 60))
            return PinVerdict(
                False,
                f"Too many wrong PINs from your address. Try again in {minutes} minutes.",
                429,
            )
        if result == exact.CONSENT_BLOCKED_GLOBAL:
            return PinVerdict(
                False, "Too many wrong PINs were entered recently. Try again within the hour.", 429
            )
        return PinVerdict(
            False,
            "This consent form was already used. Start again from your MCP client.",
            400,
            spent=True,
        )
