"""`.cfmcp/dev.json`: where a running `cfmcp dev` answers, so `cfmcp doctor --local` finds it.

Written once dev listens and removed when it stops. It holds the origin, the upstream's URL and
transport, the runtime, the KV state path, whether it is the demo, and the process id: never a
secret (the PAT, PIN and signing key stay in dev's memory).

The file may be stale, committed or planted, so a record is believed only when its process is
running as this user (not pid 0 or 1), its origin is on this machine, and its upstream passes
cfmcp.toml's rules (and is cfmcp.toml's, when there is one). Even then doctor never sends a PAT
to the upstream it names: that is only done with the upstream of cfmcp.toml.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from cfmcp.errors import CfmcpError

DEV_RECORD_PATH = Path(".cfmcp") / "dev.json"
DEFAULT_DEV_ORIGIN = "http://127.0.0.1:8787"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class DevRecord:
    origin: str
    upstream_url: str
    upstream_transport: str
    runtime: str
    state: str
    demo: bool
    pid: int


def write_dev_record(record: DevRecord, path: Path = DEV_RECORD_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    gitignore = path.parent / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("*\n", encoding="utf-8")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(record), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def remove_dev_record(pid: int, path: Path = DEV_RECORD_PATH) -> None:
    """Remove the record if it is `pid`'s (another dev may have started here since)."""
    record = _load(path)
    if record is not None and record.pid == pid:
        with contextlib.suppress(OSError):
            path.unlink()


def read_dev_record(
    path: Path = DEV_RECORD_PATH, project_upstream: str | None = None
) -> DevRecord | None:
    """The record of a `cfmcp dev` still running here, else None (also when it cannot be
    believed: see the module docstring). `project_upstream`: cfmcp.toml's upstream URL."""
    record = _load(path)
    if record is None or not _alive(record.pid) or not _sound(record):
        return None
    if project_upstream is not None and record.upstream_url != project_upstream:
        return None
    return record


def _sound(record: DevRecord) -> bool:
    from cfmcp.project.config import validate_upstream_url

    texts = (record.origin, record.upstream_url, record.upstream_transport, record.runtime)
    if not all(isinstance(t, str) for t in texts) or not isinstance(record.state, str):
        return False
    origin = urlsplit(record.origin)
    if origin.scheme != "http" or origin.hostname not in LOOPBACK_HOSTS:
        return False
    try:
        validate_upstream_url(record.upstream_url)
    except CfmcpError:
        return False
    return True


def _load(path: Path) -> DevRecord | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    try:
        return DevRecord(**{f.name: data[f.name] for f in fields(DevRecord)})
    except (KeyError, TypeError):
        return None


def _alive(pid: object) -> bool:
    """A process of this user runs as `pid` (dev runs as the user who runs doctor)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1:
        return False
    try:
        os.kill(pid, 0)
    except OSError:  # PermissionError included: another user's process is not our dev
        return False
    return True
