"""Import the Worker core from a rendered bundle directory: the bytes that would be uploaded.

The rendered modules differ per config (`cfmcp_worker/deployment.py`), and Python caches
imported modules per process, so a process serves exactly one bundle.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from cfmcp.errors import CfmcpError

CORE_PACKAGE = "cfmcp_worker"
_REQUIRED = (
    "cfmcp_worker/app.py",
    "cfmcp_worker/http_types.py",
    "cfmcp_worker/settings.py",
    "cfmcp_worker/deployment.py",
)


@dataclass(frozen=True)
class Core:
    """The core's entry points as imported from one bundle."""

    bundle_dir: Path
    app_module: ModuleType
    http_types: ModuleType
    settings_module: ModuleType
    deployment: ModuleType
    exact: ModuleType
    log_lines: ModuleType | None = None  # None in bundles rendered before log lines

    @property
    def settings_mapping(self) -> dict[str, Any]:
        return dict(self.deployment.SETTINGS)

    def make_app(
        self,
        *,
        upstream_token: str,
        pin: str,
        signing_key: str,
        kv: Any,
        exact_sql: Any,
        fetch_metadata: Any,
        send_upstream: Any = None,
    ) -> Any:
        """Build the bundle's WorkerApp (one per process, reused across requests), its exact
        state held in-process by the bundle's own ledger over `exact_sql`."""
        settings_mod = self.settings_module
        settings = settings_mod.Settings.from_mapping(self.settings_mapping)
        ledger = self.exact.ExactLedger(exact_sql, self.exact.pin_limits(settings))
        return self.app_module.WorkerApp(
            settings=settings,
            secrets=settings_mod.Secrets(
                upstream_token=upstream_token, pin=pin, signing_key=signing_key
            ),
            kv=kv,
            exact_state=self.exact.ExactClient(self.exact.direct_sender(ledger)),
            fetch_metadata=fetch_metadata,
            send_upstream=send_upstream,
            bundle_sha256=bundle_sha256_of(self.bundle_dir),
        )


def bundle_sha256_of(bundle_dir: Path) -> str:
    """The hash `cfmcp render`/`deploy` gives these modules (every .py file in the folder)."""
    from cfmcp.worker.render import Bundle

    modules = {
        path.relative_to(bundle_dir).as_posix(): path.read_bytes()
        for path in sorted(bundle_dir.rglob("*.py"))
        if "__pycache__" not in path.parts
    }
    return Bundle(modules=modules).sha256


def check_bundle_dir(bundle_dir: Path) -> Path:
    """Return the resolved bundle directory, or raise CfmcpError naming what is missing."""
    root = bundle_dir.expanduser().resolve()
    if not root.is_dir():
        raise CfmcpError(
            f"bundle directory {bundle_dir} not found",
            hint="render one with `cfmcp render --out DIR`",
        )
    missing = [name for name in _REQUIRED if not (root / name).is_file()]
    if missing:
        raise CfmcpError(
            f"{bundle_dir} is not a rendered Worker bundle (missing {missing[0]})",
            hint="render one with `cfmcp render --out DIR`",
        )
    return root


def load_core(bundle_dir: Path) -> Core:
    """Import `cfmcp_worker` from `bundle_dir` and nowhere else."""
    root = check_bundle_dir(bundle_dir)
    loaded = sys.modules.get(CORE_PACKAGE)
    if loaded is not None and not _is_under(loaded, root):
        raise CfmcpError(
            "this process already loaded another Worker bundle",
            hint="run one `cfmcp dev` process per bundle",
        )
    sys.path.insert(0, str(root))
    try:
        modules = {
            name: importlib.import_module(f"{CORE_PACKAGE}.{name}")
            for name in ("app", "http_types", "settings", "deployment", "exact")
        }
        if (root / CORE_PACKAGE / "log_lines.py").is_file():
            modules["log_lines"] = importlib.import_module(f"{CORE_PACKAGE}.log_lines")
    finally:
        sys.path.remove(str(root))
    for module in modules.values():
        if not _is_under(module, root):
            raise CfmcpError(f"{module.__name__} was not loaded from {root}")
    return Core(
        bundle_dir=root,
        app_module=modules["app"],
        http_types=modules["http_types"],
        settings_module=modules["settings"],
        deployment=modules["deployment"],
        exact=modules["exact"],
        log_lines=modules.get("log_lines"),
    )


def _is_under(module: ModuleType, root: Path) -> bool:
    origin = getattr(module, "__file__", None)
    return origin is not None and Path(origin).resolve().is_relative_to(root)
