"""`cfmcp destroy`: find and delete what `cfmcp deploy` created, then clear .cfmcp/state.json.

What goes: custom domains and routes pointing at the Worker, the Worker itself (its secrets,
versions and workers.dev route go with it, and so does the Durable Object namespace it
implements, with its storage: the API deletes a script's namespaces with it, and has no call of
its own to delete one) and its KV namespace.

Everything is found by the deterministic names deploy uses (Worker name, `<name>-oauth`, the
configured hostname or route pattern, plus those recorded in the state file); the state file
only saves calls. The ownership rules are `cfmcp.account.ours`: a Worker cfmcp did not deploy
stops everything (nothing is deleted at all), a domain or route attached to another Worker is
left alone. Re-running after a failure continues with what is left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from cfmcp.account.ours import (
    is_our_domain,
    is_our_route,
    is_our_worker,
    not_our_worker,
    our_kv_namespace,
    recorded_zone_id,
)
from cfmcp.account.session import open_session
from cfmcp.errors import CfmcpError, StepFailed
from cfmcp.output import Output
from cfmcp.project.config import ProjectConfig
from cfmcp.project.state import DeployState
from cfmcp.prompts import confirm

if TYPE_CHECKING:
    from cfmcp.account.api import CloudflareApi

RERUN = "`cfmcp destroy`: it continues with what is left"


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


def find_targets(
    api: CloudflareApi, config: ProjectConfig, state: DeployState, *, keep_kv: bool
) -> Teardown:
    """What to delete, in deletion order (triggers first, the KV namespace last)."""
    script = api.get_script(config.account_id, config.name)
    if script is not None and not is_our_worker(script):
        raise not_our_worker(
            config,
            note=": nothing deleted",
            hint="check `name` in cfmcp.toml; delete that Worker in the dashboard if you mean to",
        )
    teardown = Teardown()
    _find_domains(api, config, state, teardown)
    _find_routes(api, config, state, teardown)
    if script is not None:
        teardown.targets.append(Target("Worker", config.name, config.name))
    if keep_kv:
        teardown.kept.append(f"KV namespace {config.kv_namespace_title} (--keep-kv)")
    else:
        namespace = our_kv_namespace(api, config, state, script)
        if namespace is not None:
            teardown.targets.append(Target("KV namespace", namespace.title, namespace.id))
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


def run_destroy(
    config_path: Path, env: Mapping[str, str], *, yes: bool, keep_kv: bool, out: Output
) -> None:
    """Find, confirm (unless `yes`), delete in order, clear the state file, report."""
    session = open_session(config_path, env, prompt_allowed=not yes)
    config = session.config
    where = f"Worker {config.name} on account {config.account_id}"
    with session.connect() as api:
        found = find_targets(api, config, session.state, keep_kv=keep_kv)
        for line in found.kept:
            out.say(f"[dim]kept:[/] {escape(line)}")
        if found.targets and not yes:
            out.say(f"[bold]This deletes, for {escape(where)}:[/]")
            for target in found.targets:
                out.say(f"  [red]-[/] {escape(_describe(target))}")
            confirm("Delete these?", default=False)
        deleted = []
        for number, target in enumerate(found.targets):
            try:
                delete(api, config.account_id, target)
            except CfmcpError as exc:
                raise StepFailed(
                    f"deleting {target.label} failed ({number} of {len(found.targets)} deleted)",
                    cause=exc,
                    rerun=RERUN,
                ) from None
            deleted.append(target)
            out.say(f"[green]✓[/] deleted {escape(target.label)}")
        calls = len(api.calls)
    session.state_file.unlink(missing_ok=True)
    if not deleted:
        out.say(f"Nothing to delete for {escape(where)}.")
    out.result(
        {
            "worker": config.name,
            "deleted": [t.to_json() for t in deleted],
            "kept": found.kept,
            "api_calls": calls,
        }
    )


def _describe(target: Target) -> str:
    extra = {
        "Worker": " (its secrets, versions, workers.dev route and Durable Object storage)",
        "KV namespace": " (every grant: all clients are disconnected)",
    }.get(target.kind, "")
    return f"{target.label}{extra}"


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
        if is_our_domain(domain, config):
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
        zone_id = recorded_zone_id(api, config, state)
        if zone_id:
            wanted.setdefault(zone_id, set()).add(host.route)
    if state.route_pattern and state.zone_id:
        wanted.setdefault(state.zone_id, set()).add(state.route_pattern)
    for zone_id, patterns in sorted(wanted.items()):
        for route in api.list_routes(zone_id):
            if route.pattern not in patterns:
                continue
            if is_our_route(route, config):
                teardown.targets.append(Target("route", route.pattern, route.id, zone_id))
            else:
                owner = route.script or "no Worker"
                teardown.kept.append(
                    f"route {route.pattern} (points to {owner!r}, not {config.name!r})"
                )
