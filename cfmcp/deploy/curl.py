"""`cfmcp deploy --dry-run --format curl`: the plan as the equivalent shell commands.

Each step becomes an `ApiRequest` (method, path, JSON body or multipart parts), built from the
same functions the executor uses (`upload_manifest`), then printed as curl. Secrets are never
printed: they appear as `$UPSTREAM_TOKEN`, `$AUTH_PIN`, `$SIGNING_KEY` and are inserted with
`jq --arg`, so any value is JSON-escaped correctly. A plan that sends the PAT first tries it
upstream, as `cfmcp deploy` does, and the script stops there when it is not accepted.
tests/test_deploy_curl.py runs this output against the fake Cloudflare API.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from cfmcp.deploy.executor import upload_manifest
from cfmcp.deploy.models import (
    AttachDomain,
    ClearPatRecord,
    CreateKvNamespace,
    CreateRoute,
    EnableWorkersDev,
    Plan,
    PutSecret,
    Ref,
    Step,
    UploadScript,
    Value,
)
from cfmcp.pat.verdict import FORBIDDEN_MEANS
from cfmcp.project.config import ProjectConfig, UpstreamConfig
from cfmcp.transport import INITIALIZE_REQUEST, LEGACY_SSE
from cfmcp.worker.contract import (
    BUNDLE_HASH_VAR,
    EXACT_BINDING,
    EXACT_MIGRATION_TAG,
    PAT_FORBIDDEN_STATUSES,
    PAT_REFUSED_STATUSES,
)

_MARK = "@@cfmcp-var:"
BUNDLE_VAR = "BUNDLE_SHA256"
ACCOUNT_VAR = "$ACCOUNT_ID"


@dataclass(frozen=True)
class ApiRequest:
    """One REST call, as the executor's gateway call sends it."""

    method: str
    path: str  # relative to the API base, e.g. /accounts/{id}/workers/scripts/{name}
    json: Any = None
    modules: tuple[str, ...] = ()  # multipart module parts (upload only)
    output: str = ""  # shell variable that receives .result.id


def _var(name: str) -> str:
    return f"{_MARK}{name}"


def _resolve(value: Value) -> str:
    return _var(value.name.upper()) if isinstance(value, Ref) else value


def request_for(step: Step, account_id: str) -> ApiRequest:
    """The REST call that carries out `step` (variables marked, not resolved)."""
    scripts = f"/accounts/{account_id}/workers/scripts"
    if isinstance(step, CreateKvNamespace):
        return ApiRequest(
            "POST",
            f"/accounts/{account_id}/storage/kv/namespaces",
            {"title": step.title},
            output=step.output.name.upper(),
        )
    if isinstance(step, UploadScript):

        def resolve(value: Value) -> str:
            return _var(BUNDLE_VAR) if value == step.bundle_sha256 else _resolve(value)

        return ApiRequest(
            "PUT",
            f"{scripts}/{step.script}",
            upload_manifest(step, resolve, _var),
            modules=step.modules,
        )
    if isinstance(step, PutSecret):
        return ApiRequest(
            "PUT",
            f"{scripts}/{step.script}/secrets",
            {"name": step.secret_name, "text": _var(step.secret_name), "type": "secret_text"},
        )
    if isinstance(step, ClearPatRecord):
        return ApiRequest(
            "DELETE",
            f"/accounts/{account_id}/storage/kv/namespaces/{step.namespace_id}/values/{step.key}",
        )
    if isinstance(step, EnableWorkersDev):
        return ApiRequest("POST", f"{scripts}/{step.script}/subdomain", {"enabled": True})
    if isinstance(step, AttachDomain):
        return ApiRequest(
            "PUT",
            f"/accounts/{account_id}/workers/domains",
            {"hostname": step.hostname, "service": step.script, "zone_id": step.zone_id},
        )
    if isinstance(step, CreateRoute):
        return ApiRequest(
            "POST",
            f"/zones/{step.zone_id}/workers/routes",
            {"pattern": step.pattern, "script": step.script},
        )
    raise TypeError(f"unknown step {step!r}")


