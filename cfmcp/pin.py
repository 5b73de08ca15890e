"""The consent-page PIN: generation and the rules a chosen PIN must meet."""

from __future__ import annotations

import secrets

from cfmcp.errors import UsageError

MIN_PIN_LENGTH = 8
MAX_PIN_LENGTH = 128
PIN_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: easy to type from a panel


def generate_pin(groups: int = 3, size: int = 4) -> str:
    """A random PIN such as `k7m2-x9qe-4tnd`: 12 symbols from 31, about 59 bits."""
    return "-".join(
        "".join(secrets.choice(PIN_ALPHABET) for _ in range(size)) for _ in range(groups)
    )


def normalized_length(pin: str) -> int:
    """Symbols that count: the Worker compares PINs without case, spaces and dashes."""
    return len([ch for ch in pin.lower() if ch not in " -\t"])


def check_pin(pin: str, source: str = "the PIN") -> str:
    """Return `pin` if it may guard the consent page; raise a UsageError naming `source`."""
    if normalized_length(pin) < MIN_PIN_LENGTH:
        raise UsageError(
            f"{source} is too short (at least {MIN_PIN_LENGTH} characters besides dashes)",
            hint="the PIN bounds how long guessing takes; leave it unset to generate one",
        )
    if len(pin) > MAX_PIN_LENGTH or any(not ch.isprintable() or ch.isspace() for ch in pin):
        raise UsageError(
            f"{source} must be at most {MAX_PIN_LENGTH} printable characters without spaces"
        )
    return pin
