"""What exists on the account (RemoteState) and what deploy will do about it (steps, Plan).

Everything here is a frozen dataclass with no I/O, and speaks plain text (`describe()`):
the command adds the style. A step names the values it needs; values
produced by an earlier step of the same plan (a new KV namespace's id) are `Ref`s that the
executor resolves while running, and the curl formatter prints as shell variables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cfmcp.account.api import DeployedScript, KvNamespace, WorkerDomain, WorkerRoute, Zone


@dataclass(frozen=True)
class Ref:
    """A value an earlier step produces (e.g. the id of a KV namespace created by this plan)."""

    name: str

    @property
    def shell(self) -> str:
        return "$" + self.name.upper()


Value = str | Ref


@dataclass(frozen=True)
class RemoteState:
    """What the planner needs to know about the account; None means "does not exist"."""

    account_id: str
    kv_namespace: KvNamespace | None = None
    script: DeployedScript | None = None
    workers_subdomain: str | None = None
    script_on_workers_dev: bool | None = None  # None: not looked up (script absent)
    zone: Zone | None = None
    domain: WorkerDomain | None = None
    route: WorkerRoute | None = None
    # The script's Durable Object migration tag, read only when the planner needs it: the
    # script exists but lacks the Durable Object binding (so it may still need the migration).
    migration_tag: str | None = None
    migration_tag_read: bool = False


@dataclass(frozen=True)
class BindingSpec:
    """A binding of the upload metadata; secret bindings carry only the secret's name."""

    type: str  # kv_namespace | plain_text | secret_text | durable_object_namespace
    name: str
    value: Value = ""  # namespace id, text, or (durable_object_namespace) the class name


@dataclass(frozen=True)
class Migration:
    """The Durable Object migration an upload applies: create `new_sqlite_classes` and move
    the script's tag from `old_tag` (None: the script has no tag yet) to `new_tag`."""

    new_tag: str
    new_sqlite_classes: tuple[str, ...]
    old_tag: str | None = None

    def describe(self) -> str:
        start = f"{self.old_tag} → " if self.old_tag else ""
        return (
            f"Durable Object migration {start}{self.new_tag} (new SQLite class "
            f"{', '.join(self.new_sqlite_classes)})"
        )


@dataclass(frozen=True)
class Step:
    """One write call to the Cloudflare API."""

    label: ClassVar[str] = "step"

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class CreateKvNamespace(Step):
    title: str
    output: Ref = Ref("kv_namespace_id")
    label: ClassVar[str] = "create KV namespace"

    def describe(self) -> str:
        return f"create KV namespace {self.title}"


@dataclass(frozen=True)
class UploadScript(Step):
    script: str
    main_module: str
    modules: tuple[str, ...]
    compatibility_date: str
    compatibility_flags: tuple[str, ...]
    bindings: tuple[BindingSpec, ...]
    bundle_sha256: str
    keep_secrets: bool  # re-deploy: keep the secret_text bindings already set
    reason: str
    migration: Migration | None = None
    label: ClassVar[str] = "upload Worker"

    @property
    def secret_names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.bindings if b.type == "secret_text")

    def describe(self) -> str:
        extra = f", set secrets {', '.join(self.secret_names)}" if self.secret_names else ""
        if self.migration is not None:
            extra += f", apply {self.migration.describe()}"
        return (
            f"upload Worker {self.script} ({len(self.modules)} modules, "
            f"sha256 {self.bundle_sha256[:12]}…{extra}) — {self.reason}"
        )


@dataclass(frozen=True)
class PutSecret(Step):
    script: str
    secret_name: str
    label: ClassVar[str] = "set secret"

    def describe(self) -> str:
        return f"set secret {self.secret_name} on {self.script}"


@dataclass(frozen=True)
class ClearPatRecord(Step):
    """Delete what the Worker recorded of the PAT it had (KV `upstream:pat`): a new PAT is
    being set, and the Worker must record what the upstream says of that one afresh."""

    namespace_id: str
    key: str
    label: ClassVar[str] = "clear the PAT record"

    def describe(self) -> str:
        return f"delete KV key {self.key} (what the Worker recorded of the previous PAT)"


@dataclass(frozen=True)
class EnableWorkersDev(Step):
    script: str
    url: str
    label: ClassVar[str] = "enable workers.dev"

    def describe(self) -> str:
        return f"enable workers.dev route {self.url}"


@dataclass(frozen=True)
class AttachDomain(Step):
    script: str
    hostname: str
    zone_id: str
    label: ClassVar[str] = "attach custom domain"

    def describe(self) -> str:
        return f"attach custom domain {self.hostname} to {self.script}"


@dataclass(frozen=True)
class CreateRoute(Step):
    script: str
    zone_id: str
    pattern: str
    label: ClassVar[str] = "create route"

    def describe(self) -> str:
        return f"create route {self.pattern} → {self.script}"


@dataclass(frozen=True)
class Plan:
    """The ordered steps of a deploy, plus one line per resource that is already right."""

    steps: tuple[Step, ...]
    unchanged: tuple[str, ...]
    public_url: str
    bundle_sha256: str

    @property
    def is_noop(self) -> bool:
        return not self.steps

    @property
    def secret_names(self) -> tuple[str, ...]:
        """Every secret this plan sends (so the command can gather their values first)."""
        names: list[str] = []
        for step in self.steps:
            if isinstance(step, UploadScript):
                names += step.secret_names
            elif isinstance(step, PutSecret):
                names.append(step.secret_name)
        return tuple(names)
