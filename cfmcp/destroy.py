"""Find and delete what `cfmcp deploy` created: custom domains and routes pointing at the
Worker, the Worker itself (its secrets, versions and workers.dev route go with it, and so does
the Durable Object namespace it implements, with its storage: the API deletes a script's
namespaces with it, and has no call of its own to delete one) and its KV namespace.

Everything is found by the deterministic names deploy uses (Worker name, `<name>-oauth`, the
configured hostname or route pattern, plus those recorded in the state file); the state file
only saves calls. The ownership rules are deploy's: a Worker without cfmcp's bundle-hash
variable is not ours (then nothing is deleted at all), and a domain or route attached to
another Worker is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cfmcp.config import ProjectConfig
from cfmcp.deploy.state import DeployState
from cfmcp.errors import CfmcpError
from cfmcp.project import is_ours

if TYPE_CHECKING:
    from cfmcp.cloudflare_api import CloudflareApi, DeployedScript


@dataclass(frozen=True)
class Target:
    """One object to delete. `ident` addresses it in the API (with `zone_id` for routes)."""

    kind: str  # "custom domain" | "route" | "Worker" | "KV namespace"
    name: str
    ident: str
    zone_id: str = ""

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "id": self.ident}


@dataclass
class Teardown:
    targets: list[Target] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # found but not ours: left alone


class NotOurWorker(CfmcpError):
    """A Worker with the configured name exists and cfmcp did not deploy it."""


def find_targets(
    api: CloudflareApi, config: ProjectConfig, state: DeployState, *, keep_kv: bool
) -> Teardown:
    """What to delete, in deletion order (triggers first, the KV namespace last)."""
    account, name = config.account_id, config.name
    script = api.get_script(account, name)
    if script is not None and not is_ours(script):
        raise NotOurWorker(
            f"Worker {name!r} on account {account} was not deployed by cfmcp: nothing deleted",
            hint="check `name` in cfmcp.toml; delete that Worker in the dashboard if you mean to",
        )
    teardown = Teardown()
    _find_domains(api, config, state, teardown)
    _find_routes(api, config, state, teardown)
    if script is not None:
        teardown.targets.append(Target("Worker", name, name))
    if keep_kv:
        teardown.kept.append(f"KV namespace {config.kv_namespace_title} (--keep-kv)")
    else:
        kv_id = _kv_namespace_id(api, config, state, script)
        if kv_id:
            teardown.targets.append(Target("KV namespace", config.kv_namespace_title, kv_id))
    return teardown


def delete(api: CloudflareApi, account_id: str, target: Target) -> bool:
    """Delete one target; False when it was already gone."""
    if target.kind == "custom domain":
        return api.delete_worker_domain(account_id, target.ident)
    if target.kind == "route":
        return api.delete_route(target.zone_id, target.ident)
    if target.kind == "Worker":
        return api.delete_script(account_id, target.ident)
    if target.kind == "KV namespace":
        return api.delete_kv_namespace(account_id, target.ident)
    raise ValueError(f"unknown target kind {target.kind!r}")  # pragma: no cover


def _find_domains(
    api: CloudflareApi, config: ProjectConfig, state: DeployState, teardown: Teardown
) -> None:
    hostnames = {state.custom_domain.lower()} if state.custom_domain else set()
    if config.hostname.mode == "custom_domain":
        hostnames.add(config.hostname.domain.lower())
    for hostname in sorted(hostnames):
        domain = api.find_worker_domain(config.account_id, hostname)
        if domain is None:
            continue
        if domain.service == config.name:
            teardown.targets.append(Target("custom domain", hostname, domain.id))
        else:
            teardown.kept.append(
                f"custom domain {hostname} (attached to Worker "
                f"{domain.service!r}, not {config.name!r})"
            )


def _find_routes(
    api: CloudflareApi, config: ProjectConfig, state: DeployState, teardown: Teardown
) -> None:
    wanted: dict[str, set[str]] = {}  # zone id -> patterns
    host = config.hostname
    if host.mode == "route":
        zone_id = _zone_id(api, config, state)
        if zone_id:
            wanted.setdefault(zone_id, set()).add(host.route)
    if state.route_pattern and state.zone_id:
        wanted.setdefault(state.zone_id, set()).add(state.route_pattern)
    for zone_id, patterns in sorted(wanted.items()):
        for route in api.list_routes(zone_id):
            if route.pattern not in patterns:
                continue
            if route.script == config.name:
                teardown.targets.append(Target("route", route.pattern, route.id, zone_id))
            else:
                owner = route.script or "no Worker"
                teardown.kept.append(
                    f"route {route.pattern} (points to {owner!r}, not {config.name!r})"
                )


def _zone_id(api: CloudflareApi, config: ProjectConfig, state: DeployState) -> str:
    """The route's zone id: recorded by deploy when it is the same zone, else looked up."""
    zone_name = config.hostname.zone.lower()
    if state.zone_id and state.zone_name.lower() == zone_name:
        return state.zone_id
    zones = api.list_zones(config.account_id, name=zone_name)
    return next((z.id for z in zones if z.name.lower() == zone_name), "")


def _kv_namespace_id(
    api: CloudflareApi, config: ProjectConfig, state: DeployState, script: DeployedScript | None
) -> str:
    """The id of `<name>-oauth`: trusted without listing only when the Worker's binding and
    the state file agree on it (as deploy does); otherwise found by title."""
    from cfmcp.render import KV_BINDING

    bound = script.kv_namespaces.get(KV_BINDING) if script is not None else None
    if (
        bound
        and bound == state.kv_namespace_id
        and state.kv_namespace_title == config.kv_namespace_title
    ):
        return bound
    found = api.find_kv_namespace(config.account_id, config.kv_namespace_title)
    return found.id if found is not None else ""
