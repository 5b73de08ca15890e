"""`cfmcp clients`: the Worker's grants (one per approved client connection) as stored in its
KV namespace, listing and revoking them.

The format is the Worker's own (`cfmcp_worker/tokens.py`): `grant:<id>` holds the Grant JSON,
and revoking writes `revoked:<id>` for at least the access token lifetime, then deletes the
grant — exactly `TokenService.revoke_grant`, so the running Worker honours it (every `/mcp`
request checks the marker; refresh checks it and needs the grant).
Only non-secret fields are read here; the refresh token hashes are never kept or shown.
Grants live in the deployed Worker's namespace (through the API), or with `--local` in
`cfmcp dev`'s SQLite file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rich.markup import escape

from cfmcp.errors import UnknownGrant, UsageError
from cfmcp.output import Output
from cfmcp.prompts import confirm
from cfmcp.worker.contract import (
    GRANT_PREFIX,
    NARROWED_PREFIX,
    POLICY_SCOPE_PREFIX,
    REVOKED_PREFIX,
)

if TYPE_CHECKING:
    from cfmcp.account.api import CloudflareApi
    from cfmcp.project.config import ProjectConfig

MIN_TTL_SECONDS = 60
PROPAGATION_NOTE = (
    "Revocation reaches every Cloudflare location within about 60 s (KV "
    "propagation), plus up to 10 s of caching inside a running Worker."
)
LOCAL_NOTE = "A running `cfmcp dev` honours it within 10 s (its in-process cache)."


class GrantKv(Protocol):
    """The four KV operations revocation needs (values are text)."""

    def list_keys(self, prefix: str) -> list[str]: ...
    def get(self, key: str) -> str | None: ...
    def put(self, key: str, value: str, ttl: int) -> None: ...
    def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class GrantInfo:
    """One connection: who was approved, for what, and when (no hashes)."""

    grant_id: str
    client_id: str
    client_name: str
    scope: str
    created_at: int

    @property
    def created(self) -> str:
        return datetime.fromtimestamp(self.created_at, UTC).strftime("%Y-%m-%d")

    @property
    def policy(self) -> str:
        """The policy the grant's scope names (`full` for grants from before policies)."""
        prefix = POLICY_SCOPE_PREFIX
        names = [s[len(prefix) :] for s in self.scope.split() if s.startswith(prefix)]
        return names[-1] if names else "full"

    @property
    def short_client_id(self) -> str:
        return self.client_id if len(self.client_id) <= 12 else self.client_id[:10] + "…"

    def to_json(self) -> dict[str, object]:
        return {
            "grant_id": self.grant_id,
            "client_id": self.client_id,
            "client_name": self.client_name,
            "scope": self.scope,
            "policy": self.policy,
            "created_at": self.created_at,
            "created": datetime.fromtimestamp(self.created_at, UTC).isoformat(),
        }


