"""`.cfmcp/state.json`: what the last deploy created, written after every step.

The state only saves calls; it is never the source of truth for *whether* something exists.
Resources have deterministic names (KV title, Worker name, hostname), so when the file is lost,
stale, or belongs to another account/name, deploy finds them again by name: nothing is duplicated.
It holds ids and hashes only, never a secret.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATE_DIR = ".cfmcp"
STATE_FILE = "state.json"
STATE_VERSION = 1


@dataclass(frozen=True)
class DeployState:
    account_id: str = ""
    worker: str = ""
    token_account_owned: bool = False
    kv_namespace_title: str = ""
    kv_namespace_id: str = ""
    workers_subdomain: str = ""
    zone_name: str = ""
    zone_id: str = ""
    bundle_sha256: str = ""
    script_uploaded: bool = False
    secrets_set: tuple[str, ...] = ()
    workers_dev_enabled: bool = False
    custom_domain: str = ""
    route_pattern: str = ""
    route_id: str = ""
    public_url: str = ""
    # When this machine last set the PAT, whether the upstream accepted it first (false with
    # --skip-pat-check) and the expiry it named then (GitHub's header); never the PAT itself.
    pat_set_at: str = ""
    pat_checked: bool = False
    pat_expires_at: str = ""
    updated_at: str = ""

    def applies_to(self, account_id: str, worker: str) -> bool:
        """Only a record of this account and Worker may save calls."""
        return bool(self.account_id) and self.account_id == account_id and self.worker == worker

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["version"] = STATE_VERSION
        return data


def state_path(project_dir: Path) -> Path:
    return project_dir / STATE_DIR / STATE_FILE


def load_state(path: Path) -> DeployState:
    """The recorded state, or an empty one when missing or unreadable (then look up by name)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return DeployState()
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        return DeployState()
    known = {f.name: f for f in fields(DeployState)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            continue
        if key == "secrets_set":
            value = tuple(str(v) for v in value) if isinstance(value, list) else ()
        values[key] = value
    try:
        return DeployState(**values)
    except TypeError:
        return DeployState()


class StateRecorder:
    """Holds the current state and rewrites the file atomically on every update."""

    def __init__(self, path: Path, initial: DeployState) -> None:
        self.path = path
        self.state = initial

    def update(self, **changes: Any) -> DeployState:
        stamp = datetime.now(UTC).replace(microsecond=0).isoformat()
        self.state = replace(self.state, **changes, updated_at=stamp)
        self._write()
        return self.state

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        gitignore = self.path.parent / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text("*\n", encoding="utf-8")
        text = json.dumps(self.state.to_json(), indent=2, sort_keys=True) + "\n"
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
