"""Run a deploy plan: one gateway call per step, state recorded after each, progress shown.

`Executor` makes the calls; `DisplayOnlyExecutor` prints the plan instead (`--dry-run`).
`upload_manifest` is the single definition of the JSON the upload sends as its `metadata` form
part (Cloudflare's name for it), shared with the curl formatter so `--format curl` prints
exactly what the executor sends. Step descriptions are plain text; the style is added here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from rich.console import Console
from rich.markup import escape

from cfmcp.account.api import MIGRATION_TAG_MISMATCH, CloudflareApi
from cfmcp.deploy.models import (
    AttachDomain,
    ClearPatRecord,
    CreateKvNamespace,
    CreateRoute,
    EnableWorkersDev,
    Migration,
    Plan,
    PutSecret,
    Ref,
    Step,
    UploadScript,
    Value,
)
from cfmcp.errors import CloudflareError, Conflict, StepFailed
from cfmcp.project.state import StateRecorder
from cfmcp.worker.render import Bundle

RERUN = "`cfmcp deploy`: it continues from what exists"


def upload_manifest(
    step: UploadScript, resolve: Callable[[Value], str], secret: Callable[[str], str]
) -> dict[str, Any]:
    """The upload's `metadata` form part (secret values come from `secret`)."""
    bindings: list[dict[str, str]] = []
    for binding in step.bindings:
        if binding.type == "kv_namespace":
            bindings.append(
                {
                    "type": "kv_namespace",
                    "name": binding.name,
                    "namespace_id": resolve(binding.value),
                }
            )
        elif binding.type == "secret_text":
            bindings.append(
                {"type": "secret_text", "name": binding.name, "text": secret(binding.name)}
            )
        elif binding.type == "durable_object_namespace":
            bindings.append(
                {
                    "type": "durable_object_namespace",
                    "name": binding.name,
                    "class_name": resolve(binding.value),
                }
            )
        else:
            bindings.append(
                {"type": binding.type, "name": binding.name, "text": resolve(binding.value)}
            )
    metadata: dict[str, Any] = {
        "main_module": step.main_module,
        "compatibility_date": step.compatibility_date,
        "compatibility_flags": list(step.compatibility_flags),
        "bindings": bindings,
    }
    if step.keep_secrets:
        metadata["keep_bindings"] = ["secret_text"]
    if step.migration is not None:
        metadata["migrations"] = migration_manifest(step.migration)
    return metadata


def migration_manifest(migration: Migration) -> dict[str, Any]:
    """`metadata.migrations` as wrangler 4.60 sends it (tests/fake_cloudflare/reference/):
    `{"old_tag"?, "new_tag", "steps": [{"new_sqlite_classes": [...]}]}`; `old_tag` only when
    the script already has a tag (the API refuses a mismatch, 10079)."""
    migrations: dict[str, Any] = {}
    if migration.old_tag is not None:
        migrations["old_tag"] = migration.old_tag
    migrations["new_tag"] = migration.new_tag
    migrations["steps"] = [{"new_sqlite_classes": list(migration.new_sqlite_classes)}]
    return migrations


class ProgressReporter(Protocol):
    def started(self, step: Step) -> None: ...
    def finished(self, step: Step) -> None: ...


class QuietProgress:
    """For --json: no output while running."""

    def started(self, step: Step) -> None:
        pass

    def finished(self, step: Step) -> None:
        pass


