"""Is the upstream PAT accepted, and when does it expire?

Cloudflare never gives a secret back, so doctor cannot try the deployed PAT itself. It uses:
1. CFMCP_UPSTREAM_TOKEN, when set: that PAT is tried from here with cfmcp.toml's upstream, and
   never with one .cfmcp/dev.json names (it may not be the one deployed; the result says so);
2. else the Worker's own record (KV `upstream:pat`): the last refusal or expiry the upstream
   gave it, read through the Cloudflare API (or `cfmcp dev`'s state file with --local);
   `cfmcp deploy` deletes it when it sets a new PAT, so a record is about the current one;
3. and the expiry and date `cfmcp deploy` recorded in .cfmcp/state.json when it set the PAT.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from cfmcp.doctor.context import DoctorContext
from cfmcp.doctor.model import CheckResult, fail, ok, skip, warn
from cfmcp.pat.probe import check_pat
from cfmcp.pat.record import PatRecord
from cfmcp.pat.verdict import (
    FORBIDDEN_MEANS,
    REPLACE_COMMAND,
    PatStatus,
    expires_soon,
    expiry_phrase,
    parse_expiration,
)
from cfmcp.project.secrets import UPSTREAM_TOKEN_ENV

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "an unknown time"


def check_upstream_pat(ctx: DoctorContext, now: Clock = _now) -> CheckResult:
    token = ctx.env.get(UPSTREAM_TOKEN_ENV, "").strip()
    if token:
        return _try_token(ctx, token, now())
    record = ctx.local_target().record if ctx.local else None
    if record is not None and record.demo:
        return ok("the demo upstream takes the PAT `cfmcp dev --demo` made for it this run")
    return _from_records(ctx, now())


def _replace(ctx: DoctorContext) -> str:
    """How to put a new PAT in place: a deployed Worker's, or `cfmcp dev`'s (never deploy)."""
    if ctx.local:
        return f"restart `cfmcp dev` with a new PAT in {UPSTREAM_TOKEN_ENV}"
    return f"replace it with `{REPLACE_COMMAND}` ({UPSTREAM_TOKEN_ENV} or a hidden prompt)"


def _fix_command(ctx: DoctorContext) -> str:
    return "" if ctx.local else REPLACE_COMMAND


def _try_token(ctx: DoctorContext, token: str, moment: datetime) -> CheckResult:
    upstream = ctx.pat_upstream()  # Skip when only .cfmcp/dev.json names one
    verdict = check_pat(upstream, token, http=ctx.http)
    source = f"the PAT in {UPSTREAM_TOKEN_ENV}"
    if verdict.status is PatStatus.refused:
        return fail(
            f"{upstream.url} refuses {source} ({verdict.detail})",
            f"create a new PAT, then {_replace(ctx)}",
            _fix_command(ctx),
        )
    if verdict.status is PatStatus.forbidden:
        return warn(
            f"{upstream.url} answers 403 to {source} ({verdict.detail}): {FORBIDDEN_MEANS}",
            f"if it lasts, check the PAT's permissions and SSO; else create a new PAT, then "
            f"{_replace(ctx)}",
        )
    if verdict.status is PatStatus.unchecked:
        return warn(f"could not check {source} with {upstream.url}: {verdict.detail}")
    reason = f"{upstream.url} accepts {source} ({verdict.detail})"
    if not ctx.local:
        reason += "; the deployed PAT may be another one"
    return _with_expiry(ctx, reason, verdict.expires_at, moment)


def _with_expiry(
    ctx: DoctorContext, reason: str, expires_at: datetime | None, moment: datetime
) -> CheckResult:
    if expires_at is None:
        return ok(reason)
    reason += "; " + expiry_phrase(expires_at, moment)
    if expires_at <= moment:
        return fail(reason, f"create a new PAT, then {_replace(ctx)}", _fix_command(ctx))
    if expires_soon(expires_at, moment):
        return warn(reason, f"before then, create a new PAT and {_replace(ctx)}", _fix_command(ctx))
    return ok(reason)


def _from_records(ctx: DoctorContext, moment: datetime) -> CheckResult:
    record = ctx.pat_record()  # Skip when it cannot be read
    state = ctx.state() if not ctx.local else None
    set_at = parse_expiration(state.pat_set_at) if state and state.pat_set_at else None
    if record is not None and record.refused:
        return _refused(ctx, record)
    if record is not None and record.forbidden:
        return _forbidden(ctx, record)
    recorded_expiry = record.expires_at if record is not None else None
    if recorded_expiry is None and state is not None and state.pat_expires_at:
        recorded_expiry = parse_expiration(state.pat_expires_at)
    if record is not None:
        reason = f"the Worker last saw the upstream accept the PAT ({_when(record.seen_at)})"
    elif set_at is not None and state is not None and state.pat_checked:
        reason = (
            f"the upstream accepted the PAT when `cfmcp deploy` set it ({_when(set_at)}); the "
            "Worker has recorded no refusal since"
        )
    else:
        if recorded_expiry is None:
            return skip(
                "not checked: the Worker has recorded no refusal of its PAT (Cloudflare never "
                "gives a secret back)",
                f"set {UPSTREAM_TOKEN_ENV} to try a PAT from here",
            )
        reason = "the Worker has recorded no refusal of its PAT"
    return _with_expiry(ctx, reason, recorded_expiry, moment)


def _refused(ctx: DoctorContext, record: PatRecord) -> CheckResult:
    status = f"HTTP {record.http_status}" if record.http_status else "refused"
    return fail(
        f"the upstream refused the PAT at {_when(record.seen_at)} ({status}): MCP requests "
        "fail with 502 until it is replaced",
        f"create a new PAT, then {_replace(ctx)}",
        _fix_command(ctx),
    )


def _forbidden(ctx: DoctorContext, record: PatRecord) -> CheckResult:
    return warn(
        f"the upstream answered 403 to the PAT at {_when(record.seen_at)} and has not accepted "
        f"it since: {FORBIDDEN_MEANS}",
        f"if MCP requests keep failing, check the PAT's permissions and SSO, or create a new "
        f"PAT, then {_replace(ctx)}",
    )
