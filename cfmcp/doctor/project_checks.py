"""Checks of the project file: it loads, and its compatibility date works on Cloudflare."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from cfmcp.doctor.context import DoctorContext
from cfmcp.doctor.model import INIT, CheckResult, fail, ok, warn
from cfmcp.errors import CfmcpError

# From this date the runtime stops providing the `workers` module (enable_python_external_sdk);
# the bundle does not vendor workers-runtime-sdk, so the Worker could not import it.
EXTERNAL_SDK_DATE = date(2026, 4, 21)


def check_project(ctx: DoctorContext) -> CheckResult:
    path = ctx.options.config_path
    try:
        config = ctx.load_project()
    except CfmcpError as exc:
        return fail(exc.message, exc.hint or f"fix {path}, or re-create it", INIT)
    return ok(f"{path} is valid (Worker {config.name!r}, {config.hostname.mode})")


def check_compatibility_date(
    ctx: DoctorContext, today: Callable[[], date] = lambda: datetime.now(UTC).date()
) -> CheckResult:
    value = ctx.config().compatibility_date
    try:
        chosen = date.fromisoformat(value)
    except ValueError:
        return fail(
            f"compatibility_date {value!r} is not a date", "use YYYY-MM-DD, e.g. 2026-03-01", INIT
        )
    if chosen > today():
        return fail(
            f"compatibility_date {value} is in the future: Cloudflare refuses the upload",
            "set compatibility_date in cfmcp.toml to 2026-03-01 (or today at the latest)",
        )
    if chosen >= EXTERNAL_SDK_DATE:
        return warn(
            f"compatibility_date {value} is from {EXTERNAL_SDK_DATE} or later: the "
            "runtime no longer provides the `workers` module and the bundle does not "
            "vendor workers-runtime-sdk",
            'set compatibility_date = "2026-03-01" in cfmcp.toml, then `cfmcp deploy`',
        )
    return ok(f"compatibility_date {value} (runtime provides the `workers` module)")
