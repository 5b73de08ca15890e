"""`cfmcp init`: write (or edit) `cfmcp.toml`, asking only what flags and the environment don't say.

Interactive by default; non-interactive takes every answer from flags and the environment.
Re-running in a project edits its file: existing values are the defaults. The Cloudflare token is
only used to check things on the spot (token, accounts, zones); it is never written anywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from cfmcp import prompts
from cfmcp.account.ours import zone_of
from cfmcp.account.session import connect, read_token, token_prompt
from cfmcp.errors import CfmcpError, UsageError
from cfmcp.output import Output
from cfmcp.project.config import (
    GITHUB_UPSTREAM,
    MAX_TOKEN_TTL,
    HostnameMode,
    ProjectConfig,
    load_config,
    save_config,
    validate_account_id,
    validate_auth_format,
    validate_custom_domain,
    validate_header_name,
    validate_route,
    validate_server_name,
    validate_token_ttls,
    validate_upstream_url,
    validate_zone,
)

if TYPE_CHECKING:
    from cfmcp.account.api import CloudflareApi

GITHUB_PRESET = "github"
DAY = 24 * 3600


@dataclass(frozen=True)
class InitAnswers:
    """What flags (and the environment) already answered; empty/None means "not given"."""

    name: str = ""
    account_id: str = ""
    upstream: str = ""
    auth_header: str = ""
    auth_format: str = ""
    extra_headers: tuple[str, ...] = ()
    workers_dev: bool = False
    domain: str = ""
    route: str = ""
    zone: str = ""
    access_token_ttl: int | None = None  # seconds
    refresh_token_ttl: int | None = None
    server_name: str = ""
    # GitHub upstream: hosted chat apps read-only by default (None: ask, or yes without prompts).
    github_read_only: bool | None = None


class _Asker:
    """Asks (cfmcp.prompts: a bad answer is asked again) in interactive mode; in
    non-interactive mode returns the default. `flag` is the option that answers the question
    without a prompt, named when there is no terminal to ask on."""

    def __init__(self, interactive: bool, console: Console) -> None:
        self.interactive = interactive
        self.console = console

    def text(
        self,
        question: str,
        default: str,
        *,
        flag: str,
        check: Callable[[str], object] | None = None,
    ) -> str:
        if not self.interactive:
            return default
        return prompts.ask(question, default, hint=_flag_hint(flag), check=check)

    def yes_no(self, question: str, default: bool, *, flag: str) -> bool:
        if not self.interactive:
            return default
        return prompts.yes_no(question, default, hint=_flag_hint(flag))

    def choice(
        self, question: str, options: list[tuple[str, str]], default: str, *, flag: str
    ) -> str:
        """`options` are (key, label); the answer is a key (or its 1-based number)."""
        if not self.interactive:
            return default
        prompts.needs_terminal(question, _flag_hint(flag))
        self.console.print(f"[bold]{escape(question)}[/]")
        for number, (_key, label) in enumerate(options, 1):
            self.console.print(f"  {number}) {escape(label)}", highlight=False)
        return prompts.choose("Choose", [key for key, _ in options], default, hint=_flag_hint(flag))


def _flag_hint(flag: str) -> str:
    return f"pass {flag}, or --non-interactive with the values as options (`cfmcp init --help`)"


def _check_name(name: str) -> None:
    ProjectConfig(name=name).validate()


def _parse_extra_headers(values: tuple[str, ...]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition(":")
        if not sep or not name.strip():
            raise UsageError(f"invalid --extra-header {value!r}", hint='use "Name: value"')
        headers[name.strip()] = text.strip()
    return headers


def _choose_account(api: CloudflareApi, current: str, ask: _Asker) -> str:
    accounts = api.list_accounts()
    if not accounts:
        raise UsageError(
            "this token can reach no account",
            hint="give the token access to your account, or pass --account-id",
        )
    if len(accounts) == 1:
        only = accounts[0]
        ask.console.print(f"Account: [bold]{escape(only.name)}[/] ({only.id})", highlight=False)
        return only.id
    return ask.choice(
        "Which Cloudflare account?",
        [(a.id, f"{a.name} ({a.id})") for a in accounts],
        current or accounts[0].id,
        flag="--account-id",
    )


def _upstream(config: ProjectConfig, answers: InitAnswers, ask: _Asker) -> None:
    url = answers.upstream
    if url.lower() == GITHUB_PRESET:
        url = GITHUB_UPSTREAM
    if not url:
        current = config.upstream.url
        preset = ask.choice(
            "Which MCP server should the Worker front?",
            [
                (GITHUB_PRESET, f"GitHub ({GITHUB_UPSTREAM}, PAT as a Bearer token)"),
                ("custom", "Another MCP server (custom URL)"),
            ],
            GITHUB_PRESET if current == GITHUB_UPSTREAM else "custom",
            flag="--upstream",
        )
        url = (
            GITHUB_UPSTREAM
            if preset == GITHUB_PRESET
            else ask.text(
                "Upstream MCP URL",
                current if current != GITHUB_UPSTREAM else "",
                flag="--upstream",
                check=validate_upstream_url,
            )
        )
    config.upstream.url = url
    if url == GITHUB_UPSTREAM and not (answers.auth_header or answers.auth_format):
        config.upstream.auth_header = "Authorization"
        config.upstream.auth_format = "Bearer {token}"
    else:
        config.upstream.auth_header = answers.auth_header or ask.text(
            "Header that carries the token upstream",
            config.upstream.auth_header,
            flag="--auth-header",
            check=validate_header_name,
        )
        config.upstream.auth_format = answers.auth_format or ask.text(
            "Its value ({token} is replaced by the PAT)",
            config.upstream.auth_format,
            flag="--auth-format",
            check=validate_auth_format,
        )
    if answers.extra_headers:
        config.upstream.extra_headers = _parse_extra_headers(answers.extra_headers)
    from cfmcp.transport import STREAMABLE_HTTP, detect_transport

    # Streamable HTTP or the legacy HTTP+SSE transport (a short probe, else the URL's path).
    config.upstream.transport = (
        STREAMABLE_HTTP if url == GITHUB_UPSTREAM else detect_transport(url, timeout=3.0)
    )
    if url == GITHUB_UPSTREAM:
        _github_policies(config, answers, ask)


def _github_policies(config: ProjectConfig, answers: InitAnswers, ask: _Asker) -> None:
    """The GitHub preset: `read-only` sends GitHub's X-MCP-Readonly (its server refuses writes
    too), and claude.ai / ChatGPT connections get it preselected; local apps keep `full`.
    Offered once: a file that already has policies keeps them."""
    from cfmcp.project.policies import GITHUB_CLIENT_POLICIES, GITHUB_POLICIES

    if config.policies or config.consent.client_policies:
        return
    wanted = answers.github_read_only
    if wanted is None:
        wanted = ask.yes_no(
            "Preselect read-only access for claude.ai and ChatGPT (you choose per connection "
            "on the consent page; local apps such as Claude Code default to full)?",
            True,
            flag="--github-read-only / --no-github-read-only",
        )
    if wanted:
        config.policies = {name: dict(rules) for name, rules in GITHUB_POLICIES.items()}
        config.consent.client_policies = dict(GITHUB_CLIENT_POLICIES)


def _hostname(
    config: ProjectConfig,
    answers: InitAnswers,
    ask: _Asker,
    api: CloudflareApi | None,
    subdomain: str | None,
    known_zones: list[str] | None,
) -> None:
    host = config.hostname
    mode: HostnameMode
    if answers.workers_dev:
        mode = "workers_dev"
    elif answers.domain:
        mode = "custom_domain"
    elif answers.route:
        mode = "route"
    else:
        where = (
            f"{config.name}.{subdomain}.workers.dev"
            if subdomain
            else f"{config.name}.<your-subdomain>.workers.dev"
        )
        mode = ask.choice(  # type: ignore[assignment]  # one of the three keys offered
            "Where should it be served?",
            [
                ("workers_dev", f"workers.dev: https://{where}"),
                ("custom_domain", "a custom domain in one of your zones"),
                ("route", "a route in one of your zones"),
            ],
            host.mode,
            flag="--workers-dev, --domain or --route",
        )
    host.mode = mode
    zones: list[str] = []
    if api is not None and mode != "workers_dev":
        zones = known_zones if known_zones is not None else _zone_names(api, config.account_id)
    if mode == "custom_domain":
        where = f"in {', '.join(zones)}" if zones else "e.g. mcp.example.com"
        host.domain = answers.domain or ask.text(
            f"Hostname ({where})",
            host.domain,
            flag="--domain",
            check=lambda domain: _check_domain(_hostname_of(domain), zones),
        )
        host.domain = _hostname_of(host.domain)
        host.route = ""
        host.zone = answers.zone or zone_of(host.domain, zones) or host.zone
        _check_domain(host.domain, zones)
    elif mode == "route":
        host.route = answers.route or ask.text(
            "Route pattern (e.g. mcp.example.com/*)",
            host.route,
            flag="--route",
            check=validate_route,
        )
        host.zone = answers.zone or ask.text(
            "Zone" + (f" ({', '.join(zones)})" if zones else ""),
            zone_of(host.route.split("/", 1)[0].lstrip("*."), zones) or host.zone,
            flag="--zone",
            check=lambda zone: _check_zone(zone, zones),
        )
        host.domain = ""
        _check_zone(host.zone, zones)
    else:
        host.domain = host.route = host.zone = ""


def _hostname_of(answer: str) -> str:
    return answer.lower().rstrip(".")


def _check_domain(domain: str, zones: list[str]) -> None:
    """A hostname in one of the account's zones (any hostname when they are not known)."""
    validate_custom_domain(domain)
    if zones and not zone_of(domain, zones):
        raise UsageError(
            f"{domain} is in none of the account's zones", hint="zones: " + ", ".join(zones)
        )