def _lookups(config: ProjectConfig) -> list[tuple[str, ApiRequest]]:
    account, name = ACCOUNT_VAR, config.name
    reads = [
        ("the token is active", ApiRequest("GET", "/user/tokens/verify")),
        (
            f"the Worker's settings and bindings (404: no Worker {name} yet; "
            f"{BUNDLE_HASH_VAR} = deployed hash; secret_text = secrets set)",
            ApiRequest("GET", f"/accounts/{account}/workers/scripts/{name}/settings"),
        ),
        (
            f"only when the Worker exists without the {EXACT_BINDING} binding: its Durable Object "
            f"migration tag (migration_tag of id {name}; {EXACT_MIGRATION_TAG} = applied)",
            ApiRequest("GET", f"/accounts/{account}/workers/scripts"),
        ),
        (
            f"KV namespaces (look for the title {config.kv_namespace_title})",
            ApiRequest("GET", f"/accounts/{account}/storage/kv/namespaces?per_page=100"),
        ),
    ]
    host = config.hostname
    if host.mode == "workers_dev":
        reads.append(
            (
                "the account's workers.dev subdomain (public URL: "
                f"https://{name}.<subdomain>.workers.dev)",
                ApiRequest("GET", f"/accounts/{account}/workers/subdomain"),
            )
        )
    elif host.mode == "custom_domain":
        reads.append(
            (
                f"whether {host.domain} is attached already",
                ApiRequest("GET", f"/accounts/{account}/workers/domains?hostname={host.domain}"),
            )
        )
    if host.mode in ("custom_domain", "route") and host.zone:
        reads.append(
            (
                f"the zone id of {host.zone}",
                ApiRequest("GET", f"/zones?name={host.zone}&account.id={account}"),
            )
        )
    return reads


def _quote_json(payload: Any) -> tuple[str, list[str]]:
    """JSON for a jq filter with marked variables replaced by `$jq` references."""
    text = json.dumps(payload, separators=(",", ":"))
    used: list[str] = []
    while _MARK in text:
        start = text.index('"' + _MARK)
        end = text.index('"', start + 1)
        name = text[start + 1 + len(_MARK) : end]
        if name not in used:
            used.append(name)
        text = text[:start] + "$" + name.lower() + text[end + 1 :]
    return text, used


def _jq(payload: Any) -> str | None:
    text, used = _quote_json(payload)
    if not used:
        return None
    args = " ".join(f'--arg {n.lower()} "${n}"' for n in used)
    return f"jq -n {args} {shlex.quote(text)}"


def _curl(request: ApiRequest) -> list[str]:
    url = f'"$API{request.path}"'
    auth = '-H "Authorization: Bearer $CLOUDFLARE_API_TOKEN"'
    if request.method == "GET":
        return [f"curl -sS {url} {auth}"]
    if request.json is None and not request.modules:
        return [f"curl -sS -X {request.method} {url} {auth}"]
    if request.modules:
        jq = _jq(request.json)
        body = jq if jq else f"echo {shlex.quote(json.dumps(request.json))}"
        return [
            f"{body} > metadata.json",
            "FILES=(); for m in $MODULES; do "
            'FILES+=(-F "files=@$m;filename=$m;type=text/x-python"); done',
            f"curl -sS -X {request.method} {url} {auth} \\",
            '  -F "metadata=<metadata.json;type=application/json" "${FILES[@]}"',
            "rm metadata.json  # it holds secrets",
        ]
    jq = _jq(request.json)
    data = f'"$({jq})"' if jq else shlex.quote(json.dumps(request.json, separators=(",", ":")))
    call = (
        f"curl -sS -X {request.method} {url} {auth} \\\n"
        f'  -H "Content-Type: application/json" --data {data}'
    )
    if request.output:
        return [f"{request.output}=$({call} | jq -r .result.id)", f'echo "${request.output}"']
    return [call]


PAT_CHECK_SECONDS = 10  # --max-time of the PAT check
SSE_CHECK_SECONDS = 5  # the SSE stream never ends: --max-time stops it once the status is in


def _header_lines(upstream: UpstreamConfig) -> str:
    """The upstream headers the Worker sends, as a `printf` that curl reads on stdin (`-H @-`):
    the PAT never appears on a command line (`ps` shows those). printf is bash's builtin."""
    lines = [shlex.quote(f"{name}: {value}") for name, value in upstream.extra_headers.items()]
    before, _, after = f"{upstream.auth_header}: {upstream.auth_format}".partition("{token}")
    lines.append(shlex.quote(before) + '"$UPSTREAM_TOKEN"' + (shlex.quote(after) if after else ""))
    return "printf '%s\\n' " + " ".join(lines)


