"""`cfmcp render` (the eject path): the bundle `cfmcp deploy` would upload, and a wrangler.toml.

What deploy learns from the account is taken from the project's state file when it recorded
this account and Worker: the workers.dev subdomain (so the public URL, see
cfmcp.project.public_url) and the KV namespace id. Nothing falls back to a silent default:
without a cfmcp.toml it stops, and what it cannot know (a workers.dev URL no deploy recorded,
a KV namespace not created yet) is rendered the way the Worker copes without it and said by
the command.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cfmcp.account.session import with_account_from_env
from cfmcp.project.config import load_config
from cfmcp.project.public_url import known_public_origin, recorded_state
from cfmcp.worker.render import Bundle, write_eject_folder

KV_ID_PLACEHOLDER = "<KV_NAMESPACE_ID>"


@dataclass(frozen=True)
class Ejected:
    bundle: Bundle
    files: list[Path]
    public_url: str  # "" when not known: the Worker then takes its issuer from each request
    kv_namespace_id: str  # "" when no deploy recorded one (wrangler.toml has the placeholder)
    deployed_sha256: str  # the bundle the last deploy uploaded, "" when none is recorded
    deployed_kv_namespace_id: str  # the namespace the last deploy bound, "" when none
    # the options that made this differ from what deploy would do ("--public-url", …)
    overrides: tuple[str, ...] = ()

    @property
    def matches_deployed(self) -> bool | None:
        """Whether this is the bundle the last deploy uploaded (None: nothing recorded)."""
        return self.bundle.sha256 == self.deployed_sha256 if self.deployed_sha256 else None


def eject(
    config_path: Path, out: Path, *, public_url: str = "", kv_namespace_id: str = ""
) -> Ejected:
    config = with_account_from_env(load_config(config_path), os.environ)
    state = recorded_state(config, config_path)
    own_url = known_public_origin(config, state)
    url = (public_url or own_url).rstrip("/")
    kv_id = kv_namespace_id or state.kv_namespace_id
    overrides = tuple(
        option
        for option, given, own in (
            ("--public-url", url, own_url),
            ("--kv-namespace-id", kv_id, state.kv_namespace_id),
        )
        if given != own
    )
    bundle, files = write_eject_folder(
        config, out, public_url=url, kv_namespace_id=kv_id or KV_ID_PLACEHOLDER
    )
    return Ejected(bundle, files, url, kv_id, state.bundle_sha256, state.kv_namespace_id, overrides)