def _check_zone(zone: str, zones: list[str]) -> None:
    validate_zone(zone)
    if zones and zone not in zones:
        raise UsageError(f"zone {zone!r} is not in the account", hint="zones: " + ", ".join(zones))


def _zone_names(api: CloudflareApi, account_id: str) -> list[str]:
    return sorted(z.name for z in api.list_zones(account_id))


def _ttls(config: ProjectConfig, answers: InitAnswers, ask: _Asker) -> None:
    oauth = config.oauth
    given_refresh = answers.refresh_token_ttl
    if answers.access_token_ttl is not None:
        oauth.access_token_ttl = answers.access_token_ttl
    else:
        oauth.access_token_ttl = _seconds(
            ask.text(
                "Access token lifetime in days",
                _days(oauth.access_token_ttl),
                flag="--access-token-days",
                check=lambda days: validate_token_ttls(
                    _seconds(days), _given(given_refresh, _seconds(days))
                ),
            )
        )
    access = oauth.access_token_ttl
    if given_refresh is not None:
        oauth.refresh_token_ttl = given_refresh
    else:
        oauth.refresh_token_ttl = _seconds(
            ask.text(
                "Refresh token lifetime in days",
                _days(max(oauth.refresh_token_ttl, access)),
                flag="--refresh-token-days",
                check=lambda days: validate_token_ttls(access, _seconds(days)),
            )
        )
        # non-interactive, no --refresh-token-days: never shorter than the access token
        oauth.refresh_token_ttl = max(oauth.refresh_token_ttl, access)