def parse_grant(grant_id: str, text: str) -> GrantInfo | None:
    """The listed fields of a stored Grant, or None when the value is not a grant."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    created = data.get("created_at")
    return GrantInfo(
        grant_id=str(data.get("grant_id") or grant_id),
        client_id=str(data.get("client_id", "")),
        client_name=str(data.get("client_name", "")),
        scope=str(data.get("scope", "")),
        created_at=created if isinstance(created, int) else 0,
    )


def list_grants(kv: GrantKv, *, parallel: int = 8) -> list[GrantInfo]:
    """Every live grant, oldest first (one list call plus one read per grant)."""
    ids = [key[len(GRANT_PREFIX) :] for key in kv.list_keys(GRANT_PREFIX)]
    values = _map(lambda grant_id: kv.get(GRANT_PREFIX + grant_id), ids, parallel)
    grants = [
        parse_grant(grant_id, value)
        for grant_id, value in zip(ids, values, strict=True)
        if value is not None
    ]
    return sorted((g for g in grants if g is not None), key=lambda g: (g.created_at, g.grant_id))


def marker_ttl(access_token_ttl: int, refresh_token_ttl: int) -> int:
    """How long a revocation marker lives: past every access and refresh token of the grant
    (the Worker's next refresh attempt also records the revocation in its exact state)."""
    return max(MIN_TTL_SECONDS, access_token_ttl, refresh_token_ttl) + 60


def revoke(kv: GrantKv, grant_id: str, ttl: int) -> None:
    """Mark the grant revoked for `ttl` seconds (see `marker_ttl`), then drop the grant."""
    kv.put(REVOKED_PREFIX + grant_id, "1", max(MIN_TTL_SECONDS, ttl))
    kv.delete(GRANT_PREFIX + grant_id)


def set_policy(kv: GrantKv, grant: GrantInfo, scope: str, policy: str, ttl: int) -> None:
    """Narrow a live grant to `policy` (whose scope is `scope`): the status marker every `/mcp`
    request and refresh reads (the Worker makes it the grant's scope at the next refresh), and
    the index entry `cfmcp clients list` shows. The caller has checked that it narrows."""
    kv.put(REVOKED_PREFIX + grant.grant_id, NARROWED_PREFIX + policy, max(MIN_TTL_SECONDS, ttl))
    stored = kv.get(GRANT_PREFIX + grant.grant_id)
    if stored is None:
        return
    data = json.loads(stored)
    data["scope"] = scope
    kv.put(GRANT_PREFIX + grant.grant_id, json.dumps(data, separators=(",", ":")), ttl)


def select(grants: list[GrantInfo], wanted: str) -> GrantInfo | None:
    """The grant with this id, or the only one whose id starts with it."""
    exact = [g for g in grants if g.grant_id == wanted]
    if exact:
        return exact[0]
    prefixed = [g for g in grants if wanted and g.grant_id.startswith(wanted)]
    return prefixed[0] if len(prefixed) == 1 else None


def _map(fn: Callable[[str], str | None], items: list[str], parallel: int) -> list[str | None]:
    if len(items) <= 1 or parallel <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(parallel, len(items))) as pool:
        return list(pool.map(fn, items))


class CloudflareKv:
    """The deployed Worker's namespace, through the API gateway."""

    def __init__(self, api: CloudflareApi, account_id: str, namespace_id: str) -> None:
        self._api, self._account, self._ns = api, account_id, namespace_id

    def list_keys(self, prefix: str) -> list[str]:
        return self._api.list_kv_keys(self._account, self._ns, prefix)

    def get(self, key: str) -> str | None:
        value = self._api.get_kv_value(self._account, self._ns, key)
        return None if value is None else value.decode("utf-8", "replace")

    def put(self, key: str, value: str, ttl: int) -> None:
        self._api.put_kv_value(self._account, self._ns, key, value, expiration_ttl=ttl)

    def delete(self, key: str) -> None:
        self._api.delete_kv_value(self._account, self._ns, key)


class LocalKv:
    """`cfmcp dev`'s SQLite KV file (the same store its Worker reads)."""

    def __init__(self, path: Path) -> None:
        from cfmcp.local.kv import SqliteKvStore

        self._store = SqliteKvStore(path)

    def close(self) -> None:
        self._store.close()

    def list_keys(self, prefix: str) -> list[str]:
        return asyncio.run(self._store.list_keys(prefix))

    def get(self, key: str) -> str | None:
        return asyncio.run(self._store.get(key))

    def put(self, key: str, value: str, ttl: int) -> None:
        asyncio.run(self._store.put(key, value, ttl))

    def delete(self, key: str) -> None:
        asyncio.run(self._store.delete(key))


# ----------------------------------------------------------------------------- the commands


@dataclass(frozen=True)
class GrantStore:
    """Where the grants are: the KV to read and write, the revocation marker's TTL, a label."""

    kv: GrantKv
    marker_ttl: int
    where: str
    local: bool


