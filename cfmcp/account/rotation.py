"""`cfmcp rotate-pin`: set a new consent-page PIN on the deployed Worker; with `revoke_all`
also a new SIGNING_KEY, which disconnects every client at once.

The PIN comes from CFMCP_PIN, a hidden prompt, or is generated and shown once in a panel (on
stderr with --json, never in the JSON). The signing key is generated and never shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rich.console import Console

from cfmcp.account.ours import our_worker
from cfmcp.account.session import open_session
from cfmcp.errors import CfmcpError, StepFailed
from cfmcp.output import Output, show_pin
from cfmcp.project.secrets import SIGNING_KEY_ENV, gather_secrets
from cfmcp.prompts import confirm

CONFIRM_PIN = "This sets a new PIN: the old one stops working on the consent page."
KEEP_NOTE = "Clients already connected keep working."
CONFIRM_REVOKE_ALL = (
    "--revoke-all also replaces SIGNING_KEY: every client registration, authorization code, "
    "access token and refresh token stops working at once, so every client must register and "
    "be approved again with the new PIN."
)
VERSIONS_NOTE = "Each secret change creates a new Worker version (it serves within seconds)."


def run_rotation(
    config_path: Path, env: Mapping[str, str], *, revoke_all: bool, yes: bool, out: Output
) -> None:
    """Confirm (unless `yes`), set the secrets one by one, show a generated PIN once."""
    session = open_session(config_path, env, prompt_allowed=not yes)
    config = session.config
    names = ("AUTH_PIN", "SIGNING_KEY") if revoke_all else ("AUTH_PIN",)
    with session.connect() as api:
        our_worker(api, config)
        if not yes:
            out.say(CONFIRM_PIN)
            out.say(f"[bold yellow]{CONFIRM_REVOKE_ALL}[/]" if revoke_all else KEEP_NOTE)
            out.say(VERSIONS_NOTE)
            confirm(f"Rotate on Worker {config.name}?", default=not revoke_all)
        # The signing key is always generated here (CFMCP_SIGNING_KEY is for deploy/dev).
        secret_env = {k: v for k, v in env.items() if k != SIGNING_KEY_ENV}
        secrets = gather_secrets(names, secret_env, interactive=not yes)
        done: list[str] = []
        try:
            for name in names:
                api.put_secret(config.account_id, config.name, name, secrets.values[name])
                done.append(name)
                out.say(f"[green]✓[/] set {name} (new Worker version)")
        except CfmcpError as exc:
            if secrets.generated_pin:  # it may be set (the answer, not the call, may be lost)
                _show_pin(secrets.generated_pin, out.console, uncertain="AUTH_PIN" not in done)
            raise StepFailed(
                f"setting {names[len(done)]} failed", cause=exc, rerun="`cfmcp rotate-pin`"
            ) from None
        calls = len(api.calls)
    if secrets.generated_pin:
        _show_pin(secrets.generated_pin, out.console)
    if revoke_all:
        out.say(
            "Every client was disconnected: connect them again (`cfmcp install-client`). "
            "`cfmcp clients list` may show their old grants until they expire."
        )
    out.result(
        {
            "worker": config.name,
            "secrets_set": list(names),
            "pin_generated": secrets.generated_pin is not None,
            "revoked_all": revoke_all,
            "new_versions": len(names),
            "api_calls": calls,
        }
    )


def _show_pin(pin: str, console: Console, *, uncertain: bool = False) -> None:
    warning = (
        "The call that sets it failed, so it may not be set: if the old PIN "
        "still works, re-run `cfmcp rotate-pin`."
    )
    show_pin(console, pin, title="Your new PIN", warning=warning if uncertain else "")
