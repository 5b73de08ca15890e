"""`.cfmcp/dev.json`: where a running `cfmcp dev` answers, so `cfmcp doctor --local` finds it.

Written once dev listens and removed when it stops. It holds the origin, the upstream's URL and
transport, the runtime, the KV state path, whether it is the demo, and the process id: never a
secret (the PAT, PIN and signing key stay in dev's memory).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

DEV_RECORD_PATH = Path(".cfmcp") / "dev.json"
DEFAULT_DEV_ORIGIN = "http://127.0.0.1:8787"


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


def read_dev_record(path: Path = DEV_RECORD_PATH) -> DevRecord | None:
    """The record of a `cfmcp dev` still running, else None."""
    record = _load(path)
    return record if record is not None and _alive(record.pid) else None


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


def _alive(pid: int) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:
        return False
    return True
