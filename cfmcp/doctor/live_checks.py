"""Live HTTP checks: the deployed Worker as clients see it, and the upstream from here.

The Worker checks go through `cfmcp.smoke.SmokeTester` (the same checks deploy runs after an
upload, without its waiting), so `--smoke-via ORIGIN` / CFMCP_SMOKE_VIA works the same way: the
requests go to ORIGIN while every value is compared with the public URL.

The AI-bot check repeats the unauthenticated `/mcp` request with claude.ai's User-Agent
`Claude-User`. Cloudflare's "Block AI bots" zone setting (or a WAF rule) answers it with a 403
block page before it reaches the Worker, which claude.ai reports only as a failed connection.
"""

from __future__ import annotations

import httpx

from cfmcp.doctor.context import DoctorContext
from cfmcp.doctor.model import DEPLOY, DEV, CheckResult, fail, ok, skip, warn
from cfmcp.transport import probe_transport
from cfmcp.worker.smoke import SmokeCheck

CLAUDE_USER_AGENT = "Claude-User"
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
MCP_ACCEPT = "application/json, text/event-stream"


LOCAL_HINT = "this is not the Worker `cfmcp dev` serves, or an old one: restart `cfmcp dev`"


def _from_smoke(ctx: DoctorContext, check: SmokeCheck, hint: str) -> CheckResult:
    """A smoke check as a result; for a local Worker the fix is `cfmcp dev`, never deploy."""
    if check.ok:
        return ok(check.detail)
    if ctx.local:
        return fail(check.detail, LOCAL_HINT, DEV)
    return fail(check.detail, hint, DEPLOY)


def check_issuer(ctx: DoctorContext) -> CheckResult:
    return _from_smoke(
        ctx,
        ctx.smoke().check_issuer(),
        "the Worker does not answer as deployed from this config (a new "
        "workers.dev route or certificate can take a few minutes)",
    )


def check_resource(ctx: DoctorContext) -> CheckResult:
    return _from_smoke(
        ctx,
        ctx.smoke().check_resource(),
        "claude.ai needs RFC 9728 protected resource metadata: re-deploy",
    )


def check_unauthenticated(ctx: DoctorContext) -> CheckResult:
    return _from_smoke(
        ctx,
        ctx.smoke().check_unauthenticated(),
        "a 403 or an HTML page here means something in front of the Worker "
        "(WAF rule, bot protection, Cloudflare Access) blocks MCP clients",
    )


def check_local_worker(ctx: DoctorContext) -> CheckResult:
    """Which local Worker answers (doctor stopped before the checks if none does)."""
    target = ctx.local_target()
    record = target.record
    if record is None:
        return ok(f"a Worker answers at {target.origin} (not started by `cfmcp dev` here)")
    what = "cfmcp dev --demo" if record.demo else "cfmcp dev"
    return ok(
        f"`{what}` ({record.runtime}) answers at {target.origin}, in front of "
        f"{record.upstream_url} ({record.upstream_transport})"
    )


def _looks_like_block(response: httpx.Response) -> bool:
    """Cloudflare's block / challenge pages: no Bearer challenge, HTML or `cf-mitigated`."""
    content_type = response.headers.get("content-type", "")
    return (
        "cf-mitigated" in response.headers
        or "text/html" in content_type
        or "www-authenticate" not in response.headers
    )


def _fix(host: str) -> str:
    return (
        f'Cloudflare dashboard → the zone of {host} → Security → Bots → "Block AI bots" '
        f"→ off (or allow), or add a WAF skip rule for hostname {host}; then re-run "
        "`cfmcp doctor`"
    )


def check_ai_bot_block(ctx: DoctorContext) -> CheckResult:
    tester = ctx.smoke()
    host = httpx.URL(tester.public_url).host
    setting = ctx.ai_bots_protection()  # None unless a zone's setting could be read
    zone_blocks = setting == "block"
    zone_note = '; the zone\'s "Block AI bots" setting is on' if zone_blocks else ""
    try:
        response = ctx.http.post(
            tester.origin + "/mcp",
            json=PING,
            headers={"User-Agent": CLAUDE_USER_AGENT, "Accept": MCP_ACCEPT},
        )
    except httpx.HTTPError as exc:
        if zone_blocks:
            return fail(
                f'the zone\'s "Block AI bots" setting is on: Cloudflare answers '
                f"claude.ai ({CLAUDE_USER_AGENT}) with 403",
                _fix(host),
            )
        return skip(
            f"POST /mcp as {CLAUDE_USER_AGENT} got no answer ({type(exc).__name__})",
            "see the /mcp and metadata checks",
        )
    challenge = response.headers.get("www-authenticate", "")
    if response.status_code == 401 and "resource_metadata" in challenge:
        reached = f"User-Agent {CLAUDE_USER_AGENT} reaches the Worker (401 with resource_metadata)"
        if not zone_blocks:
            return ok(reached)
        if tester.origin != tester.public_url:
            return fail(
                f'the zone\'s "Block AI bots" setting is on (this probe went to '
                f"{tester.origin}, not through Cloudflare)",
                _fix(host),
            )
        return warn(
            reached + zone_note + " (a skip rule lets it through?)",
            "keep the WAF skip rule for this hostname",
        )
    if response.status_code == 403 and _looks_like_block(response):
        mitigated = response.headers.get("cf-mitigated")
        how = f"cf-mitigated: {mitigated}" if mitigated else "no WWW-Authenticate"
        return fail(
            f"POST /mcp as {CLAUDE_USER_AGENT} (claude.ai) is blocked before the Worker: 403 "
            f'({how}); Cloudflare\'s "Block AI bots" setting or a WAF rule blocks claude.ai'
            + zone_note,
            _fix(host),
        )
    return fail(
        f"POST /mcp as {CLAUDE_USER_AGENT} gave {response.status_code} "
        f"(WWW-Authenticate: {challenge or 'none'}), expected 401 with resource_metadata",
        "something between claude.ai and the Worker changes its answer",
    )


def check_upstream(ctx: DoctorContext) -> CheckResult:
    upstream = ctx.upstream_config()
    url = upstream.url
    try:
        response = ctx.http.post(url, json=PING, headers={"Accept": MCP_ACCEPT})
    except httpx.HTTPError as exc:
        return warn(
            f"{url} is not reachable from this machine ({type(exc).__name__})",
            "Cloudflare's network may still reach it; check the URL in cfmcp.toml",
        )
    spoken = probe_transport(ctx.http, url)
    if spoken is not None and spoken != upstream.transport:
        then = "restart `cfmcp dev`" if ctx.local else "`cfmcp deploy`"
        return warn(
            f"{url} speaks the {spoken} transport, the Worker is set for {upstream.transport}",
            f'set `transport = "{spoken}"` under [upstream] in cfmcp.toml, then {then}',
        )
    return ok(
        f"{url} answers ({response.status_code} without credentials; transport "
        f"{spoken or upstream.transport + ' (as configured)'})"
    )
