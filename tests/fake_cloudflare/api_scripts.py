"""Handlers: Worker scripts (upload, versions, deployments, read, delete) and settings."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from . import multipart
from .durable_objects import (
    DurableObjectChanges,
    apply_migrations,
    bound_from_elsewhere,
    exported_names,
    resolve_bindings,
)
from .envelope import ApiError, Response, ok, paginate
from .model import WORKERS_SCRIPTS_EDIT, WORKERS_SCRIPTS_READ, Script, now_iso
from .routing import Request, Route
from .validation import check_script_name, validate_upload


def activate(request: Request, script: Script) -> None:
    """(Re)start the local process for ``script`` before committing it, when Workers run."""
    if request.workers is not None:
        request.workers.deploy(script)


def _uploaded_script(
    request: Request, account_id: str, script_name: str, *, version_upload: bool = False
) -> tuple[Script, DurableObjectChanges]:
    """Validate a multipart upload and build the Script it describes (not yet stored), with
    what it does to the script's Durable Objects (committed when the Script is stored).

    ``keep_bindings`` types are inherited from the current version when not redefined;
    anything else not sent again is dropped (so secrets need ``keep_bindings``).
    """
    account = request.state.account(account_id)
    check_script_name(script_name)
    boundary = multipart.boundary_of(request.content_type)
    if boundary is None:
        raise ApiError(400, 10021, "Worker uploads must be multipart/form-data with a boundary")
    upload = validate_upload(multipart.parse(request.body, boundary), request.state, account_id)
    previous = request.state.find_script(account_id, script_name)
    bindings = list(upload.bindings)
    if previous is not None and upload.keep_bindings:
        names = {b["name"] for b in bindings}
        bindings += [
            copy.deepcopy(b)
            for b in previous.bindings
            if b["type"] in upload.keep_bindings and b["name"] not in names
        ]
    exported = exported_names(upload.modules, upload.main_module)
    current = {
        ns.class_name: ns for ns in request.state.durable_objects_of(account_id, script_name)
    }
    changes = apply_migrations(
        upload.metadata,
        current_tag=previous.migration_tag if previous else None,
        current=current,
        exported=exported,
        plan=account.plan,
        version_upload=version_upload,
    )
    bindings = resolve_bindings(
        bindings,
        state=request.state,
        account_id=account_id,
        script=script_name,
        changes=changes,
        exported=exported,
    )
    now = now_iso()
    script = Script(
        account_id=account_id,
        name=script_name,
        main_module=upload.main_module,
        modules=upload.modules,
        compatibility_date=upload.compatibility_date,
        compatibility_flags=upload.compatibility_flags,
        bindings=bindings,
        created_on=previous.created_on if previous else now,
        modified_on=now,
        versions=[*(previous.versions if previous else []), uuid.uuid4().hex],
        subdomain_enabled=previous.subdomain_enabled if previous else False,
        previews_enabled=previous.previews_enabled if previous else False,
        last_deployed_from="wrangler"
        if request.headers.get("user-agent", "").lower().startswith("wrangler")
        else "api",
        warnings=upload.warnings,
        migration_tag=changes.tag,
    )
    return script, changes


def upload_script(request: Request, account_id: str, script_name: str) -> Response:
    """PUT /accounts/{id}/workers/scripts/{name}: multipart ``metadata`` + module parts."""
    script, changes = _uploaded_script(request, account_id, script_name)
    activate(request, script)
    request.state.put_script(script)
    changes.commit(request.state, account_id, script_name)
    return ok(
        {**script.to_api(), "startup_time_ms": 7, "entry_point": script.main_module},
        messages=_warning_messages(script),
    )


def _warning_messages(script: Script) -> list[dict[str, Any]]:
    return [{"code": 10100, "message": f"Warning: {w}"} for w in script.warnings]


def upload_version(request: Request, account_id: str, script_name: str) -> Response:
    """POST .../scripts/{name}/versions: stage a version of an existing Worker (wrangler's
    re-deploy path); it goes live with POST .../deployments."""
    request.state.script(account_id, script_name)
    script, _ = _uploaded_script(request, account_id, script_name, version_upload=True)
    version_id = script.versions[-1]
    request.state.staged_versions[version_id] = script
    return ok(
        {
            "id": version_id,
            "number": len(script.versions),
            "startup_time_ms": 7,
            "resources": {
                "script": {"etag": script.etag, "handlers": ["fetch"]},
                "bindings": script.public_bindings(),
                "script_runtime": {
                    "compatibility_date": script.compatibility_date,
                    "compatibility_flags": script.compatibility_flags,
                    "usage_model": script.usage_model,
                },
            },
            "metadata": {
                "source": "wrangler" if script.last_deployed_from == "wrangler" else "api",
                "created_on": script.modified_on,
            },
        },
        messages=_warning_messages(script),
    )


def create_deployment(request: Request, account_id: str, script_name: str) -> Response:
    """POST .../scripts/{name}/deployments ``{"strategy": "percentage", "versions":
    [{"version_id", "percentage": 100}]}``: make a staged version live (100% only)."""
    current = request.state.script(account_id, script_name)
    body = request.json_object()
    versions = body.get("versions")
    if (
        body.get("strategy") != "percentage"
        or not isinstance(versions, list)
        or len(versions) != 1
        or not isinstance(versions[0], dict)
        or versions[0].get("percentage") != 100
    ):
        raise ApiError(400, 10021, "This fake deploys exactly one version at 100%")
    version_id = versions[0].get("version_id")
    if version_id == current.versions[-1]:
        script = current
    elif version_id in current.versions:
        raise ApiError(400, 10021, "This fake cannot roll back to an earlier version")
    else:
        script = request.state.staged_versions.get(version_id)
        if script is None or script.account_id != account_id or script.name != script_name:
            raise ApiError(404, 10218, f"Version '{version_id}' not found")
        script = copy.copy(script)
        script.versions = [*current.versions, version_id]
        script.subdomain_enabled = current.subdomain_enabled
        script.previews_enabled = current.previews_enabled
        activate(request, script)
        request.state.put_script(script)
        request.state.staged_versions.pop(version_id, None)
    return ok(_deployment(script))


def patch_script_settings(request: Request, account_id: str, script_name: str) -> Response:
    """PATCH .../scripts/{name}/script-settings (logpush, observability, tags, tail
    consumers): accepted and echoed, nothing else changes."""
    request.state.script(account_id, script_name)
    body = request.json_object()
    return ok(
        {
            "logpush": bool(body.get("logpush", False)),
            "tags": body.get("tags") or [],
            "tail_consumers": body.get("tail_consumers") or [],
            "observability": body.get("observability") or {"enabled": False},
        }
    )


def list_scripts(request: Request, account_id: str) -> Response:
    """GET /accounts/{id}/workers/scripts."""
    request.state.account(account_id)
    return ok([s.to_api() for s in request.state.scripts_in(account_id)])


def get_script_content(request: Request, account_id: str, script_name: str) -> Response:
    """GET /accounts/{id}/workers/scripts/{name}: the modules as multipart/form-data."""
    script = request.state.script(account_id, script_name)
    boundary = "fakecloudflare" + uuid.uuid4().hex
    chunks: list[bytes] = []
    for module in script.modules:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{module.name}"; '
            f'filename="{module.name}"\r\nContent-Type: {module.content_type}\r\n\r\n'.encode()
            + module.content
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return Response(
        200, b"".join(chunks), {"content-type": f"multipart/form-data; boundary={boundary}"}
    )


def delete_script(request: Request, account_id: str, script_name: str) -> Response:
    """DELETE /accounts/{id}/workers/scripts/{name}: also its domains, routes and the Durable
    Object namespaces it implements (with their storage). Refused while another Worker binds
    one of those classes, unless ``?force=true`` (the SDK's ``force`` docstring)."""
    request.state.script(account_id, script_name)
    users = bound_from_elsewhere(request.state, account_id, script_name)
    if users and request.query.get("force", "").lower() != "true":
        raise ApiError(
            400,
            10021,
            f"Cannot delete Worker '{script_name}': Worker(s) "
            f"{', '.join(users)} bind its Durable Objects (delete with force=true)",
        )
    request.state.delete_script(account_id, script_name)
    if request.workers is not None:
        request.workers.stop(account_id, script_name)
    return ok(None)


def list_durable_object_namespaces(request: Request, account_id: str) -> Response:
    """GET /accounts/{id}/workers/durable_objects/namespaces
    (``client.durable_objects.namespaces.list``)."""
    request.state.account(account_id)
    items = [
        ns.to_api()
        for ns in request.state.durable_object_namespaces.values()
        if ns.account_id == account_id
    ]
    return paginate(items, request.query, default_per_page=20, max_per_page=1000)


def get_settings(request: Request, account_id: str, script_name: str) -> Response:
    """GET .../scripts/{name}/settings: bindings (plain_text values shown, secrets never)."""
    script = request.state.script(account_id, script_name)
    return ok(
        {
            "bindings": script.public_bindings(),
            "compatibility_date": script.compatibility_date,
            "compatibility_flags": list(script.compatibility_flags),
            "logpush": False,
            "tags": [],
            "tail_consumers": [],
            "usage_model": script.usage_model,
            "observability": {"enabled": False},
        }
    )


def get_script_settings(request: Request, account_id: str, script_name: str) -> Response:
    """GET .../scripts/{name}/script-settings (``client.workers.scripts.settings.get``)."""
    request.state.script(account_id, script_name)
    return ok(
        {"logpush": False, "tags": [], "tail_consumers": [], "observability": {"enabled": False}}
    )


def get_service(request: Request, account_id: str, script_name: str) -> Response:
    """GET /accounts/{id}/workers/services/{name} (wrangler's existence check; 10090 if new)."""
    request.state.account(account_id)
    script = request.state.find_script(account_id, script_name)
    if script is None:
        raise ApiError(404, 10090, "This Worker does not exist on your account.")
    env = {
        "environment": "production",
        "created_on": script.created_on,
        "modified_on": script.modified_on,
        "script": script.to_api(),
    }
    return ok(
        {
            "id": script.name,
            "default_environment": env,
            "environments": [env],
            "created_on": script.created_on,
            "modified_on": script.modified_on,
        }
    )


def _deployment(script: Script) -> dict[str, Any]:
    return {
        "id": uuid.uuid5(uuid.NAMESPACE_URL, script.versions[-1]).hex,
        "source": script.last_deployed_from,
        "strategy": "percentage",
        "author_email": "someone@example.com",
        "created_on": script.modified_on,
        "versions": [{"version_id": script.versions[-1], "percentage": 100.0}],
    }


def list_deployments(request: Request, account_id: str, script_name: str) -> Response:
    """GET .../scripts/{name}/deployments: one deployment at 100% of the latest version."""
    script = request.state.script(account_id, script_name)
    return ok({"deployments": [_deployment(script)]})


_S = "/accounts/{account_id}/workers/scripts/{script_name}"
ROUTES = [
    Route("GET", "/accounts/{account_id}/workers/scripts", list_scripts, WORKERS_SCRIPTS_READ),
    Route("PUT", _S, upload_script, WORKERS_SCRIPTS_EDIT, mutates=True),
    Route("GET", _S, get_script_content, WORKERS_SCRIPTS_READ),
    Route("DELETE", _S, delete_script, WORKERS_SCRIPTS_EDIT, mutates=True),
    Route("GET", _S + "/settings", get_settings, WORKERS_SCRIPTS_READ),
    Route("GET", _S + "/script-settings", get_script_settings, WORKERS_SCRIPTS_READ),
    Route("GET", _S + "/deployments", list_deployments, WORKERS_SCRIPTS_READ),
    Route("POST", _S + "/deployments", create_deployment, WORKERS_SCRIPTS_EDIT, mutates=True),
    Route("POST", _S + "/versions", upload_version, WORKERS_SCRIPTS_EDIT, mutates=True),
    Route("PATCH", _S + "/script-settings", patch_script_settings, WORKERS_SCRIPTS_EDIT),
    Route(
        "GET",
        "/accounts/{account_id}/workers/services/{script_name}",
        get_service,
        WORKERS_SCRIPTS_READ,
    ),
    Route(
        "GET",
        "/accounts/{account_id}/workers/durable_objects/namespaces",
        list_durable_object_namespaces,
        WORKERS_SCRIPTS_READ,
    ),
]
