"""Signing, hashing and randomness for codes, tokens and client ids (stdlib only).

Every signed value is `<prefix>.<base64url(json payload)>.<base64url(hmac)>`, with the HMAC key
derived per purpose from `SIGNING_KEY`, so a value of one kind can never pass as another.
Randomness is drawn only when called (never at import time: Workers forbids it there).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not text or len(text) > 16384:
        raise ValueError("bad base64url length")
    padded = text + "=" * (-len(text) % 4)
    return base64.b64decode(padded, altchars=b"-_", validate=True)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def constant_time_equals(a: str, b: str) -> bool:
    """Compare secrets without leaking where (or whether by length) they differ."""
    return hmac.compare_digest(
        hashlib.sha256(a.encode("utf-8")).digest(), hashlib.sha256(b.encode("utf-8")).digest()
    )


def normalized_pin(pin: str) -> str:
    """A PIN as compared: case, spaces and dashes do not count (`H5E9 uneq-bvc3` is
    `h5e9uneqbvc3`); `cfmcp` states the PIN bound on this normalised form."""
    return "".join(ch for ch in pin.lower() if ch not in " -\t")


def pkce_s256(verifier: str) -> str:
    return b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())


class Signer:
    """HMAC-SHA256 signer with one derived key per purpose."""

    def __init__(self, signing_key: str) -> None:
        if len(signing_key) < 16:
            raise ValueError("SIGNING_KEY is too short (need at least 16 characters)")
        self._root = signing_key.encode("utf-8")
        self._keys: dict[str, bytes] = {}

    def _key(self, purpose: str) -> bytes:
        key = self._keys.get(purpose)
        if key is None:
            key = hmac.new(self._root, b"cfmcp/v1/" + purpose.encode(), hashlib.sha256).digest()
            self._keys[purpose] = key
        return key

    def mac(self, purpose: str, message: str) -> str:
        return b64url_encode(
            hmac.new(self._key(purpose), message.encode(), hashlib.sha256).digest()
        )

    def derive_hex(self, purpose: str, message: str, length: int = 32) -> str:
        """A keyed, deterministic hex id (never starts with "-" on a command line)."""
        return hmac.new(self._key(purpose), message.encode(), hashlib.sha256).hexdigest()[:length]

    def sign(self, prefix: str, payload: dict[str, Any]) -> str:
        body = b64url_encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        signed = f"{prefix}.{body}"
        return f"{signed}.{self.mac(prefix, signed)}"

    def verify(self, prefix: str, value: str) -> dict[str, Any] | None:
        """Return the payload of a value this signer made for `prefix`, else None."""
        if not isinstance(value, str) or len(value) > 8192:
            return None
        parts = value.split(".")
        if len(parts) != 3 or parts[0] != prefix:
            return None
        signed = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self.mac(prefix, signed), parts[2]):
            return None
        try:
            payload = json.loads(b64url_decode(parts[1]))
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None
