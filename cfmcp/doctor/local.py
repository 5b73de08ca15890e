"""`cfmcp doctor --local [URL]`: which local Worker to check, and whether anything answers.

`--local` alone checks the `cfmcp dev` running here (the origin it recorded in
.cfmcp/dev.json, else its default http://127.0.0.1:8787); `--local URL` checks that origin (a
trailing /mcp is dropped). No cfmcp.toml is needed. When nothing answers, doctor says so in
one line and runs no check: every check would only repeat it.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from cfmcp.errors import DevNotRunning
from cfmcp.local.dev_record import DEFAULT_DEV_ORIGIN, DevRecord, read_dev_record
from cfmcp.worker.contract import AS_METADATA_PATH

LOCAL_AUTO = "auto"  # what `--local` without a value stands for


@dataclass(frozen=True)
class LocalTarget:
    origin: str
    record: DevRecord | None  # what the `cfmcp dev` serving `origin` recorded, if it did


def find_local_target(given: str, project_upstream: str | None = None) -> LocalTarget:
    """`project_upstream`: cfmcp.toml's upstream URL, which a believed record must front."""
    record = read_dev_record(project_upstream=project_upstream)
    if not given or given == LOCAL_AUTO:
        origin = record.origin if record is not None else DEFAULT_DEV_ORIGIN
    else:
        origin = given.strip().rstrip("/")
        origin = origin.removesuffix("/mcp").rstrip("/")
    same = record is not None and record.origin.rstrip("/") == origin
    return LocalTarget(origin, record if same else None)


def require_answer(target: LocalTarget, http: httpx.Client) -> None:
    """Raise DevNotRunning when nothing answers at the target's origin."""
    try:
        http.get(target.origin + AS_METADATA_PATH)
    except httpx.HTTPError:
        raise DevNotRunning(
            f"nothing answers at {target.origin} — start it with `cfmcp dev`"
        ) from None
