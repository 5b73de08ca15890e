"""Durable Object bindings and migrations in Worker uploads, checked the way Cloudflare does.

A script upload's ``metadata.migrations`` is one migration (``{old_tag, new_tag,
new_sqlite_classes, ...}``) or several (``{old_tag, new_tag, steps: [{...}, ...]}``; wrangler
sends this form). Applying it creates or deletes the script's Durable Object namespaces and sets
the script's migration tag, which the scripts list (and wrangler's services endpoint) report as
``migration_tag``. Rules, with where each comes from:

- ``old_tag`` must equal the script's current tag (absent when it has none), else 400 ``10079``
  "Migration tag precondition failed; current tag is …" [cloudflare/workers-sdk#705; the SDK's
  ``old_tag`` docstring: "If they don't match, the upload is rejected"]. So a migration sent
  again without ``old_tag`` (a deployer that lost track of the tag) is refused.
- ``new_tag`` equal to the current tag re-applies a migration: refused [Cloudflare's migration
  docs: "Each migration can only be applied once"; code 10021 is a guess].
- ``new_classes`` (key-value storage backend) is refused on the Workers Free plan with 400
  ``10097``; ``new_sqlite_classes`` works on every plan [sjdonado/idonthavespotify#83,
  tuo-lei/vibe-replay#635; DESIGN.md §3].
- A class that already exists cannot be created again, and an existing class cannot be converted
  to SQLite by a later ``new_sqlite_classes`` [cloudflare-docs, Durable Objects migrations: "You
  cannot enable a SQLite storage backend on an existing, deployed Durable Object class, so
  setting new_sqlite_classes on later migrations will fail with an error"; code is a guess].
- A new class must be exported by the main module; ``deleted_classes`` must name an existing
  class [migration docs; codes are guesses].
- A ``durable_object_namespace`` binding names a class created by a migration of this upload or
  an earlier one (or, with ``script_name``, of that script), and a class of this script must be
  exported by its main module, else 400 ``10061`` "Cannot create binding for class 'X' because
  it is not currently configured to implement Durable Objects" [cloudflare/workers-sdk#10034,
  #10246, #7899; "... that is not exported by the script": #1792].
- Version uploads (``POST …/versions``) cannot carry migrations [cloudflare-docs: "new Worker
  versions with new migrations cannot be uploaded"; wrangler 4.60 switches to ``PUT`` when it has
  migrations to send; code is a guess].
- ``renamed_classes`` / ``transferred_classes`` are not modelled here (refused, saying so).

Codes other than 10061, 10079 and 10097 are guesses (10021, the upload validation code).
"""

from __future__ import annotations

import ast
import uuid
from dataclasses import dataclass, field
from typing import Any

from .envelope import ApiError
from .model import DurableObjectNamespace, Module
from .state import FakeState

BINDING_TYPE = "durable_object_namespace"
DIRECTIVES = (
    "new_classes",
    "new_sqlite_classes",
    "deleted_classes",
    "renamed_classes",
    "transferred_classes",
)
NOT_MODELLED = ("renamed_classes", "transferred_classes")


def invalid(message: str, code: int = 10021) -> ApiError:
    return ApiError(400, code, message)


@dataclass
class DurableObjectChanges:
    """What an upload does to the script's Durable Objects (applied once it is stored)."""

    tag: str | None  # the script's migration tag after the upload
    namespaces: dict[str, str] = field(default_factory=dict)  # class -> namespace id, after
    created: dict[str, bool] = field(default_factory=dict)  # class -> use_sqlite
    deleted: list[str] = field(default_factory=list)

    def commit(self, state: FakeState, account_id: str, script: str) -> None:
        """Create and delete the namespaces (call with the state lock held)."""
        for class_name in self.deleted:
            ns = state.durable_object_namespace(account_id, script, class_name)
            if ns is not None:
                del state.durable_object_namespaces[ns.id]
        for class_name, use_sqlite in self.created.items():
            ns_id = self.namespaces[class_name]
            state.durable_object_namespaces[ns_id] = DurableObjectNamespace(
                ns_id, account_id, script, class_name, use_sqlite
            )


def exported_names(modules: list[Module], main_module: str) -> set[str] | None:
    """Names a Python main module binds at top level (classes, imports, assignments): what the
    runtime can export. None when the main module is not Python (not checked then) or uses
    ``from … import *``."""
    main = next((m for m in modules if m.name == main_module), None)
    if main is None or not main_module.endswith(".py"):
        return None
    try:
        tree = ast.parse(main.content.decode("utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return None  # reported by the startup check
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".", 1)[0])
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _class_list(step: dict[str, Any], key: str) -> list[str]:
    value = step.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise invalid(f"migrations: {key} must be a list of class names")
    return value


def _steps(migrations: dict[str, Any]) -> list[dict[str, Any]]:
    allowed = {"old_tag", "new_tag", "steps", *DIRECTIVES}
    unknown = sorted(set(migrations) - allowed)
    if unknown:
        raise invalid(f"migrations: unknown field(s) {', '.join(unknown)}")
    if "steps" not in migrations:
        return [{k: v for k, v in migrations.items() if k in DIRECTIVES}]
    if any(k in migrations for k in DIRECTIVES):
        raise invalid("migrations: give either steps or the directives of a single step, not both")
    steps = migrations["steps"]
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise invalid("migrations.steps must be a list of objects")
    for step in steps:
        unknown = sorted(set(step) - set(DIRECTIVES))
        if unknown:
            raise invalid(f"migrations.steps: unknown field(s) {', '.join(unknown)}")
    return steps


