"""The project file `cfmcp.toml`: a typed model, loading, validation and writing.

The file never holds secrets: the upstream PAT, the PIN and the signing key live only in
Cloudflare's secret store (or the environment of `cfmcp dev`).
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

from cfmcp.errors import ProjectFileError
from cfmcp.project.policies import ConsentConfig, validate_policies

CONFIG_FILENAME = "cfmcp.toml"
DEFAULT_COMPATIBILITY_DATE = "2026-03-01"
GITHUB_UPSTREAM = "https://api.githubcopilot.com/mcp"
HostnameMode = Literal["workers_dev", "custom_domain", "route"]

_WORKER_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FORBIDDEN_EXTRA = {"authorization", "cookie", "host", "content-length", "transfer-encoding"}


@dataclass
class UpstreamConfig:
    url: str = GITHUB_UPSTREAM
    auth_header: str = "Authorization"
    auth_format: str = "Bearer {token}"
    extra_headers: dict[str, str] = field(default_factory=dict)
    # "streamable-http" (MCP 2025-03-26 and later) or "sse": the legacy HTTP+SSE transport
    # (a GET stream whose `endpoint` event names the POST URL); `cfmcp init` detects it.
    transport: str = "streamable-http"


@dataclass
class HostnameConfig:
    mode: HostnameMode = "workers_dev"
    domain: str = ""  # custom_domain: the hostname served
    route: str = ""  # route: the route pattern, e.g. "mcp.example.com/*"
    zone: str = ""  # custom_domain / route: the zone name, e.g. "example.com"


@dataclass
class OAuthConfig:
    server_name: str = "cfmcp"
    scopes: list[str] = field(default_factory=lambda: ["mcp"])
    access_token_ttl: int = 30 * 24 * 3600
    refresh_token_ttl: int = 90 * 24 * 3600
    code_ttl: int = 120
    refresh_grace_seconds: int = 60


@dataclass
class ProjectConfig:
    """Everything `cfmcp.toml` holds."""

    name: str = "cfmcp"
    account_id: str = ""
    compatibility_date: str = DEFAULT_COMPATIBILITY_DATE
    upstream: UpstreamConfig = field(default_factory=UpstreamConfig)
    hostname: HostnameConfig = field(default_factory=HostnameConfig)
    oauth: OAuthConfig = field(default_factory=OAuthConfig)
    consent: ConsentConfig = field(default_factory=ConsentConfig)
    # name → rules (cfmcp/policies.py); `full` and `read-only` are built in.
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def kv_namespace_title(self) -> str:
        """Deterministic KV namespace title, so a lost state file never duplicates it."""
        return f"{self.name}-oauth"

    def validate(self) -> ProjectConfig:
        """Raise ProjectFileError naming the first invalid value; return self when all are valid."""
        if not _WORKER_NAME.match(self.name):
            raise ProjectFileError(
                f"invalid worker name {self.name!r}",
                hint="use 1-63 lower-case letters, digits and dashes",
            )
        if self.account_id:
            validate_account_id(self.account_id)
        if not _DATE.match(self.compatibility_date):
            raise ProjectFileError(
                f"invalid compatibility_date {self.compatibility_date!r}", hint="use YYYY-MM-DD"
            )
        validate_upstream_url(self.upstream.url)
        validate_header_name(self.upstream.auth_header)
        validate_auth_format(self.upstream.auth_format)
        if self.upstream.transport not in ("streamable-http", "sse"):
            raise ProjectFileError(
                f"invalid upstream transport {self.upstream.transport!r}",
                hint='use "streamable-http" or "sse" (the legacy HTTP+SSE transport)',
            )
        for name, value in self.upstream.extra_headers.items():
            if not _HEADER_NAME.match(name) or name.lower() in _FORBIDDEN_EXTRA:
                raise ProjectFileError(f"extra header {name!r} is not allowed")
            if any(ch in value for ch in "\r\n\0"):
                raise ProjectFileError(f"extra header {name!r} has a line break in its value")
        self._validate_hostname()
        self._validate_oauth()
        validate_policies(self.policies, self.consent, self.upstream.auth_header)
        return self

    def _validate_hostname(self) -> None:
        host = self.hostname
        if host.mode not in ("workers_dev", "custom_domain", "route"):
            raise ProjectFileError(
                f"invalid hostname mode {host.mode!r}",
                hint="use workers_dev, custom_domain or route",
            )
        if host.mode == "custom_domain":
            validate_custom_domain(host.domain)
        if host.mode == "route":
            validate_route(host.route)
            validate_zone(host.zone)

    def _validate_oauth(self) -> None:
        oauth = self.oauth
        if not oauth.scopes or not all(
            re.fullmatch(r"[\x21\x23-\x5b\x5d-\x7e]+", s) for s in oauth.scopes
        ):
            raise ProjectFileError("invalid oauth.scopes", hint='give scope tokens such as ["mcp"]')
        validate_server_name(oauth.server_name)
        if oauth.code_ttl < 30 or oauth.code_ttl > 600:
            raise ProjectFileError("oauth.code_ttl must be between 30 and 600 seconds")
        if not 0 <= oauth.refresh_grace_seconds <= 3600:
            raise ProjectFileError("oauth.refresh_grace_seconds must be between 0 and 3600")
        validate_token_ttls(oauth.access_token_ttl, oauth.refresh_token_ttl)

    def public_origin(self, workers_subdomain: str | None = None) -> str:
        """The Worker's public origin, or "" when it is only known after lookup/deploy."""
        if self.hostname.mode == "custom_domain":
            return f"https://{self.hostname.domain}"
        if self.hostname.mode == "route":
            return f"https://{self.hostname.route.split('/', 1)[0].lstrip('*.')}"
        if workers_subdomain:
            return f"https://{self.name}.{workers_subdomain}.workers.dev"
        return ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_account_id(account_id: str) -> None:
    if not re.fullmatch(r"[0-9a-f]{32}", account_id):
        raise ProjectFileError(
            f"invalid account id {account_id!r}",
            hint="a Cloudflare account id is 32 hex digits (dashboard → Workers → Account ID)",
        )