def _given(value: int | None, otherwise: int) -> int:
    return otherwise if value is None else value


def _days(seconds: int) -> str:
    days = seconds / DAY
    return str(int(days)) if days == int(days) else f"{days:g}"


def _seconds(days: str) -> int:
    try:
        return seconds_of_days(float(days))
    except ValueError:
        raise UsageError(f"{days!r} is not a number of days", hint="e.g. 30 or 0.5") from None


def seconds_of_days(days: float) -> int:
    """A lifetime in days (e.g. from --access-token-days) in whole seconds."""
    if not math.isfinite(days) or abs(days) > MAX_TOKEN_TTL / DAY * 10:
        raise UsageError(f"{days:g} is not a usable number of days", hint="e.g. 30 or 0.5")
    return int(days * DAY)


def _check_given(answers: InitAnswers, config: ProjectConfig) -> None:
    """Check what flags gave before asking anything, so a bad flag never costs typed answers
    (what needs the account, such as zones, is checked by `_check_given_zones`)."""
    checks: list[tuple[str, Callable[[str], object]]] = [
        (answers.name, _check_name),
        (answers.account_id, validate_account_id),
        (answers.auth_header, validate_header_name),
        (answers.auth_format, validate_auth_format),
        (_hostname_of(answers.domain), validate_custom_domain),
        (answers.route, validate_route),
        (answers.zone, validate_zone),
        (answers.server_name, validate_server_name),
    ]
    if answers.upstream.lower() != GITHUB_PRESET:
        checks.append((answers.upstream, validate_upstream_url))
    given = [bool(answers.workers_dev), bool(answers.domain), bool(answers.route)]
    if sum(given) > 1:
        raise UsageError("give only one of --workers-dev, --domain, --route")
    if answers.route and not answers.zone:
        raise UsageError(
            "--route needs --zone", hint="e.g. --route 'mcp.example.com/*' --zone example.com"
        )
    try:
        for value, check in checks:
            if value:
                check(value)
        _parse_extra_headers(answers.extra_headers)
        if answers.access_token_ttl is not None or answers.refresh_token_ttl is not None:
            access = _given(answers.access_token_ttl, config.oauth.access_token_ttl)
            refresh = _given(answers.refresh_token_ttl, max(access, config.oauth.refresh_token_ttl))
            validate_token_ttls(access, refresh)
    except CfmcpError as exc:  # a bad flag is a usage error (exit 2)
        raise UsageError(exc.message, hint=exc.hint) from None


