"""The values of the Worker's secrets, gathered only when a plan sends them, and the PIN rules.

`UPSTREAM_TOKEN` comes from `CFMCP_UPSTREAM_TOKEN` or a hidden prompt; `AUTH_PIN` from
`CFMCP_PIN`, a hidden prompt, or is generated (the command shows a generated PIN once);
`SIGNING_KEY` from `CFMCP_SIGNING_KEY` or is generated. Values live in memory only.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from cfmcp.errors import UsageError
from cfmcp.output import print_error
from cfmcp.prompts import ask_secret

UPSTREAM_TOKEN_ENV = "CFMCP_UPSTREAM_TOKEN"
PIN_ENV = "CFMCP_PIN"
SIGNING_KEY_ENV = "CFMCP_SIGNING_KEY"

MIN_PIN_LENGTH = 8
MAX_PIN_LENGTH = 128
PIN_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: easy to type from a panel


def generate_pin(groups: int = 3, size: int = 4) -> str:
    """A random PIN such as `k7m2-x9qe-4tnd`: 12 symbols from 31, about 59 bits."""
    return "-".join(
        "".join(secrets.choice(PIN_ALPHABET) for _ in range(size)) for _ in range(groups)
    )


def normalized(pin: str) -> str:
    """The PIN as the Worker compares it: without case, spaces and dashes."""
    return "".join(ch for ch in pin.lower() if ch not in " -\t")  # as the Worker does


def normalized_length(pin: str) -> int:
    """Symbols that count (the PIN bound is computed on them)."""
    return len(normalized(pin))


def check_pin(pin: str, source: str = "the PIN") -> str:
    """Return `pin` if it may guard the consent page; raise a UsageError naming `source`.
    Spaces and dashes may group it (they do not count, as the Worker ignores them)."""
    if normalized_length(pin) < MIN_PIN_LENGTH:
        generate = (
            "press Enter to have one generated"
            if source == "the PIN"
            else f"leave {PIN_ENV} unset to have one generated"
        )
        raise UsageError(
            f"{source} is too short (at least {MIN_PIN_LENGTH} characters besides spaces and "
            "dashes)",
            hint=f"the PIN bounds how long guessing takes; {generate}",
        )
    if len(pin) > MAX_PIN_LENGTH or any(not (ch.isprintable() or ch == " ") for ch in pin):
        raise UsageError(f"{source} must be at most {MAX_PIN_LENGTH} printable characters")
    return pin


MAX_PAT_LENGTH = 4096


def check_upstream_token(token: str, source: str = "the upstream token (PAT)") -> str:
    """Return `token` if it can travel in an HTTP header; raise a UsageError naming `source`
    (never quoting the value): printable ASCII, no whitespace, at most MAX_PAT_LENGTH."""
    if len(token) > MAX_PAT_LENGTH or not all("!" <= ch <= "~" for ch in token):
        raise UsageError(
            f"{source} must be at most {MAX_PAT_LENGTH} printable ASCII characters with no spaces",
            hint="copy the PAT again (an invisible character or a line break came with it)",
        )
    return token


def generate_signing_key() -> str:
    return secrets.token_urlsafe(48)


PIN_QUESTION = "PIN for the consent page (input hidden; Enter: generate one)"
PIN_AGAIN = "The same PIN again"
PIN_HINT = f"set {PIN_ENV}, or pass --yes to have one generated"
PAT_QUESTION = "Upstream MCP server token (PAT, input hidden)"
PAT_HINT = f"set {UPSTREAM_TOKEN_ENV} (it is sent to Cloudflare once, never stored)"


def ask_new_pin() -> str:
    """A PIN typed twice (compared as the Worker compares them), asked again while too short
    or mistyped; "" when the person wants one generated."""
    while True:
        pin = ask_secret(PIN_QUESTION, hint=PIN_HINT, allow_empty=True)
        if not pin:
            return ""
        try:
            check_pin(pin)
        except UsageError as exc:
            print_error(exc.message, exc.hint)
            continue
        if normalized(ask_secret(PIN_AGAIN, hint=PIN_HINT, allow_empty=True)) == normalized(pin):
            return pin
        print_error("the two PINs differ", "type it again (Enter: generate one)")


@dataclass
class SecretValues:
    values: dict[str, str] = field(default_factory=dict)
    generated_pin: str | None = None  # set only when cfmcp generated it (show it once)

    def __repr__(self) -> str:  # never show values, even in a debugger or a traceback
        return f"SecretValues(names={sorted(self.values)})"


def gather_secrets(
    names: tuple[str, ...],
    env: Mapping[str, str],
    *,
    interactive: bool,
) -> SecretValues:
    """Values for `names`: from the environment, else asked (hidden) when `interactive`."""
    result = SecretValues()
    for name in names:
        if name == "UPSTREAM_TOKEN":
            value = env.get(UPSTREAM_TOKEN_ENV, "").strip()
            if not value and interactive:
                value = ask_secret(PAT_QUESTION, hint=PAT_HINT)
            if not value:
                raise UsageError(
                    "the upstream token (PAT) is needed: this deploy sets the UPSTREAM_TOKEN "
                    "secret",
                    hint=PAT_HINT,
                )
            check_upstream_token(value)
        elif name == "AUTH_PIN":
            value = env.get(PIN_ENV, "").strip()
            if value:
                check_pin(value, f"the PIN from {PIN_ENV}")
            elif interactive:
                value = ask_new_pin()
            if not value:
                value = generate_pin()
                result.generated_pin = value
        elif name == "SIGNING_KEY":
            value = env.get(SIGNING_KEY_ENV, "").strip() or generate_signing_key()
            if len(value) < 16:
                raise UsageError(
                    f"{SIGNING_KEY_ENV} is too short",
                    hint="use at least 16 characters, e.g. `openssl rand -base64 32`",
                )
        else:  # pragma: no cover - SECRET_NAMES is fixed
            raise UsageError(f"unknown secret {name}")
        result.values[name] = value
    return result
