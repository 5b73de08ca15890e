"""The planner against in-memory remote states (no I/O): what gets created, updated, skipped."""

from __future__ import annotations

import pytest

from cfmcp.account.api import DeployedScript, KvNamespace, WorkerDomain, WorkerRoute, Zone
from cfmcp.deploy.models import (
    AttachDomain,
    ClearPatRecord,
    CreateKvNamespace,
    CreateRoute,
    EnableWorkersDev,
    Migration,
    PutSecret,
    Ref,
    RemoteState,
    UploadScript,
)
from cfmcp.deploy.planner import plan_deploy
from cfmcp.errors import NotOurs
from cfmcp.project.config import ProjectConfig
from cfmcp.worker.contract import (
    EXACT_BINDING,
    EXACT_CLASS,
    EXACT_MIGRATION_TAG,
    PAT_STATUS_KEY,
    SECRET_NAMES,
)
from cfmcp.worker.render import Bundle

ACCOUNT = "0123456789abcdef0123456789abcdef"
BUNDLE = Bundle(modules={"entry.py": b"print(1)\n", "cfmcp_worker/app.py": b"x = 1\n"})


def config(**hostname: str) -> ProjectConfig:
    cfg = ProjectConfig(name="gh-mcp", account_id=ACCOUNT)
    for key, value in hostname.items():
        setattr(cfg.hostname, key, value)
    return cfg.validate()


def deployed(
    sha: str = BUNDLE.sha256,
    kv: str = "kv1",
    secrets=SECRET_NAMES,
    date: str = "2026-03-01",
    exact: bool = True,
) -> DeployedScript:
    return DeployedScript(
        name="gh-mcp",
        compatibility_date=date,
        compatibility_flags=("python_workers",),
        plain_text={"CFMCP_BUNDLE_SHA256": sha},
        kv_namespaces={"OAUTH_KV": kv},
        secret_names=frozenset(secrets),
        durable_objects={EXACT_BINDING: EXACT_CLASS} if exact else {},
    )


def remote(**kwargs) -> RemoteState:
    defaults = {"account_id": ACCOUNT, "workers_subdomain": "acme"}
    return RemoteState(**{**defaults, **kwargs})


def test_fresh_workers_dev_plan_creates_everything_in_order() -> None:
    plan = plan_deploy(config(), remote(), BUNDLE)
    kinds = [type(s) for s in plan.steps]
    assert kinds == [CreateKvNamespace, UploadScript, EnableWorkersDev]
    upload = plan.steps[1]
    assert isinstance(upload, UploadScript)
    assert upload.keep_secrets is False
    assert upload.secret_names == SECRET_NAMES
    kv = next(b for b in upload.bindings if b.type == "kv_namespace")
    assert kv.value == Ref("kv_namespace_id")
    sha = next(b for b in upload.bindings if b.name == "CFMCP_BUNDLE_SHA256")
    assert sha.value == BUNDLE.sha256
    exact = next(b for b in upload.bindings if b.type == "durable_object_namespace")
    assert (exact.name, exact.value) == (EXACT_BINDING, EXACT_CLASS)
    assert upload.migration == Migration(
        new_tag=EXACT_MIGRATION_TAG, new_sqlite_classes=(EXACT_CLASS,)
    )
    assert plan.public_url == "https://gh-mcp.acme.workers.dev"
    assert plan.secret_names == SECRET_NAMES


def test_nothing_changed_is_a_noop() -> None:
    plan = plan_deploy(
        config(),
        remote(
            kv_namespace=KvNamespace("kv1", "gh-mcp-oauth"),
            script=deployed(),
            script_on_workers_dev=True,
        ),
        BUNDLE,
    )
    assert plan.is_noop
    assert len(plan.unchanged) == 4


