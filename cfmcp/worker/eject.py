"""`cfmcp render` (the eject path): the bundle `cfmcp deploy` would upload, and a wrangler.toml.

What deploy learns from the account is taken from the project's state file when it recorded
this account and Worker: the public URL (a workers.dev one is known only from the account) and
the KV namespace id. Nothing falls back to a silent default: without a cfmcp.toml it stops, and
what it cannot know (a workers.dev URL no deploy recorded, a KV namespace not created yet) is
rendered the way the Worker copes without it and said by the command.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cfmcp.project.config import load_config
from cfmcp.project.state import load_state, state_path
from cfmcp.worker.render import Bundle, write_eject_folder

KV_ID_PLACEHOLDER = "<KV_NAMESPACE_ID>"


@dataclass(frozen=True)
class Ejected:
    bundle: Bundle
    files: list[Path]
    public_url: str  # "" when not known: the Worker then takes its issuer from each request
    kv_namespace_id: str  # "" when no deploy recorded one (wrangler.toml has the placeholder)
    deployed_sha256: str  # the bundle the last deploy uploaded, "" when none is recorded

    @property
    def matches_deployed(self) -> bool | None:
        """Whether this is the bundle the last deploy uploaded (None: nothing recorded)."""
        return self.bundle.sha256 == self.deployed_sha256 if self.deployed_sha256 else None


def eject(
    config_path: Path, out: Path, *, public_url: str = "", kv_namespace_id: str = ""
) -> Ejected:
    config = load_config(config_path)
    state = load_state(state_path(config_path.resolve().parent))
    if not state.applies_to(config.account_id, config.name):
        state = type(state)()
    url = (public_url or config.public_origin() or state.public_url).rstrip("/")
    kv_id = kv_namespace_id or state.kv_namespace_id
    bundle, files = write_eject_folder(
        config, out, public_url=url, kv_namespace_id=kv_id or KV_ID_PLACEHOLDER
    )
    return Ejected(bundle, files, url, kv_id, state.bundle_sha256)
