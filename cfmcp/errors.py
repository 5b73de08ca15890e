"""Every error cfmcp shows a user: a one-line message, the one thing to do next, an exit code
and a stable `code` that `--json` prints (see `cfmcp.output`).

One class per case, each with its own code; raise the most specific one. Codes are part of
the `--json` contract: add new ones, never rename one.
"""

from __future__ import annotations

from collections.abc import Sequence


class CfmcpError(Exception):
    """An error shown to the user as one line (and a hint), never as a traceback."""

    exit_code = 1
    code = "error"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        exit_code: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class UsageError(CfmcpError):
    """Bad input on the command line or in an answer to a prompt (exit code 2)."""

    exit_code = 2
    code = "usage"


class NoAnswer(UsageError):
    """A question nobody can answer: no terminal, or its input ended. The hint says how to
    give the answer without one (an option, a variable, --yes)."""

    code = "no_answer"


class Declined(CfmcpError):
    """The person said no to a confirmation: nothing was changed."""

    exit_code = 130
    code = "declined"


class Interrupted(CfmcpError):
    """Ctrl-C: what was done before it stays done (multi-step commands say what to re-run)."""

    exit_code = 130
    code = "interrupted"


# ----------------------------------------------------------------------- the user's folder


class ProjectFileError(CfmcpError):
    """cfmcp.toml is missing, unreadable or holds an invalid value."""

    code = "project_file"


class ClientConfigError(CfmcpError):
    """An MCP client's own config file cannot be read or merged into."""

    code = "client_config"


class ClientServerExists(CfmcpError):
    """The client's config file already has a server of that name that points elsewhere
    (`install-client --write --force` replaces it)."""

    code = "client_server_exists"


# --------------------------------------------------------------- the account and its objects


class NotDeployed(CfmcpError):
    """Something deploy creates (the Worker, its KV namespace) does not exist yet."""

    code = "not_deployed"


class NotOurs(CfmcpError):
    """A Worker, custom domain, route or KV binding exists under the configured name but
    cfmcp did not deploy it (or it points elsewhere): cfmcp leaves it alone."""

    code = "not_ours"


class ZoneNotInAccount(CfmcpError):
    """The configured zone (or the hostname's zone) is not one of the account's zones."""

    code = "zone_not_in_account"


class NoWorkersSubdomain(CfmcpError):
    """The account has not chosen its workers.dev subdomain yet."""

    code = "no_workers_subdomain"


class UnknownGrant(CfmcpError):
    """No grant (client connection) has the given id or id prefix."""

    code = "unknown_grant"


# ------------------------------------------------------------------- the Cloudflare API


class UnknownPolicy(CfmcpError):
    """A policy name cfmcp.toml does not define."""

    code = "unknown_policy"


class NotNarrower(CfmcpError):
    """`clients set-policy` to a policy that is not within the connection's: it needs a new
    consent (the PIN)."""

    code = "policy_not_narrower"


class CloudflareError(CfmcpError):
    """A Cloudflare API call failed; `status` and `codes` come from the response."""

    code = "cloudflare"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status: int | None = None,
        codes: Sequence[int] = (),
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.codes = tuple(codes)


class InvalidToken(CloudflareError):
    """The API token is malformed, expired, revoked or unknown."""

    code = "invalid_token"


class PermissionDenied(CloudflareError):
    """The token is valid but lacks a permission (the hint names it)."""

    code = "permission_denied"


class NotFound(CloudflareError):
    """The addressed object does not exist."""

    code = "not_found"


class Conflict(CloudflareError):
    """The name or hostname is already taken."""

    code = "conflict"


class RateLimited(CloudflareError):
    """Still rate limited after retrying with backoff."""

    code = "rate_limited"


class ApiUnavailable(CloudflareError):
    """The API could not be reached or kept failing with server errors."""

    code = "api_unavailable"


class LiveTailError(CfmcpError):
    """`cfmcp logs`: the live tail's WebSocket could not be opened, broke off or was closed."""

    code = "tail_failed"


# ------------------------------------------------------------------- the upstream's PAT


class PatRefused(CfmcpError):
    """The upstream MCP server answered 401/403 to the PAT: wrong, expired or revoked."""

    code = "pat_refused"


class PatUnchecked(CfmcpError):
    """The upstream could not say whether it accepts the PAT (no answer, or one that proves
    nothing): deploy does not set a PAT nobody has seen work unless told to."""

    code = "pat_unchecked"


class DevNotRunning(CfmcpError):
    """`cfmcp doctor --local`: nothing answers where the local Worker should be."""

    code = "dev_not_running"


class StepFailed(CfmcpError):
    """One step of a multi-step change (deploy, destroy, rotate-pin) failed; what was done
    before it stays done and a re-run continues. `what` says which step ("step 2 (upload
    Worker) failed"), `rerun` the command and what it does; `code` is the failed call's own."""

    def __init__(self, what: str, *, cause: BaseException, rerun: str, step: object = None) -> None:
        if isinstance(cause, CfmcpError):
            detail, hint, code = cause.message, cause.hint, cause.code
        else:  # a bug, or an error cfmcp does not know: its type only (never its text)
            detail, hint, code = type(cause).__name__, None, "step_failed"
        super().__init__(
            f"{what}: {detail}", hint=(hint + "; " if hint else "") + f"re-run {rerun}", code=code
        )
        self.cause = cause
        self.step = step  # the deploy step (cfmcp.deploy.models.Step), when there is one


# The codes `--json` can print (see cfmcp.output).
ERROR_CODES = tuple(
    sorted(
        {
            cls.code
            for cls in (
                CfmcpError,
                UsageError,
                NoAnswer,
                Declined,
                Interrupted,
                ProjectFileError,
                ClientConfigError,
                ClientServerExists,
                NotDeployed,
                NotOurs,
                ZoneNotInAccount,
                NoWorkersSubdomain,
                UnknownGrant,
                UnknownPolicy,
                NotNarrower,
                CloudflareError,
                InvalidToken,
                PermissionDenied,
                NotFound,
                Conflict,
                RateLimited,
                ApiUnavailable,
                LiveTailError,
                PatRefused,
                PatUnchecked,
                DevNotRunning,
            )
        }
        | {"step_failed"}
    )
)