def test_changed_bundle_uploads_and_keeps_secrets() -> None:
    plan = plan_deploy(
        config(),
        remote(
            kv_namespace=KvNamespace("kv1", "gh-mcp-oauth"),
            script=deployed(sha="old"),
            script_on_workers_dev=True,
        ),
        BUNDLE,
    )
    assert [type(s) for s in plan.steps] == [UploadScript]
    upload = plan.steps[0]
    assert upload.keep_secrets and upload.secret_names == ()
    assert upload.reason == "bundle changed"


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (deployed(kv="other"), "KV binding changed"),
        (deployed(date="2025-01-01"), "compatibility date changed"),
    ],
)
def test_other_drift_uploads(script: DeployedScript, reason: str) -> None:
    plan = plan_deploy(
        config(),
        remote(
            kv_namespace=KvNamespace("kv1", "gh-mcp-oauth"),
            script=script,
            script_on_workers_dev=True,
        ),
        BUNDLE,
    )
    assert [s.reason for s in plan.steps if isinstance(s, UploadScript)] == [reason]


def test_missing_secret_without_upload_is_put_alone() -> None:
    plan = plan_deploy(
        config(),
        remote(
            kv_namespace=KvNamespace("kv1", "gh-mcp-oauth"),
            script=deployed(secrets=("UPSTREAM_TOKEN",)),
            script_on_workers_dev=True,
        ),
        BUNDLE,
    )
    assert plan.steps == (PutSecret("gh-mcp", "AUTH_PIN"), PutSecret("gh-mcp", "SIGNING_KEY"))


def test_missing_secret_with_upload_travels_in_the_upload() -> None:
    plan = plan_deploy(
        config(),
        remote(
            kv_namespace=KvNamespace("kv1", "gh-mcp-oauth"),
            script=deployed(sha="old", secrets=("AUTH_PIN",)),
            script_on_workers_dev=True,
        ),
        BUNDLE,
    )
    upload, clear = plan.steps  # a new PAT: the Worker's record of the old one goes
    assert upload.keep_secrets
    assert upload.secret_names == ("UPSTREAM_TOKEN", "SIGNING_KEY")
    assert clear == ClearPatRecord("kv1", PAT_STATUS_KEY)


def test_workers_dev_disabled_is_enabled() -> None:
    plan = plan_deploy(
        config(),
        remote(
            kv_namespace=KvNamespace("kv1", "t"), script=deployed(), script_on_workers_dev=False
        ),
        BUNDLE,
    )
    assert [type(s) for s in plan.steps] == [EnableWorkersDev]


def test_custom_domain_attached_when_missing() -> None:
    cfg = config(mode="custom_domain", domain="mcp.example.com")
    plan = plan_deploy(
        cfg,
        remote(
            kv_namespace=KvNamespace("kv1", "t"), script=deployed(), zone=Zone("z1", "example.com")
        ),
        BUNDLE,
    )
    assert plan.steps == (AttachDomain("gh-mcp", "mcp.example.com", "z1"),)
    assert plan.public_url == "https://mcp.example.com"


def test_custom_domain_present_is_kept() -> None:
    cfg = config(mode="custom_domain", domain="mcp.example.com")
    domain = WorkerDomain("d1", "mcp.example.com", "gh-mcp", "z1", "example.com")
    plan = plan_deploy(
        cfg,
        remote(
            kv_namespace=KvNamespace("kv1", "t"),
            script=deployed(),
            zone=Zone("z1", "example.com"),
            domain=domain,
        ),
        BUNDLE,
    )
    assert plan.is_noop


def test_custom_domain_of_another_worker_is_a_conflict() -> None:
    cfg = config(mode="custom_domain", domain="mcp.example.com")
    domain = WorkerDomain("d1", "mcp.example.com", "someone-else")
    with pytest.raises(NotOurs, match="someone-else"):
        plan_deploy(cfg, remote(zone=Zone("z1", "example.com"), domain=domain), BUNDLE)


def test_route_created_then_kept() -> None:
    cfg = config(mode="route", route="api.example.com/mcp*", zone="example.com")
    base = {
        "kv_namespace": KvNamespace("kv1", "t"),
        "script": deployed(),
        "zone": Zone("z1", "example.com"),
    }
    plan = plan_deploy(cfg, remote(**base), BUNDLE)
    assert plan.steps == (CreateRoute("gh-mcp", "z1", "api.example.com/mcp*"),)
    again = plan_deploy(
        cfg, remote(**base, route=WorkerRoute("r1", "api.example.com/mcp*", "gh-mcp")), BUNDLE
    )
    assert again.is_noop


