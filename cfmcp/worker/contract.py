"""Every name the CLI and the Worker (`worker_template/`) must spell the same way.

The Worker has its own copies (it is stdlib-only and never imports cfmcp);
tests/test_worker_contract.py reads both sides and fails when one of them changes alone.
"""

from __future__ import annotations

# The module the runtime starts (worker_template/entry.py).
MAIN_MODULE = "entry.py"
PYTHON_WORKERS_FLAG = "python_workers"

# Bindings the upload sets and entry.py reads from `env`.
KV_BINDING = "OAUTH_KV"
# The SQLite-backed Durable Object that decides what must be exact (PIN attempts, single use,
# refresh rotation); see docs/STORAGE.md. Its class is defined in entry.py.
EXACT_BINDING = "EXACT_STATE"
EXACT_CLASS = "ExactState"
EXACT_MIGRATION_TAG = "cfmcp-exact-v1"  # the one migration: new_sqlite_classes = [EXACT_CLASS]
SECRET_NAMES = ("UPSTREAM_TOKEN", "AUTH_PIN", "SIGNING_KEY")
# A plain_text binding holding the bundle's SHA-256: it marks a Worker cfmcp deployed
# (cfmcp.account.ours) and the Worker echoes it in BUNDLE_HEADER.
BUNDLE_HASH_VAR = "CFMCP_BUNDLE_SHA256"

# The response header naming the bundle that answers (on the metadata responses).
BUNDLE_HEADER = "Cfmcp-Bundle"

# Well-known paths the Worker serves (the smoke checks and doctor read them).
AS_METADATA_PATH = "/.well-known/oauth-authorization-server"
RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource/mcp"

# KV keys of worker_template/cfmcp_worker/tokens.py that `cfmcp clients` reads and writes.
GRANT_PREFIX = "grant:"  # grant:<id> holds the Grant JSON
# revoked:<id> is the grant's status, read by every /mcp request and refresh: "1" revoked,
# NARROWED_PREFIX + <policy> narrowed to that policy (`cfmcp clients set-policy`).
REVOKED_PREFIX = "revoked:"
NARROWED_PREFIX = "policy:"
# What the upstream last said of the PAT (worker_template/cfmcp_worker/pat_watch.py), written
# by the Worker when it changes, read by `cfmcp doctor`: JSON {status, http_status, seen_at,
# expires}, never the PAT; and the upstream header naming the PAT's expiry (GitHub's).
PAT_STATUS_KEY = "upstream:pat"
PAT_EXPIRATION_HEADER = "github-authentication-token-expiration"
# What an upstream status says of the PAT: 2xx accepted, these refused (fail) or forbidden (403
# is also GitHub's rate limit, SSO or missing permission: warn); any other proves nothing.
PAT_REFUSED_STATUSES = (401,)
PAT_FORBIDDEN_STATUSES = (403,)
# A connection's policy as an OAuth scope: mcp:<policy> (worker_template/cfmcp_worker/policy.py).
POLICY_SCOPE_PREFIX = "mcp:"
BUILT_IN_POLICIES = ("full", "read-only")

# The Worker's log lines (worker_template/cfmcp_worker/log_lines.py): one JSON object per
# line, marked LOG_MARKER: <kind>; `cfmcp dev` and `cfmcp logs` read them back.
LOG_MARKER = "cfmcp"
LOG_REQUEST = "request"
LOG_TOOL_CALL = "tools/call"
LOG_NOTE = "note"
LOG_ERROR = "error"
LOG_KINDS = (LOG_REQUEST, LOG_TOOL_CALL, LOG_NOTE, LOG_ERROR)
LOG_FIELDS = {
    LOG_REQUEST: (
        "method",
        "path",
        "status",
        "ms",
        "headers_ms",
        "client",
        "grant",
        "policy",
        "mcp_method",
        "tool",
    ),
    LOG_TOOL_CALL: ("grant", "client", "tool", "policy", "decision", "status", "headers_ms"),
    LOG_NOTE: ("message",),
    LOG_ERROR: ("type", "where"),
}
LOG_DENIED = "denied"  # a tools/call line's decision when the policy refused the call
LOG_GRANT_SHOWN = 8  # characters of the grant id a line shows (a `cfmcp clients` prefix)
