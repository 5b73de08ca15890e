"""The Worker's record of what the upstream last said of its PAT (KV key `upstream:pat`).

Written by worker_template/cfmcp_worker/pat_watch.py when the upstream's answer changes:
`{"status": "accepted"|"refused"|"forbidden", "http_status": 401, "seen_at": "2026-12-02T10:00:00Z",
"expires": "2026-12-31 00:00:00 UTC"}` (no PAT, ever). No record means the Worker has seen
neither a refusal nor a named expiry, or `cfmcp deploy` deleted it when it set a new PAT.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from cfmcp.pat.verdict import parse_expiration

REFUSED = "refused"  # a 401
FORBIDDEN = "forbidden"  # a 403


@dataclass(frozen=True)
class PatRecord:
    status: str
    http_status: int | None
    seen_at: datetime | None
    expires_at: datetime | None

    @property
    def refused(self) -> bool:
        return self.status == REFUSED

    @property
    def forbidden(self) -> bool:
        return self.status == FORBIDDEN


def parse_record(raw: bytes | str | None) -> PatRecord | None:
    """The record, or None when there is none or it cannot be read."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("status"), str):
        return None
    status = data.get("http_status")
    return PatRecord(
        status=data["status"],
        http_status=status if isinstance(status, int) else None,
        seen_at=parse_expiration(str(data.get("seen_at") or "")),
        expires_at=parse_expiration(str(data.get("expires") or "")),
    )