def validate_server_name(server_name: str) -> None:
    if not 0 < len(server_name) <= 80:
        raise ProjectFileError("oauth.server_name must be 1-80 characters")


def validate_header_name(name: str) -> None:
    if not _HEADER_NAME.match(name):
        raise ProjectFileError(
            f"invalid header name {name!r}", hint="e.g. Authorization or X-API-Key"
        )


def validate_auth_format(auth_format: str) -> None:
    if auth_format.count("{token}") != 1:
        raise ProjectFileError(
            f"invalid auth_format {auth_format!r}",
            hint='it must contain "{token}" exactly once, e.g. "Bearer {token}"',
        )


def validate_custom_domain(domain: str) -> None:
    if not _HOSTNAME.match(domain):
        raise ProjectFileError(
            f"invalid custom domain {domain!r}", hint="give a hostname such as mcp.example.com"
        )


def validate_route(pattern: str) -> None:
    if not pattern or "/" not in pattern:
        raise ProjectFileError(
            f"invalid route pattern {pattern!r}", hint="give a pattern such as mcp.example.com/*"
        )


def validate_zone(zone: str) -> None:
    if not _HOSTNAME.match(zone):
        raise ProjectFileError(
            f"invalid zone {zone!r}", hint="give the zone name, e.g. example.com"
        )


MIN_ACCESS_TOKEN_TTL = 300
MAX_TOKEN_TTL = 3650 * 24 * 3600  # ten years: beyond it a lifetime is a typo


def validate_token_ttls(access_token_ttl: int, refresh_token_ttl: int) -> None:
    if access_token_ttl < MIN_ACCESS_TOKEN_TTL:
        raise ProjectFileError(
            f"oauth.access_token_ttl must be at least {MIN_ACCESS_TOKEN_TTL} seconds"
        )
    if refresh_token_ttl > MAX_TOKEN_TTL:
        raise ProjectFileError("token lifetimes must be at most 3650 days")
    if refresh_token_ttl < access_token_ttl:
        raise ProjectFileError("oauth.refresh_token_ttl must not be shorter than access_token_ttl")


