"""Compute a deploy plan from the config, the rendered bundle and what exists (no I/O).

One `_plan_<resource>` function per resource, each returning the steps it needs and a line for
the summary when the resource is already right. Ownership conflicts (a Worker, custom domain or
route that belongs to something else) are raised here, before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cfmcp.account.ours import (
    has_exact_state,
    is_our_domain,
    is_our_route,
    is_our_worker,
)
from cfmcp.deploy.models import (
    AttachDomain,
    BindingSpec,
    ClearPatRecord,
    CreateKvNamespace,
    CreateRoute,
    EnableWorkersDev,
    Migration,
    Plan,
    PutSecret,
    RemoteState,
    Step,
    UploadScript,
    Value,
)
from cfmcp.errors import NotOurs
from cfmcp.project.config import ProjectConfig
from cfmcp.worker.contract import (
    BUNDLE_HASH_VAR,
    EXACT_BINDING,
    EXACT_CLASS,
    EXACT_MIGRATION_TAG,
    KV_BINDING,
    PAT_STATUS_KEY,
    PYTHON_WORKERS_FLAG,
    SECRET_NAMES,
)
from cfmcp.worker.render import Bundle


@dataclass
class _Draft:
    steps: list[Step] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def public_url_for(config: ProjectConfig, remote: RemoteState) -> str:
    """The issuer URL rendered into the bundle: known before the upload."""
    return config.public_origin(remote.workers_subdomain)


def plan_deploy(
    config: ProjectConfig,
    remote: RemoteState,
    bundle: Bundle,
    *,
    replace_secrets: tuple[str, ...] = (),
) -> Plan:
    """The steps that make the account match the config and bundle, in execution order.

    Secrets are sent only when missing, plus those named in `replace_secrets` (e.g. a new
    upstream PAT).
    """
    _check_ownership(config, remote)
    draft = _Draft()
    kv_id = _plan_kv_namespace(config, remote, draft)
    _plan_script(config, remote, bundle, kv_id, draft, replace_secrets)
    _plan_pat_record(remote, draft)
    _plan_hostname(config, remote, draft)
    return Plan(
        steps=tuple(draft.steps),
        unchanged=tuple(draft.unchanged),
        public_url=public_url_for(config, remote),
        bundle_sha256=bundle.sha256,
    )


def _check_ownership(config: ProjectConfig, remote: RemoteState) -> None:
    script = remote.script
    if script is not None and not is_our_worker(script):
        raise NotOurs(
            f"a Worker named {config.name!r} already exists on account {remote.account_id} "
            "and was not deployed by cfmcp",
            hint="choose another name (`cfmcp init --name NEW`) or delete that Worker first",
        )
    host = config.hostname
    if remote.domain is not None and not is_our_domain(remote.domain, config):
        raise NotOurs(
            f"custom domain {host.domain} is attached to Worker {remote.domain.service!r}",
            hint="detach it in the dashboard (Workers → Settings → Domains) or pick another "
            "hostname",
        )
    if remote.route is not None and not is_our_route(remote.route, config):
        owner = remote.route.script or "no Worker"
        raise NotOurs(
            f"route {host.route} already exists and points to {owner!r}",
            hint="delete that route in the dashboard or use another pattern",
        )


def _plan_kv_namespace(config: ProjectConfig, remote: RemoteState, draft: _Draft) -> Value:
    if remote.kv_namespace is not None:
        draft.unchanged.append(
            f"KV namespace {remote.kv_namespace.title} exists ({remote.kv_namespace.id})"
        )
        return remote.kv_namespace.id
    step = CreateKvNamespace(title=config.kv_namespace_title)
    draft.steps.append(step)
    return step.output


def _plan_script(
    config: ProjectConfig,
    remote: RemoteState,
    bundle: Bundle,
    kv_id: Value,
    draft: _Draft,
    replace_secrets: tuple[str, ...],
) -> None:
    script = remote.script
    present = script.secret_names if script is not None else frozenset()
    missing = [name for name in SECRET_NAMES if name not in present or name in replace_secrets]
    reason = _upload_reason(config, remote, bundle, kv_id)
    if reason is None:
        draft.unchanged.append(f"Worker {config.name} is up to date (sha256 {bundle.sha256[:12]}…)")
        draft.steps.extend(PutSecret(script=config.name, secret_name=n) for n in missing)
        if not missing:
            draft.unchanged.append("secrets " + ", ".join(SECRET_NAMES) + " are set")
        return
    bindings = [
        BindingSpec("kv_namespace", KV_BINDING, kv_id),
        BindingSpec("durable_object_namespace", EXACT_BINDING, EXACT_CLASS),
        BindingSpec("plain_text", BUNDLE_HASH_VAR, bundle.sha256),
        # Missing secrets travel with the upload: the new version never runs without them.
        *(BindingSpec("secret_text", name) for name in missing),
    ]
    draft.steps.append(
        UploadScript(
            script=config.name,
            main_module=bundle.main_module,
            modules=tuple(sorted(bundle.modules)),
            compatibility_date=config.compatibility_date,
            compatibility_flags=(PYTHON_WORKERS_FLAG,),
            bindings=tuple(bindings),
            bundle_sha256=bundle.sha256,
            keep_secrets=script is not None,
            reason=reason,
            migration=_migration(remote),
        )
    )
    if not missing:
        draft.unchanged.append("secrets " + ", ".join(SECRET_NAMES) + " are set (kept)")


def _plan_pat_record(remote: RemoteState, draft: _Draft) -> None:
    """A new PAT clears the record of the old one (a namespace made by this plan has none)."""
    sent = Plan(tuple(draft.steps), (), "", "").secret_names
    if "UPSTREAM_TOKEN" in sent and remote.kv_namespace is not None:
        draft.steps.append(ClearPatRecord(remote.kv_namespace.id, PAT_STATUS_KEY))


def _migration(remote: RemoteState) -> Migration | None:
    """The Durable Object migration the upload must carry, decided from the account alone.

    None when the class exists already (the Worker binds it), or when the script's migration
    tag, read from the account, is ours (applied; only the binding went missing). Otherwise
    the migration, chained to the script's current tag: a new Worker and a Worker deployed
    before the Durable Object have none; a foreign tag is kept as `old_tag`, as wrangler does.
    """
    script = remote.script
    if script is not None and has_exact_state(script):
        return None
    if script is not None and not remote.migration_tag_read:
        raise RuntimeError("the script's migration tag must be observed before planning")
    tag = remote.migration_tag if script is not None else None
    if tag == EXACT_MIGRATION_TAG:
        return None
    return Migration(new_tag=EXACT_MIGRATION_TAG, new_sqlite_classes=(EXACT_CLASS,), old_tag=tag)


def _upload_reason(
    config: ProjectConfig, remote: RemoteState, bundle: Bundle, kv_id: Value
) -> str | None:
    """Why the script must be uploaded, or None when the deployed one matches."""
    script = remote.script
    if script is None:
        return "new Worker"
    if script.var(BUNDLE_HASH_VAR) != bundle.sha256:
        return "bundle changed"
    if script.kv_namespaces.get(KV_BINDING) != kv_id:
        return "KV binding changed"
    if not has_exact_state(script):
        return "Durable Object binding missing"
    if script.compatibility_date and script.compatibility_date != config.compatibility_date:
        return "compatibility date changed"
    if script.compatibility_flags and PYTHON_WORKERS_FLAG not in script.compatibility_flags:
        return "compatibility flags changed"
    return None


def _plan_hostname(config: ProjectConfig, remote: RemoteState, draft: _Draft) -> None:
    host = config.hostname
    url = public_url_for(config, remote)
    if host.mode == "workers_dev":
        if remote.script is not None and remote.script_on_workers_dev:
            draft.unchanged.append(f"workers.dev route {url} is enabled")
        else:
            draft.steps.append(EnableWorkersDev(script=config.name, url=url))
    elif host.mode == "custom_domain":
        if remote.domain is not None:
            draft.unchanged.append(f"custom domain {host.domain} is attached")
        else:
            zone_id = remote.zone.id if remote.zone else ""
            draft.steps.append(
                AttachDomain(script=config.name, hostname=host.domain, zone_id=zone_id)
            )
    elif host.mode == "route":
        if remote.route is not None:
            draft.unchanged.append(f"route {host.route} exists")
        else:
            zone_id = remote.zone.id if remote.zone else ""
            draft.steps.append(CreateRoute(script=config.name, zone_id=zone_id, pattern=host.route))
