"""Validation of Worker uploads, as Cloudflare applies it to Python module Workers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from .durable_objects import check_binding_shape
from .envelope import ApiError
from .model import Module
from .multipart import Part
from .pycheck import check_python_startup
from .state import FakeState

SCRIPT_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$")
BINDING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
BINDING_TYPES = ("kv_namespace", "plain_text", "secret_text", "durable_object_namespace")
PYTHON_TYPE = "text/x-python"
MODULE_TYPES = (
    "application/javascript+module",
    "text/javascript+module",
    "application/javascript",
    "text/javascript",
    PYTHON_TYPE,
    "text/x-python-requirement",
    "application/wasm",
    "text/plain",
    "application/octet-stream",
    "application/source-map",
    "application/json",
)
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def invalid(message: str, code: int = 10021) -> ApiError:
    """A script validation error (Cloudflare answers these with 400)."""
    return ApiError(400, code, message)


def check_script_name(name: str) -> None:
    """Worker names: lower-case letters, digits, ``-``/``_``, at most 63 characters."""
    if len(name) > 63:
        raise invalid(f"Worker name '{name[:70]}' is too long: at most 63 characters", 10016)
    if not SCRIPT_NAME.match(name):
        raise invalid(
            f"Invalid Worker name '{name}': use lower-case letters, digits, dashes and "
            "underscores, starting and ending with a letter or digit",
            10016,
        )


def check_secret_name(name: Any) -> str:
    """Secret (binding) names must be identifiers."""
    if not isinstance(name, str) or not BINDING_NAME.match(name):
        raise invalid(f"Invalid binding name {name!r}", 10021)
    return name


@dataclass
class Upload:
    """A validated upload."""

    metadata: dict[str, Any]
    main_module: str
    modules: list[Module]
    bindings: list[dict[str, Any]]
    keep_bindings: list[str]
    compatibility_date: str
    compatibility_flags: list[str]
    warnings: list[str]


def _metadata(parts: list[Part]) -> dict[str, Any]:
    found = [p for p in parts if p.name == "metadata"]
    if len(found) != 1:
        raise invalid("Expected exactly one 'metadata' part in the multipart upload", 10021)
    try:
        metadata = json.loads(found[0].content)
    except ValueError:
        raise invalid("The 'metadata' part is not valid JSON", 10026) from None
    if not isinstance(metadata, dict):
        raise invalid("The 'metadata' part must be a JSON object", 10026)
    return metadata


def _modules(parts: list[Part]) -> list[Module]:
    """Module parts: SDK style (every part named ``files``, module name in the filename) or
    wrangler style (part named after the module)."""
    modules: list[Module] = []
    for part in parts:
        if part.name == "metadata":
            continue
        name = part.filename if part.name == "files" else part.name
        if not name:
            raise invalid("A 'files' part has no filename (the module name)", 10021)
        if name.startswith("/") or ".." in name.split("/") or "\\" in name:
            raise invalid(f"Invalid module name '{name}'", 10021)
        content_type = (part.content_type or "").split(";")[0].strip().lower()
        if content_type not in MODULE_TYPES:
            raise invalid(
                f"Module '{name}' has unsupported Content-Type '{part.content_type}'", 10021
            )
        if name.endswith(".py") and content_type != PYTHON_TYPE:
            raise invalid(
                f"Python module '{name}' must be uploaded with Content-Type "
                f"{PYTHON_TYPE}, not '{part.content_type}'",
                10021,
            )
        if any(m.name == name for m in modules):
            raise invalid(f"Module '{name}' is uploaded twice", 10021)
        modules.append(Module(name, content_type, part.content))
    return modules


def _compatibility(metadata: dict[str, Any], today: date) -> tuple[str, list[str]]:
    compat_date = metadata.get("compatibility_date")
    if not isinstance(compat_date, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", compat_date):
        raise invalid(
            f"compatibility_date must be a date like 2026-03-01, got {compat_date!r}", 10021
        )
    try:
        parsed = date.fromisoformat(compat_date)
    except ValueError:
        raise invalid(f"compatibility_date {compat_date!r} is not a valid date") from None
    if parsed > today:
        raise invalid(
            f"Can't set compatibility date in the future: {compat_date} "
            f"(today is {today.isoformat()})",
            10021,
        )
    flags = metadata.get("compatibility_flags", [])
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise invalid("compatibility_flags must be a list of strings", 10021)
    return compat_date, flags


def _bindings(metadata: dict[str, Any], state: FakeState, account_id: str) -> list[dict[str, Any]]:
    bindings = metadata.get("bindings", [])
    if not isinstance(bindings, list):
        raise invalid("bindings must be a list", 10021)
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for binding in bindings:
        if not isinstance(binding, dict):
            raise invalid("each binding must be an object", 10021)
        name = check_secret_name(binding.get("name"))
        if name in seen:
            raise invalid(f"Binding name '{name}' is used more than once", 10021)
        seen.add(name)
        kind = binding.get("type")
        if kind not in BINDING_TYPES:
            raise invalid(
                f"Binding '{name}': type {kind!r} is not supported (this fake "
                f"knows {', '.join(BINDING_TYPES)})",
                10021,
            )
        if kind == "kv_namespace":
            ns_id = binding.get("namespace_id")
            ns = state.kv_namespaces.get(ns_id) if isinstance(ns_id, str) else None
            if ns is None or ns.account_id != account_id:
                raise invalid(f"KV namespace '{ns_id}' is not valid.", 10041)
            out.append({"name": name, "type": kind, "namespace_id": ns_id})
        elif kind == "durable_object_namespace":
            out.append(check_binding_shape(binding, name))  # its class: durable_objects.py
        else:
            text = binding.get("text")
            if not isinstance(text, str):
                raise invalid(f"Binding '{name}' of type {kind} needs a string 'text'", 10021)
            out.append({"name": name, "type": kind, "text": text})
    return out


def validate_upload(
    parts: list[Part], state: FakeState, account_id: str, today: date | None = None
) -> Upload:
    """Check a multipart Worker upload the way Cloudflare does for Python Workers."""
    today = today or datetime.now(UTC).date()
    if sum(len(p.content) for p in parts) > MAX_UPLOAD_BYTES:
        raise ApiError(413, 10027, "Script exceeds the maximum upload size")
    metadata = _metadata(parts)
    modules = _modules(parts)
    if "body_part" in metadata and "main_module" not in metadata:
        raise invalid(
            "Service-worker uploads (body_part) are not supported for Python "
            "Workers: set main_module",
            10021,
        )
    main_module = metadata.get("main_module")
    if not isinstance(main_module, str) or not main_module:
        raise invalid("metadata.main_module is required for module Workers", 10021)
    main = next((m for m in modules if m.name == main_module), None)
    if main is None:
        raise invalid(
            f'No such module "{main_module}". main_module must name an uploaded module part.', 10021
        )
    compat_date, flags = _compatibility(metadata, today)
    if any(m.content_type == PYTHON_TYPE for m in modules) and "python_workers" not in flags:
        raise invalid("Python Workers require the 'python_workers' compatibility flag", 10021)
    warnings = check_python_startup(modules, main_module, compat_date)
    keep = metadata.get("keep_bindings", [])
    if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
        raise invalid("keep_bindings must be a list of binding types", 10021)
    return Upload(
        metadata=metadata,
        main_module=main_module,
        modules=modules,
        bindings=_bindings(metadata, state, account_id),
        keep_bindings=keep,
        compatibility_date=compat_date,
        compatibility_flags=flags,
        warnings=warnings,
    )
