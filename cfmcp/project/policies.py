"""Per-connection policies as `cfmcp.toml` states them: `[policies.<name>]` and `[consent]`.

The Worker enforces them (`worker_template/cfmcp_worker/policy.py` holds the rules); this
module checks what the owner wrote, so a typo fails `cfmcp deploy` rather than a connection.

    [consent]
    default_policy = "full"                          # preselected on the consent page
    client_policies = { "claude.ai" = "read-only" }  # per client kind (redirect URI host,
                                                     # "loopback" for local apps)
    [policies.read-only]                             # redefines the built-in
    read_only = true                                 # only tools annotated readOnlyHint: true
    headers = { "X-MCP-Readonly" = "true" }          # sent upstream for these connections
    [policies.issues]
    allow = ["*_issue", "list_*"]                    # names or globs; none = every tool
    deny = ["delete_*"]                              # wins over allow
    step_up = true                                   # refused calls answer 403 insufficient_scope
    description = "Issues only"                      # what the consent page says
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

from cfmcp.errors import NotNarrower, ProjectFileError, UnknownPolicy
from cfmcp.worker.contract import BUILT_IN_POLICIES

BUILT_IN = BUILT_IN_POLICIES  # full, read-only: what the Worker defines whatever the file says
FULL, READ_ONLY = BUILT_IN
RULE_TYPES: dict[str, type] = {
    "allow": list,
    "deny": list,
    "read_only": bool,
    "headers": dict,
    "step_up": bool,
    "description": str,
}
_POLICY_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_CLIENT_KIND = re.compile(r"^(loopback|[a-z0-9.-]+|[a-z][a-z0-9+.-]*:)$")
# Headers a policy may not set: credentials, framing, routing, and the MCP headers the Worker
# checks against the body.
_RESERVED_HEADERS = frozenset(
    {"authorization", "cookie", "host", "content-length", "transfer-encoding", "connection"}
)
# GitHub's MCP server: read-only mode per request (github/github-mcp-server, remote server docs).
GITHUB_POLICIES: dict[str, dict[str, Any]] = {
    READ_ONLY: {"read_only": True, "headers": {"X-MCP-Readonly": "true"}}
}
GITHUB_CLIENT_POLICIES = {"claude.ai": READ_ONLY, "claude.com": READ_ONLY, "chatgpt.com": READ_ONLY}


@dataclass
class ConsentConfig:
    """What the consent page preselects: a default, and one per kind of client."""

    default_policy: str = FULL
    client_policies: dict[str, str] = field(default_factory=dict)


def validate_policies(
    policies: dict[str, Any], consent: ConsentConfig, upstream_auth_header: str
) -> None:
    """Raise ProjectFileError naming the first invalid policy value."""
    if not isinstance(policies, dict):
        raise ProjectFileError("[policies] must be a table of policies")
    for name, rules in policies.items():
        _validate_policy(name, rules, upstream_auth_header)
    known = set(BUILT_IN) | set(policies)
    if consent.default_policy not in known:
        raise ProjectFileError(
            f"consent.default_policy names no policy: {consent.default_policy!r}",
            hint=f"known policies: {', '.join(sorted(known))}",
        )
    for kind, name in consent.client_policies.items():
        if not _CLIENT_KIND.match(kind):
            raise ProjectFileError(
                f"invalid client kind {kind!r} in consent.client_policies",
                hint='use a redirect host such as "claude.ai", "loopback", or a scheme "cursor:"',
            )
        if name not in known:
            raise ProjectFileError(
                f"consent.client_policies[{kind!r}] names no policy: {name!r}",
                hint=f"known policies: {', '.join(sorted(known))}",
            )


def _validate_policy(name: str, rules: Any, upstream_auth_header: str) -> None:
    where = f"[policies.{name}]"
    if not _POLICY_NAME.match(name):
        raise ProjectFileError(
            f"invalid policy name {name!r}",
            hint="use 1-32 lower-case letters, digits and dashes",
        )
    if not isinstance(rules, dict):
        raise ProjectFileError(f"{where} must be a table")
    unknown = set(rules) - set(RULE_TYPES)
    if unknown:
        raise ProjectFileError(
            f"unknown key(s) in {where}: {', '.join(sorted(unknown))}",
            hint=f"allowed: {', '.join(sorted(RULE_TYPES))}",
        )
    for key, value in rules.items():
        if not isinstance(value, RULE_TYPES[key]):
            raise ProjectFileError(f"{where} {key} must be a {RULE_TYPES[key].__name__}")
    for key in ("allow", "deny"):
        if not all(isinstance(p, str) and p.strip() for p in rules.get(key, [])):
            raise ProjectFileError(f"{where} {key} must list tool names or globs")
    if name == FULL and any(k in rules for k in ("allow", "deny", "read_only")):
        raise ProjectFileError(
            f"{where} cannot restrict tools: `full` is every tool",
            hint="define a policy of another name",
        )
    if "allow" in rules and not rules["allow"]:
        raise ProjectFileError(f"{where} allow is empty (it would allow no tool)")
    reserved = _RESERVED_HEADERS | {upstream_auth_header.lower()}
    for header, value in rules.get("headers", {}).items():
        lowered = header.lower()
        if not _HEADER_NAME.match(header) or lowered in reserved or lowered.startswith("mcp-"):
            raise ProjectFileError(f"{where} cannot set the header {header!r}")
        if not isinstance(value, str) or any(ch in value for ch in "\r\n\0"):
            raise ProjectFileError(f"{where} header {header!r} needs a one-line text value")


def policy_names(policies: dict[str, Any]) -> list[str]:
    """Every policy a deployment offers, in the order the consent page shows them."""
    return [*BUILT_IN, *(name for name in policies if name not in BUILT_IN)]


@cache
def worker_rules() -> ModuleType:
    """The Worker's own policy module (`cfmcp_worker/policy.py` in the template), so the CLI
    decides "is this narrower" by the very rule the Worker applies at refresh."""
    from cfmcp.worker.render import template_dir

    path = template_dir() / "cfmcp_worker" / "policy.py"
    spec = importlib.util.spec_from_file_location("cfmcp_worker_policy_rules", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def narrowed_scope(config: Any, scope: str, policy: str) -> str:
    """The scope of a grant of `scope` narrowed to `policy`, by the Worker's rule; UnknownPolicy
    or NotNarrower when it is unknown or would widen the grant."""
    known = policy_names(config.policies)
    if policy not in known:
        raise UnknownPolicy(f"no policy {policy!r}", hint=f"known policies: {', '.join(known)}")
    rules = worker_rules().Policies(config.policies)
    narrowed = rules.narrowed_scope(scope, policy)
    if narrowed is None:
        current = rules.of_scope(scope)
        raise NotNarrower(
            f"{policy!r} is not narrower than the connection's policy "
            f"{current.name if current else scope!r}",
            hint="widening needs the PIN: reconnect from the client and choose on the consent page",
        )
    return narrowed