def _check_given_zones(answers: InitAnswers, zones: list[str]) -> None:
    """--domain, --zone and --route against the account's zones, before the questions."""
    if answers.domain:
        _check_domain(_hostname_of(answers.domain), zones)
    if answers.zone:
        _check_zone(answers.zone, zones)


def run_init(
    config_path: Path,
    answers: InitAnswers,
    *,
    interactive: bool,
    env: dict[str, str],
    out: Output,
) -> None:
    """Ask, check, write cfmcp.toml, print the next command."""
    json_output = out.json
    console = out.console
    ask = _Asker(interactive, console)
    editing = config_path.exists()
    config = load_config(config_path) if editing else ProjectConfig()
    _check_given(answers, config)
    if editing and interactive:
        console.print(f"Editing [bold]{escape(str(config_path))}[/]: press Enter to keep a value.")

    token = read_token(env, token_prompt if interactive else None)
    api = connect(token, env) if token else None
    try:
        if api is not None:
            account_hint = answers.account_id or config.account_id or None
            info = api.verify_token(account_hint)
            if not json_output:
                console.print(f"[green]✓[/] Cloudflare API token is {info.status or 'active'}")
        config.account_id = answers.account_id or config.account_id
        if not config.account_id:
            if api is None:
                raise UsageError(
                    "no account id",
                    hint="pass --account-id (or set "
                    "CLOUDFLARE_ACCOUNT_ID), or set CLOUDFLARE_API_TOKEN to list "
                    "your accounts",
                )
            config.account_id = _choose_account(api, config.account_id, ask)
        zones: list[str] | None = None
        if api is not None and (answers.domain or answers.route or answers.zone):
            zones = _zone_names(api, config.account_id)
            _check_given_zones(answers, zones)
        config.name = answers.name or ask.text(
            "Worker name", config.name, flag="--name", check=_check_name
        )
        _upstream(config, answers, ask)
        subdomain = None
        if api is not None and (answers.workers_dev or not (answers.domain or answers.route)):
            subdomain = api.get_workers_subdomain(config.account_id)
        _hostname(config, answers, ask, api, subdomain, zones)
        if answers.server_name:
            config.oauth.server_name = answers.server_name
        _ttls(config, answers, ask)
    finally:
        if api is not None:
            api.close()
    try:
        config.validate()
    except CfmcpError as exc:  # a bad answer is a usage error (exit 2)
        raise UsageError(exc.message, hint=exc.hint) from None
    save_config(config, config_path)

    origin = config.public_origin(subdomain) or f"https://{config.name}.<subdomain>.workers.dev"
    if json_output:
        out.result(
            {
                "config": str(config_path),
                "edited": editing,
                "public_url": origin,
                "mcp_url": origin + "/mcp",
                "next": "cfmcp deploy",
                "settings": config.to_dict(),
            }
        )
        return
    console.print(
        f"[green]✓[/] {'Updated' if editing else 'Wrote'} [bold]{config_path}[/] (no secrets in it)"
    )
    console.print(f"  MCP URL will be [bold]{origin}/mcp[/]", highlight=False)
    console.print(
        "Next: [bold]cfmcp deploy[/]  (first deploy asks for the upstream PAT, or set "
        "CFMCP_UPSTREAM_TOKEN)"
    )
