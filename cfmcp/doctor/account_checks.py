"""Checks of the Cloudflare account: token, account, Worker, bundle, secrets, KV, hostname.

Read-only: every call goes through the gateway (`cfmcp.account.api`) and nothing is written.
Whether the Worker and its KV namespace are cfmcp's is `cfmcp.account.ours`'s rule.
Secrets are checked by name only; their values cannot be read back and never are.
"""

from __future__ import annotations

from cfmcp.account.ours import bound_kv_id, is_our_domain, is_our_route, is_our_worker
from cfmcp.doctor.context import DoctorContext
from cfmcp.doctor.model import DEPLOY, CheckResult, Skip, fail, ok, skip
from cfmcp.errors import CfmcpError
from cfmcp.worker.contract import (
    BUNDLE_HASH_VAR,
    EXACT_BINDING,
    EXACT_CLASS,
    KV_BINDING,
    SECRET_NAMES,
)
from cfmcp.worker.render import render_bundle


def check_token(ctx: DoctorContext) -> CheckResult:
    try:
        info = ctx.token()
    except Skip as exc:
        return skip(exc.reason + ": account checks skipped", exc.hint, exc.next_command)
    except CfmcpError as exc:
        return fail(exc.message, exc.hint or "")
    kind = "account-owned" if info.account_owned else "user"
    return ok(f"{kind} API token is {info.status or 'active'}")


def check_account(ctx: DoctorContext) -> CheckResult:
    ctx.config()  # Skip: invalid project file
    ctx.api()  # Skip: no token, or --local
    try:
        account = ctx.account_id()
    except Skip as missing:
        return fail(missing.reason, missing.hint, missing.next_command)
    try:
        namespaces = ctx.kv_namespaces()
    except CfmcpError as exc:
        return fail(
            f"account {account} is not reachable with this token: {exc.message}", exc.hint or ""
        )
    count = len(namespaces)
    return ok(f"account {account} reachable ({count} KV namespace{'s' * (count != 1)})")


def check_worker(ctx: DoctorContext) -> CheckResult:
    name = ctx.config().name
    script = ctx.script()
    if script is None:
        return fail(f"Worker {name!r} does not exist on the account", "deploy it", DEPLOY)
    if not is_our_worker(script):
        return fail(
            f"Worker {name!r} exists but was not deployed by cfmcp",
            "choose another name (`cfmcp init --name NEW`) or delete that Worker",
            "cfmcp init --name NEW",
        )
    return ok(f"Worker {name!r} was deployed by cfmcp")


def check_bundle(ctx: DoctorContext) -> CheckResult:
    config = ctx.config()
    script = ctx.deployed_script()
    deployed = script.var(BUNDLE_HASH_VAR)
    if deployed is None:  # not is_our_worker(script)
        raise Skip("not a cfmcp Worker (see the Worker check)")
    expected = render_bundle(config, public_url=ctx.public_url()).sha256
    if deployed != expected:
        return fail(
            "config changed since the last deploy (deployed bundle "
            f"{deployed[:12]}…, cfmcp.toml renders {expected[:12]}…)",
            "deploy the current config",
            DEPLOY,
        )
    if script.compatibility_date and script.compatibility_date != config.compatibility_date:
        return fail(
            f"deployed with compatibility_date {script.compatibility_date}, "
            f"cfmcp.toml says {config.compatibility_date}",
            "deploy the current config",
            DEPLOY,
        )
    return ok(f"deployed bundle matches cfmcp.toml (sha256 {expected[:12]}…)")


def check_secrets(ctx: DoctorContext) -> CheckResult:
    present = ctx.deployed_script().secret_names
    missing = [name for name in SECRET_NAMES if name not in present]
    if missing:
        needs_pat = "UPSTREAM_TOKEN" in missing
        return fail(
            f"missing secret{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
            "`cfmcp deploy` sets missing secrets"
            + (" (the PAT from CFMCP_UPSTREAM_TOKEN or a prompt)" if needs_pat else ""),
            DEPLOY,
        )
    return ok("secrets " + ", ".join(SECRET_NAMES) + " are set")


def check_kv(ctx: DoctorContext) -> CheckResult:
    config = ctx.config()
    title = config.kv_namespace_title
    namespace = next((n for n in ctx.kv_namespaces() if n.title == title), None)
    if namespace is None:
        return fail(f"KV namespace {title!r} does not exist", "deploy creates it", DEPLOY)
    bound = bound_kv_id(ctx.deployed_script())
    if bound != namespace.id:
        what = f"namespace {bound}" if bound else "nothing"
        return fail(
            f"the Worker's {KV_BINDING} binding points to {what}, not {title!r} ({namespace.id})",
            "deploy binds it",
            DEPLOY,
        )
    return ok(f"KV namespace {title!r} exists and is bound as {KV_BINDING}")


def check_exact_state(ctx: DoctorContext) -> CheckResult:
    """The Worker binds its SQLite-backed Durable Object (the exact state): without it the
    consent page, code and refresh-token checks cannot run."""
    script = ctx.deployed_script()
    if not is_our_worker(script):
        raise Skip("not a cfmcp Worker (see the Worker check)")
    bound = script.durable_objects.get(EXACT_BINDING)
    if bound == EXACT_CLASS:
        return ok(f"Durable Object {EXACT_CLASS} (SQLite) is bound as {EXACT_BINDING}")
    if bound:
        return fail(
            f"the Worker's {EXACT_BINDING} binding names class {bound!r}, not {EXACT_CLASS!r}",
            "`cfmcp deploy` binds it",
            DEPLOY,
        )
    return fail(
        f"the Worker has no {EXACT_BINDING} Durable Object binding (deployed by an "
        "earlier cfmcp, or the binding was removed)",
        f"`cfmcp deploy` adds the binding and creates the {EXACT_CLASS} class "
        "(one migration, applied once)",
        DEPLOY,
    )


def check_hostname(ctx: DoctorContext) -> CheckResult:
    config = ctx.config()
    host = config.hostname
    api = ctx.verified_api()
    account = ctx.account_id()
    if host.mode == "workers_dev":
        if not ctx.workers_subdomain():
            return fail(
                f"account {account} has no workers.dev subdomain yet",
                "open dash.cloudflare.com → Workers & Pages once to choose it, or use "
                "a custom domain (`cfmcp init --domain HOST`)",
            )
        url = ctx.public_url()
        if not api.script_subdomain_enabled(account, config.name):
            return fail(
                f"workers.dev is not enabled for {config.name!r} ({url})",
                "deploy enables it",
                DEPLOY,
            )
        return ok(f"workers.dev enabled: {url}")
    if host.mode == "custom_domain":
        domain = api.find_worker_domain(account, host.domain)
        if domain is None:
            return fail(
                f"custom domain {host.domain} is not attached", "deploy attaches it", DEPLOY
            )
        if not is_our_domain(domain, config):
            return fail(
                f"custom domain {host.domain} is attached to Worker "
                f"{domain.service!r}, not {config.name!r}",
                "detach it in the dashboard (Workers → Settings → Domains)",
            )
        return ok(f"custom domain {host.domain} is attached to this Worker")
    zone = ctx.zone()
    route = next((r for r in api.list_routes(zone.id) if r.pattern == host.route), None)
    if route is None:
        return fail(f"route {host.route} does not exist", "deploy creates it", DEPLOY)
    if not is_our_route(route, config):
        return fail(
            f"route {host.route} points to {route.script or 'no Worker'!r}",
            "delete that route in the dashboard or use another pattern",
        )
    return ok(f"route {host.route} points to this Worker")
