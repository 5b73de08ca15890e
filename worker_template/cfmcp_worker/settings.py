"""Typed settings and secrets for one deployment of the Worker.

`Settings` comes from the rendered `deployment` module (config values rendered at deploy
time, no secrets); `Secrets` from the Worker's secret bindings (or the local runtime's
environment). Neither is read at import time by the core: hosts construct them.
"""

from __future__ import annotations

from typing import Any

_DEFAULTS: dict[str, Any] = {
    "upstream_url": "",
    "public_url": "",  # "" = derive the issuer from the request origin (local dev)
    "upstream_auth_header": "Authorization",
    "upstream_auth_format": "Bearer {token}",
    "upstream_extra_headers": {},
    "upstream_transport": "streamable-http",  # or "sse": the legacy HTTP+SSE transport
    "server_name": "cfmcp",
    "scopes": ("mcp",),  # generic scopes (no policy); each policy adds `mcp:<name>`
    "policies": [],  # [name, rules] pairs (policy.py); `full` and `read-only` are built in
    "default_policy": "full",
    "client_policies": {},  # client kind (redirect URI host, `loopback`) → policy name
    "access_token_ttl": 30 * 24 * 3600,
    "refresh_token_ttl": 90 * 24 * 3600,
    "code_ttl": 120,
    "refresh_grace_seconds": 60,
    "pin_max_failures_per_ip": 5,
    "pin_lockout_seconds": 900,
    "pin_max_failures_global_per_hour": 60,
    "max_request_bytes": 4 * 1024 * 1024,
    "version": "",
}


class Settings:
    """Non-secret configuration, rendered into the bundle (see `_DEFAULTS` for the fields)."""

    __slots__ = tuple(_DEFAULTS)

    upstream_url: str
    public_url: str
    upstream_auth_header: str
    upstream_auth_format: str
    upstream_extra_headers: dict[str, str]
    upstream_transport: str
    server_name: str
    scopes: tuple[str, ...]
    policies: list
    default_policy: str
    client_policies: dict[str, str]
    access_token_ttl: int
    refresh_token_ttl: int
    code_ttl: int
    refresh_grace_seconds: int
    pin_max_failures_per_ip: int
    pin_lockout_seconds: int
    pin_max_failures_global_per_hour: int
    max_request_bytes: int
    version: str

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        if not values.get("upstream_url"):
            raise ValueError("upstream_url is required")
        for name, default in _DEFAULTS.items():
            setattr(self, name, values.get(name, default))
        self.scopes = tuple(self.scopes)
        self.upstream_extra_headers = dict(self.upstream_extra_headers)

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Settings:
        return cls(**values)


class Secrets:
    """Secret values; never rendered, logged or stored."""

    __slots__ = ("pin", "signing_key", "upstream_token")

    def __init__(self, upstream_token: str, pin: str, signing_key: str) -> None:
        self.upstream_token = upstream_token
        self.pin = pin
        self.signing_key = signing_key

    def __eq__(self, other: object) -> bool:
        """Hosts compare secrets to know when a cached WorkerApp must be rebuilt."""
        if not isinstance(other, Secrets):
            return NotImplemented
        mine = (self.upstream_token, self.pin, self.signing_key)
        return mine == (other.upstream_token, other.pin, other.signing_key)

    __hash__ = None  # type: ignore[assignment]  # mutable holder of secrets: not hashable

    def __repr__(self) -> str:  # keep secrets out of tracebacks and logs
        return "Secrets(<redacted>)"
