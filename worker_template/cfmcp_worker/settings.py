"""Typed settings and secrets for one deployment of the Worker.

`Settings` comes from the rendered `deployment` module (config values rendered at deploy
time, no secrets); `Secrets` from the Worker's secret bindings (or the local runtime's
environment). Neither is read at import time by the core: hosts construct them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Settings:
    """Non-secret configuration, rendered into the bundle."""

    upstream_url: str
    public_url: str = ""  # "" = derive issuer from the request origin (local dev)
    upstream_auth_header: str = "Authorization"
    upstream_auth_format: str = "Bearer {token}"
    upstream_extra_headers: dict[str, str] = field(default_factory=dict)
    server_name: str = "cfmcp"
    scopes: tuple[str, ...] = ("mcp",)
    access_token_ttl: int = 30 * 24 * 3600
    refresh_token_ttl: int = 90 * 24 * 3600
    code_ttl: int = 120
    refresh_grace_seconds: int = 120
    pin_max_failures_per_ip: int = 5
    pin_lockout_seconds: int = 900
    pin_max_failures_global_per_hour: int = 60
    max_request_bytes: int = 4 * 1024 * 1024
    version: str = ""

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Settings:
        known = {name for name in cls.__dataclass_fields__}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        data = dict(values)
        if "scopes" in data:
            data["scopes"] = tuple(data["scopes"])
        if "upstream_extra_headers" in data:
            data["upstream_extra_headers"] = dict(data["upstream_extra_headers"])
        return cls(**data)


@dataclass(frozen=True)
class Secrets:
    """Secret values; never rendered, logged or stored."""

    upstream_token: str
    pin: str
    signing_key: str

    def __repr__(self) -> str:  # keep secrets out of tracebacks and logs
        return "Secrets(<redacted>)"