def _tag(migrations: dict[str, Any], key: str) -> str | None:
    value = migrations.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise invalid(f"migrations.{key} must be a non-empty string")
    return value


def apply_migrations(
    metadata: dict[str, Any],
    *,
    current_tag: str | None,
    current: dict[str, DurableObjectNamespace],
    exported: set[str] | None,
    plan: str,
    version_upload: bool = False,
) -> DurableObjectChanges:
    """Check ``metadata.migrations`` against the script's tag and classes (``current``:
    class -> namespace) and return what applying it changes. Nothing is stored here."""
    changes = DurableObjectChanges(
        tag=current_tag, namespaces={c: ns.id for c, ns in current.items()}
    )
    if "migrations" not in metadata or metadata["migrations"] is None:
        return changes
    migrations = metadata["migrations"]
    if not isinstance(migrations, dict):
        raise invalid("migrations must be an object")
    if version_upload:
        raise invalid(
            "Durable Object migrations cannot be uploaded with a new version: upload "
            "the Worker (PUT …/workers/scripts/{name}) to apply them"
        )
    old_tag, new_tag = _tag(migrations, "old_tag"), _tag(migrations, "new_tag")
    if old_tag != current_tag:
        shown = current_tag if current_tag is not None else "not set"
        raise invalid(f"Migration tag precondition failed; current tag is {shown}", 10079)
    if new_tag is not None and new_tag == current_tag:
        raise invalid(f"Migration tag {new_tag!r} has already been applied to this Worker")
    classes = {c: ns.use_sqlite for c, ns in current.items()}
    for step in _steps(migrations):
        for key in NOT_MODELLED:
            if step.get(key):
                raise invalid(f"migrations: {key} is not modelled by this fake")
        for key, use_sqlite in (("new_sqlite_classes", True), ("new_classes", False)):
            for class_name in _class_list(step, key):
                if not use_sqlite and plan == "free":
                    raise invalid(
                        f"In order to use Durable Objects with a free plan, you must "
                        f"create a namespace using a `new_sqlite_classes` migration "
                        f"(class {class_name!r} is in new_classes)",
                        10097,
                    )
                if class_name in classes:
                    raise invalid(
                        f"Cannot apply new-class migration to class {class_name!r}: "
                        "it already exists (an existing class cannot be converted "
                        "to SQLite storage)"
                    )
                if exported is not None and class_name not in exported:
                    raise invalid(
                        f"Cannot apply new-class migration to class {class_name!r} "
                        "that is not exported by the script"
                    )
                classes[class_name] = use_sqlite
                changes.created[class_name] = use_sqlite
                changes.namespaces[class_name] = uuid.uuid4().hex
        for class_name in _class_list(step, "deleted_classes"):
            if class_name not in classes:
                raise invalid(
                    f"Cannot apply deleted_classes migration to non-existent class {class_name!r}"
                )
            del classes[class_name]
            changes.namespaces.pop(class_name, None)
            if changes.created.pop(class_name, None) is None:
                changes.deleted.append(class_name)
    if new_tag is not None:
        changes.tag = new_tag
    return changes


def check_binding_shape(binding: dict[str, Any], name: str) -> dict[str, Any]:
    """A ``durable_object_namespace`` binding as stored: name, type, class_name[, script_name]."""
    class_name = binding.get("class_name")
    if not isinstance(class_name, str) or not class_name:
        raise invalid(f"Binding '{name}' of type {BINDING_TYPE} needs a string 'class_name'")
    for unsupported in ("environment", "dispatch_namespace", "namespace_id"):
        if binding.get(unsupported):
            raise invalid(f"Binding '{name}': {unsupported} is not modelled by this fake")
    out = {"name": name, "type": BINDING_TYPE, "class_name": class_name}
    script_name = binding.get("script_name")
    if script_name is not None:
        if not isinstance(script_name, str) or not script_name:
            raise invalid(f"Binding '{name}': script_name must be a non-empty string")
        out["script_name"] = script_name
    return out


def resolve_bindings(
    bindings: list[dict[str, Any]],
    *,
    state: FakeState,
    account_id: str,
    script: str,
    changes: DurableObjectChanges,
    exported: set[str] | None,
) -> list[dict[str, Any]]:
    """Check every Durable Object binding names an existing (or just created) class and add
    its ``namespace_id``, as the settings endpoint shows it."""
    out = []
    for binding in bindings:
        if binding.get("type") != BINDING_TYPE:
            out.append(binding)
            continue
        class_name = binding["class_name"]
        target = binding.get("script_name") or script
        if target == script:
            ns_id = changes.namespaces.get(class_name)
            if ns_id is not None and exported is not None and class_name not in exported:
                raise invalid(
                    f"Cannot create binding for class {class_name!r} that is not "
                    "exported by the script",
                    10061,
                )
        else:
            ns = state.durable_object_namespace(account_id, target, class_name)
            ns_id = ns.id if ns is not None else None
        if ns_id is None:
            raise invalid(
                f"Cannot create binding for class {class_name!r} because it is not "
                "currently configured to implement Durable Objects. Ensure a "
                "--new-class migration has been applied to it.",
                10061,
            )
        out.append(
            {**{k: v for k, v in binding.items() if k != "namespace_id"}, "namespace_id": ns_id}
        )
    return out


def bound_from_elsewhere(state: FakeState, account_id: str, script: str) -> list[str]:
    """Other Workers whose bindings use a Durable Object class of ``script``."""
    return sorted(
        {
            s.name
            for s in state.scripts_in(account_id)
            if s.name != script
            and any(
                b.get("type") == BINDING_TYPE and b.get("script_name") == script for b in s.bindings
            )
        }
    )
