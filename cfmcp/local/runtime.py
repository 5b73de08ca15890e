"""Assemble the local Worker: bundle core + SQLite KV + CIMD fetcher + ASGI adapter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfmcp.local.asgi import LocalWorker
from cfmcp.local.bundle import load_core
from cfmcp.local.cimd import make_metadata_fetcher
from cfmcp.local.exact import SqliteSql
from cfmcp.local.kv import SqliteKvStore


@dataclass(frozen=True)
class DevSecrets:
    """The three Worker secrets, held in memory only."""

    upstream_token: str
    pin: str
    signing_key: str

    def __repr__(self) -> str:
        return "DevSecrets(<redacted>)"


def build_local_worker(
    bundle_dir: Path,
    secrets: DevSecrets,
    state_path: Path,
    output: Callable[[str], None] | None = None,
) -> LocalWorker:
    """The ASGI app serving the bundle in `bundle_dir`; KV and the exact state in `state_path`;
    the Worker's log lines to `output` (default: printed as they are)."""
    core = load_core(bundle_dir)
    if output is not None and core.log_lines is not None:
        core.log_lines.set_output(output)
    worker: LocalWorker | None = None

    async def send_upstream(forward: Any) -> tuple[int, list[tuple[str, str]], bytes]:
        assert worker is not None  # set below, before the first request
        return await worker.send_upstream(forward)

    app = core.make_app(
        upstream_token=secrets.upstream_token,
        pin=secrets.pin,
        signing_key=secrets.signing_key,
        kv=SqliteKvStore(state_path),
        exact_sql=SqliteSql(state_path),
        fetch_metadata=make_metadata_fetcher(),
        send_upstream=send_upstream,
    )
    worker = LocalWorker(app, core.http_types)
    return worker


def _bundle_settings(bundle_dir: Path) -> dict[str, object]:
    """The SETTINGS rendered into a bundle's deployment.py (read without importing it)."""
    import ast

    source = (bundle_dir / "cfmcp_worker" / "deployment.py").read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "SETTINGS" for t in node.targets
        ):
            return dict(ast.literal_eval(node.value))
    return {}


def upstream_url_of(bundle_dir: Path) -> str:
    """The upstream URL rendered into a bundle (read without importing it)."""
    return str(_bundle_settings(bundle_dir).get("upstream_url", ""))


def upstream_transport_of(bundle_dir: Path) -> str:
    """The upstream transport rendered into a bundle: "streamable-http" or "sse"."""
    return str(_bundle_settings(bundle_dir).get("upstream_transport", "streamable-http"))


def upstream_config_of(bundle_dir: Path) -> Any:
    """The upstream as rendered into a bundle (URL, credential header and format, transport)."""
    from cfmcp.project.config import UpstreamConfig

    settings = _bundle_settings(bundle_dir)
    extra = settings.get("upstream_extra_headers", {})
    return UpstreamConfig(
        url=str(settings.get("upstream_url", "")),
        auth_header=str(settings.get("upstream_auth_header", "Authorization")),
        auth_format=str(settings.get("upstream_auth_format", "Bearer {token}")),
        extra_headers={str(k): str(v) for k, v in extra.items()} if isinstance(extra, dict) else {},
        transport=str(settings.get("upstream_transport", "streamable-http")),
    )
