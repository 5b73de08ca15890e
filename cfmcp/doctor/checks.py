"""The checks `cfmcp doctor` runs, in the order they are shown (the most basic first)."""

from __future__ import annotations

from cfmcp.doctor import account_checks as account
from cfmcp.doctor import live_checks as live
from cfmcp.doctor import pat_checks as pat
from cfmcp.doctor import project_checks as project
from cfmcp.doctor.context import DoctorContext
from cfmcp.doctor.model import Check

CHECKS: tuple[Check[DoctorContext], ...] = (
    Check("project", "project file", project.check_project),
    Check("compatibility-date", "compatibility date", project.check_compatibility_date),
    Check("token", "Cloudflare token", account.check_token),
    Check("account", "account", account.check_account),
    Check("worker", "Worker", account.check_worker),
    Check("bundle", "deployed bundle", account.check_bundle),
    Check("secrets", "secrets", account.check_secrets),
    Check("kv", "KV namespace", account.check_kv),
    Check("durable-object", "Durable Object", account.check_exact_state),
    Check("hostname", "hostname", account.check_hostname),
    Check("issuer", "AS metadata", live.check_issuer),
    Check("resource", "resource metadata", live.check_resource),
    Check("mcp-401", "/mcp without token", live.check_unauthenticated),
    Check("ai-bots", "AI-bot block", live.check_ai_bot_block),
    Check("upstream", "upstream", live.check_upstream),
    Check("pat", "upstream PAT", pat.check_upstream_pat),
)

# `cfmcp doctor --local`: a Worker on this machine (`cfmcp dev`); no project file needed, no
# account, nothing Cloudflare puts in front of it.
LOCAL_CHECKS: tuple[Check[DoctorContext], ...] = (
    Check("dev", "local Worker", live.check_local_worker),
    Check("issuer", "AS metadata", live.check_issuer),
    Check("resource", "resource metadata", live.check_resource),
    Check("mcp-401", "/mcp without token", live.check_unauthenticated),
    Check("upstream", "upstream", live.check_upstream),
    Check("pat", "upstream PAT", pat.check_upstream_pat),
)