def validate_upstream_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ProjectFileError(
            f"invalid upstream URL {url!r}",
            hint="give the MCP endpoint, e.g. https://api.githubcopilot.com/mcp",
        )
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ProjectFileError(
            f"upstream URL {url!r} is not https",
            hint="the PAT would travel in clear text; use https",
        )
    if parts.username or parts.password:
        raise ProjectFileError(
            "the upstream URL must not contain credentials",
            hint="the PAT is set as a secret, never in the URL",
        )


def _section(cls: type, data: dict[str, Any], where: str) -> Any:
    allowed = {f.name for f in fields(cls)}
    unknown = set(data) - allowed
    if unknown:
        raise ProjectFileError(
            f"unknown key(s) in [{where}]: {', '.join(sorted(unknown))}",
            hint=f"allowed: {', '.join(sorted(allowed))}",
        )
    hints = get_type_hints(cls)
    for key, value in data.items():
        problem = _type_problem(hints[key], value)
        if problem:
            raise ProjectFileError(f"[{where}] {key} must be {problem}, not {_shown(value)}")
    return cls(**data)


def _type_problem(expected: Any, value: Any) -> str:
    """What `value` should have been for the field type `expected` ("" when it is that)."""
    origin, args = get_origin(expected), get_args(expected)
    if expected is bool:
        return "" if isinstance(value, bool) else "true or false"
    if expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return "" if ok else "a whole number"
    if expected is str:
        return "" if isinstance(value, str) else "text in quotes"
    if origin is Literal:
        return "" if value in args else "one of " + ", ".join(map(repr, args))
    if origin is list:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return "" if ok else 'a list of texts, e.g. ["mcp"]'
    if origin is dict:
        inner = args[1] if args else Any
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            return "a table"
        ok = inner is not str or all(isinstance(v, str) for v in value.values())
        return "" if ok else "a table of texts"
    return ""  # a section: checked on its own


def _shown(value: Any) -> str:
    """A TOML value as the user wrote it, in a message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    kind = {int: "a number", float: "a number", list: "a list", dict: "a table"}
    return kind.get(type(value), type(value).__name__)


def config_from_dict(data: dict[str, Any]) -> ProjectConfig:
    data = dict(data)
    sections = {
        "upstream": UpstreamConfig,
        "hostname": HostnameConfig,
        "oauth": OAuthConfig,
        "consent": ConsentConfig,
    }
    parsed: dict[str, Any] = {}
    for key, cls in sections.items():
        value = data.pop(key, {})
        if not isinstance(value, dict):
            raise ProjectFileError(f"[{key}] must be a table")
        parsed[key] = _section(cls, value, key)
    if not isinstance(data.get("policies", {}), dict):
        raise ProjectFileError("[policies] must be a table of policies")
    top = _section(ProjectConfig, {**data, **parsed}, "top level")
    return top.validate()


def load_config(path: Path) -> ProjectConfig:
    if not path.exists():
        raise ProjectFileError(f"{path} not found", hint="run `cfmcp init` first")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProjectFileError(f"{path} is not valid TOML: {exc}") from None
    try:
        return config_from_dict(data)
    except TypeError as exc:
        raise ProjectFileError(f"{path}: {exc}") from None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dump_config(config: ProjectConfig) -> str:
    """Serialize to TOML (stdlib has no writer; the model is flat enough to do it here)."""
    data = config.to_dict()
    lines = ["# cfmcp project file. No secrets here: see `cfmcp deploy --help`.", ""]
    for key, value in data.items():
        if not isinstance(value, dict):
            lines.append(f"{key} = {_toml_value(value)}")
    for key, value in data.items():
        if key == "policies":
            for name, rules in value.items():  # one table per policy: [policies.<name>]
                lines += ["", f"[policies.{name}]"]
                lines += [f"{k} = {_toml_value(v)}" for k, v in rules.items()]
        elif isinstance(value, dict):
            lines += ["", f"[{key}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in value.items()]
    return "\n".join(lines) + "\n"


def save_config(config: ProjectConfig, path: Path) -> None:
    config.validate()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_config(config), encoding="utf-8")
    except OSError as exc:
        raise ProjectFileError(
            f"cannot write {path}: {exc.strerror or type(exc).__name__}"
        ) from None