def _status_case() -> list[str]:
    """The verdict on the status, from the sets `cfmcp deploy` and the Worker use."""
    refused = "|".join(str(code) for code in PAT_REFUSED_STATUSES)
    forbidden = "|".join(str(code) for code in PAT_FORBIDDEN_STATUSES)
    return [
        'case "$PAT_STATUS" in',
        '  2??) echo "the upstream accepts the PAT" ;;',
        f'  {refused}) echo "the upstream refused the PAT (HTTP $PAT_STATUS)" >&2; exit 1 ;;',
        f'  {forbidden}) echo "the upstream refused the PAT (HTTP $PAT_STATUS: {FORBIDDEN_MEANS})"'
        " >&2; exit 1 ;;",
        '  *) echo "could not check the PAT (HTTP $PAT_STATUS)" >&2; exit 1 ;;',
        "esac",
    ]


def _pat_check(upstream: UpstreamConfig) -> list[str]:
    """`cfmcp deploy`'s PAT check (cfmcp.pat.probe) as a shell step that stops the script."""
    url = shlex.quote(upstream.url)
    seconds = PAT_CHECK_SECONDS
    if upstream.transport == LEGACY_SSE:  # the stream never ends: its status line is enough
        seconds = SSE_CHECK_SECONDS
        request = f"-H 'Accept: text/event-stream' {url}"
    else:
        initialize = shlex.quote(json.dumps(INITIALIZE_REQUEST, separators=(",", ":")))
        request = (
            f"-X POST {url} \\\n  -H 'Accept: application/json, text/event-stream' "
            f"-H 'Content-Type: application/json' --data {initialize}"
        )
    return [
        "## Before any write: the upstream must accept the PAT (as `cfmcp deploy` checks it)",
        "# 2xx: accepted; 401/403: refused (get a new PAT); anything else proves nothing.",
        "# The headers go to curl on stdin (-H @-), so the PAT is on no command line.",
        "# Skip this only when the upstream cannot be reached from this machine.",
        f"PAT_STATUS=$({_header_lines(upstream)} | curl -sS -o /dev/null -w '%{{http_code}}' "
        f"--max-time {seconds} -H @- {request} || true)",
        *_status_case(),
        "",
    ]


def format_curl(plan: Plan, config: ProjectConfig) -> str:
    """The whole plan as a bash script (secrets as variables, nothing resolved)."""
    upload = next((s for s in plan.steps if isinstance(s, UploadScript)), None)
    out = [
        "# cfmcp deploy, as curl commands (dry run: nothing was sent). Needs bash, curl, jq.",
        "# Secrets are read from these variables and never printed:",
        "#   CLOUDFLARE_API_TOKEN  Workers Scripts: Edit + Workers KV Storage: Edit (Account)"
        + (
            "; Workers Routes: Edit + Zone: Read (Zone)"
            if config.hostname.mode != "workers_dev"
            else ""
        ),
        "#   UPSTREAM_TOKEN        the upstream MCP server's PAT",
        "#   AUTH_PIN              the PIN users type on the consent page",
        "#   SIGNING_KEY           e.g. $(openssl rand -base64 32)",
        'API="${CLOUDFLARE_API_BASE_URL:-https://api.cloudflare.com/client/v4}"',
        f'ACCOUNT_ID="{config.account_id}"',
    ]
    if upload is not None:
        out += [
            "# The bundle: run this in the folder written by "
            f"`cfmcp render --out worker --public-url {plan.public_url}`",
            f'{BUNDLE_VAR}="{upload.bundle_sha256}"',
            f'MODULES="{" ".join(upload.modules)}"',
        ]
    out += ["", "## What deploy reads first"]
    for why, request in _lookups(config):
        out += [f"# {why}", *_curl(request), ""]
    if "UPSTREAM_TOKEN" in plan.secret_names:
        out += _pat_check(config.upstream)
    out.append("## Steps for this account" if plan.steps else "## Nothing to do")
    for line in plan.unchanged:
        out.append(f"# = {line}")
    for number, step in enumerate(plan.steps, 1):
        out += [
            "",
            f"# {number}. {step.describe()}",
            *_curl(request_for(step, ACCOUNT_VAR)),
        ]
    if plan.public_url:
        out += [
            "",
            f"# Then check {plan.public_url}/.well-known/oauth-authorization-server "
            f"(issuer must be {plan.public_url}).",
        ]
    return "\n".join(out) + "\n"
