"""Observe the account: the read-only calls that tell the planner what already exists.

Reads run concurrently in at most two rounds, so observing costs about two round trips however
many calls it needs. The local state only decides which reads can be skipped (a zone id, the
token kind, the KV namespace listing when the deployed Worker's binding confirms the recorded
id); existence is always read from the API, so a lost or stale state file never duplicates
anything. Nothing here writes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cfmcp.account.api import CloudflareApi, DeployedScript, KvNamespace, TokenInfo, Zone
from cfmcp.account.ours import (
    config_zone_is,
    confirmed_kv_id,
    find_zone,
    has_exact_state,
    is_our_worker,
)
from cfmcp.deploy.models import RemoteState
from cfmcp.errors import NoWorkersSubdomain
from cfmcp.project.config import ProjectConfig
from cfmcp.project.state import DeployState


@dataclass(frozen=True)
class Observation:
    remote: RemoteState
    token: TokenInfo


def _run(tasks: dict[str, Callable[[], Any]], parallel: bool) -> dict[str, Any]:
    """Run the reads (concurrently); re-raise the first failure in task order.

    Daemon threads, not a thread pool: Ctrl-C interrupts the wait at once, and a read still
    waiting on the network does not hold the process (a pool joins its workers at exit).
    """
    if not tasks:
        return {}
    if not parallel or len(tasks) == 1:
        return {name: fn() for name, fn in tasks.items()}
    outcomes: dict[str, tuple[bool, Any]] = {}

    def work(name: str, fn: Callable[[], Any]) -> None:
        try:
            outcomes[name] = (True, fn())
        except BaseException as exc:  # handed to the caller below
            outcomes[name] = (False, exc)

    threads = [
        threading.Thread(target=work, args=(name, fn), name=f"cfmcp-read-{name}", daemon=True)
        for name, fn in tasks.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in tasks:
        ok, value = outcomes[name]
        if not ok:
            raise value
    return {name: outcomes[name][1] for name in tasks}


def observe(
    api: CloudflareApi, config: ProjectConfig, state: DeployState, *, parallel: bool = True
) -> Observation:
    """Everything the planner needs, with as few calls (and round trips) as possible."""
    account = config.account_id
    name = config.name
    host = config.hostname
    known = state if state.applies_to(account, name) else DeployState()

    first: dict[str, Callable[[], Any]] = {}
    first["token"] = lambda: api.verify_token(
        account, account_owned_first=known.token_account_owned
    )
    first["script"] = lambda: api.get_script(account, name)
    if host.mode == "workers_dev":
        # Always read: a stale subdomain from the state file would render a wrong issuer URL.
        first["subdomain"] = lambda: api.get_workers_subdomain(account)
        if known.script_uploaded:
            first["on_workers_dev"] = lambda: api.script_subdomain_enabled(account, name)
    zone_known = bool(known.zone_id) and config_zone_is(config, known.zone_name)
    if host.mode in ("custom_domain", "route") and not zone_known:
        first["zone"] = lambda: find_zone(api, config)
    if host.mode == "custom_domain":
        first["domain"] = lambda: api.find_worker_domain(account, host.domain)
    if host.mode == "route" and zone_known:
        first["routes"] = lambda: api.list_routes(known.zone_id)
    got = _run(first, parallel)

    script: DeployedScript | None = got["script"]
    ours = script is not None and is_our_worker(script)
    second: dict[str, Callable[[], Any]] = {}
    kv_id = confirmed_kv_id(config, known, script)
    if kv_id is None:
        second["kv"] = lambda: api.find_kv_namespace(account, config.kv_namespace_title)
    needs_tag = ours and script is not None and not has_exact_state(script)
    if needs_tag:
        # Deployed before the Durable Object (or its binding was removed): whether the
        # migration was applied is read from the account, never from the state file.
        second["migration_tag"] = lambda: api.get_migration_tag(account, name)
    if host.mode == "workers_dev" and script is not None and "on_workers_dev" not in got:
        second["on_workers_dev"] = lambda: api.script_subdomain_enabled(account, name)
    zone: Zone | None = got.get("zone")
    if zone is None and zone_known:
        zone = Zone(id=known.zone_id, name=known.zone_name)
    if host.mode == "route" and "routes" not in got and zone is not None:
        zone_id = zone.id
        second["routes"] = lambda: api.list_routes(zone_id)
    got.update(_run(second, parallel))

    kv = got.get("kv") if kv_id is None else KvNamespace(id=kv_id, title=config.kv_namespace_title)
    subdomain = got.get("subdomain")
    if host.mode == "workers_dev" and not subdomain:
        raise NoWorkersSubdomain(
            f"account {account} has no workers.dev subdomain yet",
            hint="open dash.cloudflare.com → Workers & Pages once to choose it, or use "
            "`cfmcp init --domain HOST`",
        )
    route = None
    if host.mode == "route":
        route = next((r for r in got.get("routes", []) if r.pattern == host.route), None)
    on_workers_dev = got.get("on_workers_dev") if script is not None else None
    return Observation(
        remote=RemoteState(
            account_id=account,
            kv_namespace=kv,
            script=script,
            workers_subdomain=subdomain,
            script_on_workers_dev=on_workers_dev,
            zone=zone,
            domain=got.get("domain"),
            route=route,
            migration_tag=got.get("migration_tag"),
            migration_tag_read=needs_tag,
        ),
        token=got["token"],
    )