class RichProgress:
    """A spinner while a step runs, a tick line when it is done."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._status: Any = None

    def started(self, step: Step) -> None:
        self._status = self.console.status(escape(step.describe()) + " …")
        self._status.start()

    def finished(self, step: Step) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        self.console.print(f"[green]✓[/] {escape(step.describe())}", highlight=False)

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


@dataclass
class ExecutionResult:
    done: list[Step] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)


class Executor:
    """Carries out a plan's steps in order, recording state after every one."""

    def __init__(
        self,
        api: CloudflareApi,
        account_id: str,
        bundle: Bundle,
        secrets: Mapping[str, str],
        recorder: StateRecorder,
        progress: ProgressReporter | None = None,
    ) -> None:
        self.api = api
        self.account_id = account_id
        self.bundle = bundle
        self._secrets = secrets
        self.recorder = recorder
        self.progress = progress or QuietProgress()
        self.result = ExecutionResult()

    def execute(self, plan: Plan) -> ExecutionResult:
        for step in plan.steps:
            self.progress.started(step)
            try:
                self._run(step)
            except Exception as exc:
                if isinstance(self.progress, RichProgress):
                    self.progress.stop()
                number = len(self.result.done) + 1
                raise StepFailed(
                    f"step {number} ({step.label}) failed", cause=exc, rerun=RERUN, step=step
                ) from None
            self.result.done.append(step)
            self.progress.finished(step)
        return self.result

    def resolve(self, value: Value) -> str:
        if isinstance(value, Ref):
            return self.result.variables[value.name]
        return value

    def _secret(self, name: str) -> str:
        try:
            return self._secrets[name]
        except KeyError:
            raise RuntimeError(f"no value for secret {name}") from None

    def _run(self, step: Step) -> None:
        account = self.account_id
        if isinstance(step, CreateKvNamespace):
            try:
                namespace = self.api.create_kv_namespace(account, step.title)
            except Conflict:
                # Created meanwhile (or by an earlier attempt whose answer was lost): adopt it.
                found = self.api.find_kv_namespace(account, step.title)
                if found is None:
                    raise
                namespace = found
            self.result.variables[step.output.name] = namespace.id
            self.recorder.update(kv_namespace_id=namespace.id, kv_namespace_title=step.title)
        elif isinstance(step, UploadScript):
            self._upload(step)
            secrets = sorted({*self.recorder.state.secrets_set, *step.secret_names})
            self.recorder.update(
                bundle_sha256=step.bundle_sha256, script_uploaded=True, secrets_set=tuple(secrets)
            )
        elif isinstance(step, PutSecret):
            self.api.put_secret(
                account, step.script, step.secret_name, self._secret(step.secret_name)
            )
            secrets = sorted({*self.recorder.state.secrets_set, step.secret_name})
            self.recorder.update(secrets_set=tuple(secrets))
        elif isinstance(step, ClearPatRecord):
            self.api.delete_kv_value(account, step.namespace_id, step.key)
        elif isinstance(step, EnableWorkersDev):
            self.api.enable_script_subdomain(account, step.script)
            self.recorder.update(workers_dev_enabled=True)
        elif isinstance(step, AttachDomain):
            self.api.attach_domain(account, step.hostname, step.script, step.zone_id)
            self.recorder.update(custom_domain=step.hostname)
        elif isinstance(step, CreateRoute):
            route = self.api.create_route(step.zone_id, step.pattern, step.script)
            self.recorder.update(route_pattern=step.pattern, route_id=route.id)
        else:  # pragma: no cover - every step type is handled above
            raise TypeError(f"unknown step {step!r}")

    def _upload(self, step: UploadScript) -> None:
        metadata = upload_manifest(step, self.resolve, self._secret)
        try:
            self.api.upload_script(
                self.account_id, step.script, modules=self.bundle.modules, metadata=metadata
            )
        except CloudflareError as exc:
            # A retried upload whose first attempt applied the migration (only its answer was
            # lost) is refused by the tag precondition: if the account now has our tag, the
            # migration is done and the upload goes again without it.
            if step.migration is None or MIGRATION_TAG_MISMATCH not in exc.codes:
                raise
            if self.api.get_migration_tag(self.account_id, step.script) != step.migration.new_tag:
                raise
            metadata.pop("migrations")
            self.api.upload_script(
                self.account_id, step.script, modules=self.bundle.modules, metadata=metadata
            )


class DisplayOnlyExecutor:
    """`--dry-run`: print what would be done; no call is made."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def execute(self, plan: Plan) -> None:
        for line in plan.unchanged:
            self.console.print(f"[dim]=[/] {escape(line)}", highlight=False)
        if plan.is_noop:
            self.console.print("[green]Nothing to do:[/] the deployed Worker matches cfmcp.toml.")
            return
        for number, step in enumerate(plan.steps, 1):
            self.console.print(f"[yellow]{number}.[/] {escape(step.describe())}", highlight=False)
