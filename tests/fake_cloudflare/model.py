"""The fake's records: accounts, zones, tokens, KV namespaces, Worker scripts, domains, routes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Token permissions, named after the dashboard's permission groups. "edit" implies "read".
WORKERS_SCRIPTS_EDIT = "workers_scripts:edit"
WORKERS_SCRIPTS_READ = "workers_scripts:read"
WORKERS_KV_EDIT = "workers_kv:edit"
WORKERS_KV_READ = "workers_kv:read"
WORKERS_ROUTES_EDIT = "workers_routes:edit"
WORKERS_ROUTES_READ = "workers_routes:read"
ZONE_READ = "zone:read"
WORKERS_TAIL_READ = "workers_tail:read"  # live tails (`cfmcp logs`, `wrangler tail`)
ALL_PERMISSIONS = frozenset(
    {WORKERS_SCRIPTS_EDIT, WORKERS_KV_EDIT, WORKERS_ROUTES_EDIT, ZONE_READ, WORKERS_TAIL_READ}
)


def now_iso() -> str:
    """The current time as Cloudflare formats timestamps."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Account:
    """A Cloudflare account."""

    id: str
    name: str
    type: str = "standard"
    plan: str = "free"  # "free" or "paid": the free plan has SQLite-backed Durable Objects only


@dataclass
class Zone:
    """A zone (domain) in an account."""

    id: str
    name: str
    account_id: str
    status: str = "active"


@dataclass
class Token:
    """An API token: its (fake) secret value, owner kind, permissions and reach."""

    value: str
    id: str
    permissions: set[str] = field(default_factory=lambda: set(ALL_PERMISSIONS))
    account_ids: list[str] | None = None  # None: every account in the fake
    zone_ids: list[str] | None = None  # None: every zone of its accounts
    owner: str = "user"  # "user" (verify at /user/tokens/verify) or "account"
    status: str = "active"  # "active", "disabled" or "expired"

    def allows(self, permission: str) -> bool:
        """Whether this token grants ``permission`` (an edit permission grants the read one)."""
        if permission in self.permissions:
            return True
        if permission.endswith(":read"):
            return permission.replace(":read", ":edit") in self.permissions
        return False

    def reaches_account(self, account_id: str) -> bool:
        """Whether this token may act on ``account_id``."""
        return self.account_ids is None or account_id in self.account_ids

    def reaches_zone(self, zone: Zone) -> bool:
        """Whether this token may act on ``zone``."""
        if not self.reaches_account(zone.account_id):
            return False
        return self.zone_ids is None or zone.id in self.zone_ids


@dataclass
class KvEntry:
    """One KV value with its optional absolute expiry (epoch seconds) and metadata."""

    value: bytes
    expiration: float | None = None
    metadata: Any = None


@dataclass
class KvNamespace:
    """A Workers KV namespace and its keys."""

    id: str
    title: str
    account_id: str
    entries: dict[str, KvEntry] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        """As ``GET /storage/kv/namespaces`` lists it."""
        return {"id": self.id, "title": self.title, "supports_url_encoding": True}


@dataclass
class Module:
    """One uploaded module part."""

    name: str
    content_type: str
    content: bytes


@dataclass
class Script:
    """An uploaded Worker with its settings, bindings (secrets included) and triggers."""

    account_id: str
    name: str
    main_module: str
    modules: list[Module]
    compatibility_date: str
    compatibility_flags: list[str]
    bindings: list[dict[str, Any]]
    created_on: str
    modified_on: str
    versions: list[str] = field(default_factory=list)
    subdomain_enabled: bool = False
    previews_enabled: bool = False
    usage_model: str = "standard"
    last_deployed_from: str = "api"  # "wrangler" when wrangler uploaded it
    warnings: list[str] = field(default_factory=list)  # from the last upload (see pycheck)
    migration_tag: str | None = None  # the last Durable Object migration tag applied

    @property
    def etag(self) -> str:
        """A content hash over the modules, like the etag Cloudflare returns."""
        digest = hashlib.sha256()
        for module in self.modules:
            digest.update(module.name.encode() + b"\0" + module.content + b"\0")
        return digest.hexdigest()

    def module(self, name: str) -> Module | None:
        """The module called ``name``, if uploaded."""
        return next((m for m in self.modules if m.name == name), None)

    def secrets(self) -> dict[str, str]:
        """Secret name -> value (for the local Worker process only; never logged or listed)."""
        return {b["name"]: b.get("text", "") for b in self.bindings if b["type"] == "secret_text"}

    def public_bindings(self) -> list[dict[str, Any]]:
        """Bindings as the API shows them: plain_text values visible, secret values never."""
        shown = []
        for binding in self.bindings:
            if binding["type"] == "secret_text":
                shown.append({"name": binding["name"], "type": "secret_text"})
            else:
                shown.append(dict(binding))
        return shown

    def to_api(self) -> dict[str, Any]:
        """As the script list and upload responses describe a script."""
        return {
            "id": self.name,
            "tag": hashlib.md5(f"{self.account_id}/{self.name}".encode()).hexdigest(),
            "etag": self.etag,
            "handlers": ["fetch"],
            "has_modules": True,
            "has_assets": False,
            "compatibility_date": self.compatibility_date,
            "compatibility_flags": list(self.compatibility_flags),
            "created_on": self.created_on,
            "modified_on": self.modified_on,
            "usage_model": self.usage_model,
            "logpush": False,
            "tags": [],
            "tail_consumers": [],
            "last_deployed_from": self.last_deployed_from,
            **({"migration_tag": self.migration_tag} if self.migration_tag else {}),
        }


@dataclass
class DurableObjectNamespace:
    """A Durable Object namespace: created by a migration of the script that implements the
    class, deleted with it (or by a ``deleted_classes`` migration)."""

    id: str
    account_id: str
    script: str
    class_name: str
    use_sqlite: bool

    def to_api(self) -> dict[str, Any]:
        """As ``GET /accounts/{id}/workers/durable_objects/namespaces`` lists it."""
        return {
            "id": self.id,
            "name": f"{self.script}_{self.class_name}",
            "script": self.script,
            "class": self.class_name,
            "use_sqlite": self.use_sqlite,
        }


@dataclass
class CustomDomain:
    """A Worker custom domain."""

    id: str
    account_id: str
    hostname: str
    service: str
    zone_id: str
    zone_name: str
    environment: str = "production"
    cert_id: str = ""

    def to_api(self) -> dict[str, Any]:
        """As ``/workers/domains`` shows it."""
        return {
            "id": self.id,
            "hostname": self.hostname,
            "service": self.service,
            "environment": self.environment,
            "zone_id": self.zone_id,
            "zone_name": self.zone_name,
            "cert_id": self.cert_id,
        }


@dataclass
class WorkerRoute:
    """A zone route pattern sending requests to a Worker."""

    id: str
    zone_id: str
    pattern: str
    script: str | None

    def to_api(self) -> dict[str, Any]:
        """As ``/zones/{id}/workers/routes`` shows it."""
        return {"id": self.id, "pattern": self.pattern, "script": self.script}