@contextmanager
def open_grant_store(
    config_path: Path,
    env: Mapping[str, str],
    *,
    local: bool,
    dev_state: Path,
    prompt_allowed: bool,
) -> Iterator[GrantStore]:
    """The deployed Worker's grants (its KV namespace must be ours and bound: see
    `cfmcp.account.ours.our_bound_kv_namespace`), or `cfmcp dev`'s."""
    from cfmcp.project.config import load_config

    if local:
        if not dev_state.exists():
            raise UsageError(
                f"no dev KV file at {dev_state}",
                hint="run `cfmcp dev` first, or pass --state PATH",
            )
        oauth = load_config(config_path).oauth if config_path.exists() else None
        ttl = marker_ttl(oauth.access_token_ttl, oauth.refresh_token_ttl) if oauth else 0
        store = LocalKv(dev_state)
        try:
            yield GrantStore(
                store,
                ttl or marker_ttl(30 * 24 * 3600, 90 * 24 * 3600),
                f"local KV {dev_state}",
                local=True,
            )
        finally:
            store.close()
        return
    from cfmcp.account.ours import our_bound_kv_namespace, our_worker
    from cfmcp.account.session import open_session

    session = open_session(config_path, env, prompt_allowed=prompt_allowed)
    config = session.config
    with session.connect() as api:
        script = our_worker(api, config)
        namespace = our_bound_kv_namespace(api, config, session.state, script)
        yield GrantStore(
            CloudflareKv(api, config.account_id, namespace),
            marker_ttl(config.oauth.access_token_ttl, config.oauth.refresh_token_ttl),
            f"Worker {config.name}",
            local=False,
        )


def show_grants(store: GrantStore, out: Output) -> None:
    """`cfmcp clients list`: a table for people, `{"grants": [...]}` for scripts."""
    grants = list_grants(store.kv, parallel=1 if store.local else 8)
    out.result({"grants": [g.to_json() for g in grants]})
    if out.json:
        return
    if not grants:
        out.say(f"No connected clients on {escape(store.where)}.")
        return
    out.console.print(_table(grants, store.where))
    out.say("[dim]Revoke one with `cfmcp clients revoke GRANT_ID`.[/]")


def revoke_grants(
    store: GrantStore, grant_id: str | None, *, revoke_all: bool, yes: bool, out: Output
) -> None:
    """`cfmcp clients revoke`: one grant (id or unique prefix), or all of them."""
    grants = list_grants(store.kv, parallel=1 if store.local else 8)
    if revoke_all:
        chosen = grants
    else:
        match = select(grants, grant_id or "")
        if match is None:
            raise UnknownGrant(
                f"no grant {grant_id!r} on {store.where}",
                hint="`cfmcp clients list` shows the grant ids",
            )
        chosen = [match]
    if not chosen:
        out.say(f"No connected clients on {escape(store.where)}: nothing to revoke.")
    elif not yes:
        for g in chosen:
            out.say(escape(f"  {g.grant_id}  {g.client_name or '-'}  ({g.short_client_id})"))
        confirm(f"Revoke {len(chosen)} connection(s) on {store.where}?", default=False)
    for g in chosen:
        revoke(store.kv, g.grant_id, store.marker_ttl)
        who = g.client_name or g.short_client_id
        out.say(f"[green]✓[/] revoked {escape(g.grant_id)} ({escape(who)})")
    note = (LOCAL_NOTE if store.local else PROPAGATION_NOTE) if chosen else ""
    if note:
        out.say(f"[dim]{note}[/]")
    out.result({"revoked": [g.grant_id for g in chosen], "note": note})


def narrow_grant(
    store: GrantStore, grant_id: str, policy: str, config: ProjectConfig, out: Output
) -> None:
    """`cfmcp clients set-policy`: narrow one grant (id or unique prefix) to `policy`."""
    from cfmcp.project.policies import narrowed_scope

    grant = select(list_grants(store.kv, parallel=1 if store.local else 8), grant_id)
    if grant is None:
        raise UnknownGrant(
            f"no grant {grant_id!r} on {store.where}",
            hint="`cfmcp clients list` shows the grant ids",
        )
    scope = narrowed_scope(config, grant.scope, policy)
    set_policy(store.kv, grant, scope, policy, store.marker_ttl)
    note = LOCAL_NOTE if store.local else PROPAGATION_NOTE
    who = grant.client_name or grant.short_client_id
    out.say(f"[green]✓[/] {escape(grant.grant_id)} ({escape(who)}): {grant.policy} → {policy}")
    out.say(f"[dim]{note}[/]")
    out.result({"grant_id": grant.grant_id, "policy": policy, "note": note})


def _table(grants: list[GrantInfo], where: str) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(
        title=f"{len(grants)} connected client(s) on {escape(where)}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("grant", no_wrap=True)
    table.add_column("client", min_width=12)
    table.add_column("client id", no_wrap=True)
    table.add_column("policy", no_wrap=True)
    table.add_column("created", no_wrap=True)
    for g in grants:
        table.add_row(g.grant_id, g.client_name or "-", g.short_client_id, g.policy, g.created)
    return table