def test_route_of_another_worker_is_a_conflict() -> None:
    cfg = config(mode="route", route="api.example.com/mcp*", zone="example.com")
    with pytest.raises(NotOurs):
        plan_deploy(
            cfg,
            remote(
                zone=Zone("z1", "example.com"),
                route=WorkerRoute("r1", "api.example.com/mcp*", "other"),
            ),
            BUNDLE,
        )


def test_foreign_worker_with_the_same_name_is_a_conflict() -> None:
    foreign = DeployedScript(name="gh-mcp", plain_text={"OTHER": "x"})
    with pytest.raises(NotOurs, match="not deployed by cfmcp") as caught:
        plan_deploy(config(), remote(script=foreign), BUNDLE)
    assert "--name" in (caught.value.hint or "")


def test_replace_secret_rides_along_an_upload_or_goes_alone() -> None:
    base = {"kv_namespace": KvNamespace("kv1", "t"), "script_on_workers_dev": True}
    alone = plan_deploy(
        config(), remote(**base, script=deployed()), BUNDLE, replace_secrets=("UPSTREAM_TOKEN",)
    )
    clear = ClearPatRecord("kv1", PAT_STATUS_KEY)
    assert alone.steps == (PutSecret("gh-mcp", "UPSTREAM_TOKEN"), clear)
    upload, cleared = plan_deploy(
        config(),
        remote(**base, script=deployed(sha="old")),
        BUNDLE,
        replace_secrets=("UPSTREAM_TOKEN",),
    ).steps
    assert upload.keep_secrets and upload.secret_names == ("UPSTREAM_TOKEN",)
    assert cleared == clear


# -- the exact-state Durable Object ------------------------------------------------------------

KV = KvNamespace("kv1", "gh-mcp-oauth")


def test_a_bound_durable_object_is_never_migrated_again() -> None:
    # Even with a changed bundle: the binding proves the class exists (the API refuses a
    # binding to a class no migration created), so the tag is not even read.
    plan = plan_deploy(
        config(),
        remote(kv_namespace=KV, script=deployed(sha="old"), script_on_workers_dev=True),
        BUNDLE,
    )
    upload = plan.steps[0]
    assert isinstance(upload, UploadScript) and upload.migration is None
    assert any(b.type == "durable_object_namespace" for b in upload.bindings)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        (None, Migration(EXACT_MIGRATION_TAG, (EXACT_CLASS,))),  # deployed before the DO
        ("someone-elses-v3", Migration(EXACT_MIGRATION_TAG, (EXACT_CLASS,), "someone-elses-v3")),
        (EXACT_MIGRATION_TAG, None),  # applied; only the binding went missing
    ],
)
def test_a_worker_without_the_binding_gets_it_and_the_migration_once(tag, expected) -> None:
    script = deployed(exact=False)  # same bundle hash: the missing binding alone uploads
    plan = plan_deploy(
        config(),
        remote(
            kv_namespace=KV,
            script=script,
            script_on_workers_dev=True,
            migration_tag=tag,
            migration_tag_read=True,
        ),
        BUNDLE,
    )
    assert [type(s) for s in plan.steps] == [UploadScript]
    upload = plan.steps[0]
    assert upload.reason == "Durable Object binding missing"
    assert upload.migration == expected
    assert upload.keep_secrets and upload.secret_names == ()
    if expected is not None:
        assert f", apply {expected.describe()}" in upload.describe()
    else:
        assert "migration" not in upload.describe()


def test_the_migration_tag_must_have_been_observed() -> None:
    with pytest.raises(RuntimeError, match="migration tag"):
        plan_deploy(
            config(),
            remote(kv_namespace=KV, script=deployed(exact=False), script_on_workers_dev=True),
            BUNDLE,
        )
