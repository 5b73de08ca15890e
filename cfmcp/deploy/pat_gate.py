"""Before deploy writes anything: the PAT it is about to send must work upstream.

The PAT is tried once (cfmcp.pat.probe) after it is gathered and before the first write call:
refused (401/403) stops the deploy, and so does no conclusive answer unless `--skip-pat-check`
says the upstream cannot be reached from here. A deploy that does not send a PAT (the Worker
keeps the one it has) says that it did not check it: Cloudflare never gives a secret back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cfmcp.errors import PatRefused, PatUnchecked
from cfmcp.pat.probe import check_pat
from cfmcp.pat.verdict import (
    FORBIDDEN_MEANS,
    REPLACE_COMMAND,
    PatStatus,
    PatVerdict,
    expires_soon,
    expiry_phrase,
    iso,
)
from cfmcp.project.config import UpstreamConfig
from cfmcp.project.secrets import UPSTREAM_TOKEN_ENV

SKIP_OPTION = "--skip-pat-check"
Checker = Callable[[UpstreamConfig, str], PatVerdict]


@dataclass(frozen=True)
class PatGate:
    """What deploy did about the PAT: `checked` (accepted), `skipped` or `kept` (not sent)."""

    outcome: str
    message: str  # one line for people (plain text)
    warning: bool = False  # the PAT expires soon, or was not checked
    verdict: PatVerdict | None = None

    def to_json(self) -> dict[str, Any]:
        verdict = self.verdict
        return {
            "outcome": self.outcome,
            "message": self.message,
            "http_status": verdict.http_status if verdict else None,
            "expires_at": iso(verdict.expires_at) if verdict else None,
        }


def check_pat_before_deploy(
    upstream: UpstreamConfig,
    token: str | None,
    env: Mapping[str, str],
    *,
    skip: bool = False,
    replacing: bool = False,
    checker: Checker = check_pat,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PatGate:
    """Raise PatRefused / PatUnchecked when `token` must not be deployed; else say what was
    (or was not) checked. `token` is None when this deploy does not send the PAT."""
    if token is None:
        return _kept(env)
    if skip:
        return PatGate(
            "skipped",
            f"the PAT was not checked ({SKIP_OPTION}): if the upstream refuses it, MCP "
            "requests will fail with 502",
            warning=True,
        )
    verdict = checker(upstream, token)
    url = upstream.url
    rerun = REPLACE_COMMAND if replacing else "cfmcp deploy"
    if verdict.status in (PatStatus.refused, PatStatus.forbidden):
        why = (
            FORBIDDEN_MEANS
            if verdict.status is PatStatus.forbidden
            else "it is wrong, expired or revoked"
        )
        raise PatRefused(
            f"the upstream {url} refused the PAT ({verdict.detail}): {why}; nothing was "
            "changed on Cloudflare",
            hint=f"create a new PAT, then run `{rerun}` with it in {UPSTREAM_TOKEN_ENV} "
            "(or paste it at the prompt)",
        )
    if verdict.status is PatStatus.unchecked:
        raise PatUnchecked(
            f"could not check the PAT with {url}: {verdict.detail}; nothing was changed on "
            "Cloudflare",
            hint=f"check [upstream] url in cfmcp.toml; if the upstream cannot be reached from "
            f"this machine, re-run `{rerun} {SKIP_OPTION}`",
        )
    message = f"the upstream accepts the PAT ({verdict.detail})"
    soon = False
    if verdict.expires_at is not None:
        moment = now()
        message += "; " + expiry_phrase(verdict.expires_at, moment)
        soon = expires_soon(verdict.expires_at, moment)
        if soon:
            message += f": replace it before then with `{REPLACE_COMMAND}`"
    return PatGate("checked", message, warning=soon, verdict=verdict)


def _kept(env: Mapping[str, str]) -> PatGate:
    message = (
        "the Worker keeps the PAT it has, which was not checked (Cloudflare never gives a "
        "secret back): `cfmcp doctor` says what the upstream last answered to it"
    )
    if env.get(UPSTREAM_TOKEN_ENV, "").strip():
        message += (
            f"; {UPSTREAM_TOKEN_ENV} is set but was not sent: `{REPLACE_COMMAND}` replaces "
            "the PAT with it"
        )
    return PatGate("kept", message)
