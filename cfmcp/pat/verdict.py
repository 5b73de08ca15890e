"""What the upstream said of a PAT, and how an expiry date is read and said."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cfmcp.worker.contract import PAT_EXPIRATION_HEADER

# GitHub names a PAT's expiry on every authenticated answer, e.g. "2026-12-31 00:00:00 UTC".
EXPIRATION_HEADER = PAT_EXPIRATION_HEADER
EXPIRY_WARNING_DAYS = 14
REPLACE_COMMAND = "cfmcp deploy --new-upstream-token"
FORBIDDEN_MEANS = (
    "a 403 can mean a rate limit, an SSO authorization the PAT lacks, a missing permission, "
    "or a refused PAT"
)
SANE_YEARS = range(2000, 2201)  # an expiry (or a record's time) outside these is junk


class PatStatus(StrEnum):
    accepted = "accepted"  # the upstream answered an authenticated request with 2xx
    refused = "refused"  # 401: the PAT is wrong, expired or revoked
    forbidden = "forbidden"  # 403: a missing permission, SSO, a rate limit, or a refused PAT
    unchecked = "unchecked"  # no answer, or one that proves nothing (5xx, 404, …)


@dataclass(frozen=True)
class PatVerdict:
    status: PatStatus
    detail: str  # one line, e.g. "POST initialize → 401"; never the PAT
    http_status: int | None = None
    expires_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "detail": self.detail,
            "http_status": self.http_status,
            "expires_at": iso(self.expires_at),
        }


def parse_expiration(value: str | None) -> datetime | None:
    """GitHub's `2026-12-31 00:00:00 UTC` (or an ISO 8601 time) as an aware UTC datetime.

    None for anything else, including a time outside SANE_YEARS (a junk header is "no expiry
    known", never an error: the Worker stores the header as the upstream sent it)."""
    if not value:
        return None
    text = value.strip()
    if text.upper().endswith(" UTC"):
        text = text[:-4].strip() + "+00:00"
    elif text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
        moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return moment if moment.year in SANE_YEARS else None


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def days_left(expires_at: datetime, now: datetime) -> int:
    """Whole days until `expires_at` (negative once it passed)."""
    return (expires_at - now).days if expires_at >= now else -((now - expires_at).days + 1)


def expiry_phrase(expires_at: datetime, now: datetime) -> str:
    """e.g. "the PAT expires on 2026-12-31 (in 29 days)"."""
    day = expires_at.astimezone(UTC).strftime("%Y-%m-%d")
    left = days_left(expires_at, now)
    if expires_at <= now:
        return f"the PAT expired on {day}"
    if left == 0:
        return f"the PAT expires today ({expires_at.astimezone(UTC):%H:%M} UTC)"
    return f"the PAT expires on {day} (in {left} day{'s' * (left != 1)})"


def expires_soon(expires_at: datetime, now: datetime) -> bool:
    """Expired, or expiring within EXPIRY_WARNING_DAYS days: time to replace it."""
    return expires_at <= now or days_left(expires_at, now) <= EXPIRY_WARNING_DAYS
