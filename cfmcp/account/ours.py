"""Each ownership rule once: which objects on the account are cfmcp's for this project.

- A Worker is ours when it carries the bundle-hash variable every cfmcp upload sets.
- Our KV namespace is the one titled `<name>-oauth` (`ProjectConfig.kv_namespace_title`). The
  Worker's `OAUTH_KV` binding may stand in for listing namespaces only when
  .cfmcp/state.json recorded that same id under that same title; otherwise it is looked up by
  title. The state file only saves calls: a binding changed outside cfmcp, or a stale or lost
  state file, never makes another namespace ours.
- A custom domain or route is ours when it points at our Worker's name.
- A hostname is in a zone when it is the zone's name or ends with `.<zone>`; of several zones
  the longest (most specific) name wins.

deploy, destroy, doctor, clients and rotate-pin all ask these functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from cfmcp.errors import NotDeployed, NotOurs, ZoneNotInAccount
from cfmcp.project.config import ProjectConfig
from cfmcp.project.state import DeployState
from cfmcp.worker.contract import BUNDLE_HASH_VAR, EXACT_BINDING, EXACT_CLASS, KV_BINDING

if TYPE_CHECKING:
    from cfmcp.account.api import (
        CloudflareApi,
        DeployedScript,
        KvNamespace,
        WorkerDomain,
        WorkerRoute,
        Zone,
    )

# ------------------------------------------------------------------------------- the Worker


def is_our_worker(script: DeployedScript) -> bool:
    """Deploy marks every upload with the bundle hash variable; others lack it."""
    return script.var(BUNDLE_HASH_VAR) is not None


def not_our_worker(config: ProjectConfig, *, hint: str, note: str = "") -> NotOurs:
    """The error for a Worker with the configured name that cfmcp did not deploy."""
    return NotOurs(
        f"Worker {config.name!r} on account {config.account_id} was not deployed by cfmcp{note}",
        hint=hint,
    )


def our_worker(api: CloudflareApi, config: ProjectConfig) -> DeployedScript:
    """The deployed Worker, which must exist and have been deployed by cfmcp."""
    script = api.get_script(config.account_id, config.name)
    if script is None:
        raise NotDeployed(
            f"Worker {config.name!r} is not deployed on account {config.account_id}",
            hint="run `cfmcp deploy` first",
        )
    if not is_our_worker(script):
        raise not_our_worker(config, hint="check `name` in cfmcp.toml")
    return script


def has_exact_state(script: DeployedScript) -> bool:
    """Whether the Worker binds its exact-state Durable Object. The API refuses a binding to
    a class no migration created (10061), so this also says the class exists."""
    return script.durable_objects.get(EXACT_BINDING) == EXACT_CLASS


# ------------------------------------------------------------------------ the KV namespace


def bound_kv_id(script: DeployedScript | None) -> str:
    """The namespace id the Worker's OAUTH_KV binding names ("" for none)."""
    return script.kv_namespaces.get(KV_BINDING, "") if script is not None else ""


def confirmed_kv_id(
    config: ProjectConfig, state: DeployState, script: DeployedScript | None
) -> str | None:
    """Our namespace's id without listing namespaces, or None when it must be looked up.

    Only when our Worker's binding and the state file (for this account and Worker) agree on
    the id, recorded under the configured title."""
    if script is None or not is_our_worker(script):
        return None
    if not state.applies_to(config.account_id, config.name):
        return None
    bound = bound_kv_id(script)
    same_title = state.kv_namespace_title == config.kv_namespace_title
    return bound if bound and bound == state.kv_namespace_id and same_title else None


def our_kv_namespace(
    api: CloudflareApi, config: ProjectConfig, state: DeployState, script: DeployedScript | None
) -> KvNamespace | None:
    """Our KV namespace (titled `<name>-oauth`), or None when it does not exist."""
    from cfmcp.account.api import KvNamespace

    confirmed = confirmed_kv_id(config, state, script)
    if confirmed is not None:
        return KvNamespace(id=confirmed, title=config.kv_namespace_title)
    return api.find_kv_namespace(config.account_id, config.kv_namespace_title)


def our_bound_kv_namespace(
    api: CloudflareApi, config: ProjectConfig, state: DeployState, script: DeployedScript
) -> str:
    """The id of our namespace, which our Worker must be bound to (what it reads grants from).

    Refuses when the binding names another namespace: acting on ours would not reach the
    running Worker, acting on the bound one would touch a namespace that is not ours."""
    namespace = our_kv_namespace(api, config, state, script)
    if namespace is None:
        raise NotDeployed(
            f"KV namespace {config.kv_namespace_title!r} does not exist",
            hint="run `cfmcp deploy` to create it",
        )
    bound = bound_kv_id(script)
    if bound != namespace.id:
        what = f"namespace {bound}" if bound else "nothing"
        raise NotOurs(
            f"the Worker's {KV_BINDING} binding points to {what}, not "
            f"{config.kv_namespace_title!r} ({namespace.id})",
            hint="run `cfmcp deploy`: it binds the Worker to its namespace again",
        )
    return namespace.id


# --------------------------------------------------------------- custom domains and routes


def is_our_domain(domain: WorkerDomain, config: ProjectConfig) -> bool:
    return domain.service == config.name


def is_our_route(route: WorkerRoute, config: ProjectConfig) -> bool:
    return route.script == config.name


# ------------------------------------------------------------------------------- zones


def hostname_in_zone(hostname: str, zone_name: str) -> bool:
    hostname, zone_name = hostname.lower().rstrip("."), zone_name.lower().rstrip(".")
    return bool(zone_name) and (hostname == zone_name or hostname.endswith("." + zone_name))


def zone_of(hostname: str, zone_names: Iterable[str]) -> str:
    """The most specific of `zone_names` holding `hostname` ("" for none)."""
    matches = [z for z in zone_names if hostname_in_zone(hostname, z)]
    return max(matches, key=len) if matches else ""


def config_zone_is(config: ProjectConfig, zone_name: str) -> bool:
    """Whether `zone_name` (e.g. recorded in the state file) is the zone this config needs."""
    host = config.hostname
    if not zone_name:
        return False
    if host.zone:
        return host.zone.lower() == zone_name.lower()
    return hostname_in_zone(host.domain, zone_name)


def find_zone(api: CloudflareApi, config: ProjectConfig) -> Zone:
    """The zone of the custom domain or route, which must belong to the account."""
    host = config.hostname
    account = config.account_id
    if host.zone:
        zones = api.list_zones(account, name=host.zone)
        match = next((z for z in zones if z.name.lower() == host.zone.lower()), None)
        if match is None:
            raise ZoneNotInAccount(
                f"zone {host.zone!r} is not in account {account}",
                hint="add the domain to this Cloudflare account, or set [hostname].zone to one "
                "of its zones (`cfmcp init` lists them)",
            )
        return match
    zones = api.list_zones(account)
    name = zone_of(host.domain, [z.name for z in zones])
    if not name:
        raise ZoneNotInAccount(
            f"no zone of account {account} contains {host.domain.lower()!r}",
            hint="add the domain to this Cloudflare account first, or pick another hostname",
        )
    return next(z for z in zones if z.name == name)


def recorded_zone_id(api: CloudflareApi, config: ProjectConfig, state: DeployState) -> str:
    """The zone id of the configured zone: recorded by deploy when it is that zone, else
    looked up ("" when the account has no such zone)."""
    if state.zone_id and config_zone_is(config, state.zone_name):
        return state.zone_id
    try:
        return find_zone(api, config).id
    except ZoneNotInAccount:
        return ""
