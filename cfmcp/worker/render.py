"""Render the Worker bundle from `worker_template/` and a project config.

A bundle is the exact set of modules uploaded to Cloudflare (module name → bytes). Rendering is
deterministic: the same config gives byte-identical modules and the same SHA-256, which deploy
compares with the deployed hash to skip unchanged uploads. Values rendered into Python source go
through the `py` filter (a Python literal; strings via `ascii`), into TOML through `toml`, so no
config value can inject code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from cfmcp import __version__
from cfmcp.project.config import ProjectConfig
from cfmcp.worker.contract import (
    BUNDLE_HASH_VAR,
    EXACT_BINDING,
    EXACT_CLASS,
    EXACT_MIGRATION_TAG,
    KV_BINDING,
    MAIN_MODULE,
    PYTHON_WORKERS_FLAG,
    SECRET_NAMES,
)

_TEMPLATE_SUFFIX = ".j2"
_NOT_IN_BUNDLE = {"wrangler.toml.j2"}


def template_dir() -> Path:
    """The Worker template: inside the installed package, or the checkout's top level."""
    packaged = Path(str(resources.files("cfmcp"))) / "worker_template"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "worker_template"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("worker_template not found next to the cfmcp package")


def python_literal(value: Any) -> str:
    """A deterministic Python literal for plain config data.

    Strings are written as `ascii` writes them: printable ASCII as is, every other character
    escaped by its code point. Unlike `repr`, that does not depend on the Unicode version of
    the Python running it, and deploy-with-claude.md's JavaScript writes the same bytes.
    """
    if isinstance(value, str):
        return ascii(str(value))  # plain str: subclasses such as Markup have their own repr
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(python_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ", ".join(f"{python_literal(k)}: {python_literal(v)}" for k, v in items) + "}"
    raise TypeError(f"cannot render {type(value).__name__} into Python source")


def toml_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"cannot render {type(value).__name__} into TOML")


def _environment(root: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - no HTML here; each target language has its own filter
        keep_trailing_newline=True,
    )
    env.filters["py"] = python_literal
    env.filters["toml"] = toml_literal
    return env


@dataclass(frozen=True)
class Bundle:
    """The Worker as uploaded: module names (POSIX paths) → bytes."""

    modules: dict[str, bytes]
    main_module: str = MAIN_MODULE

    @property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.modules):
            data = self.modules[name]
            digest.update(f"{name}\0{len(data)}\0".encode())
            digest.update(data)
        return digest.hexdigest()

    def write(self, out: Path) -> list[Path]:
        written = []
        for name in sorted(self.modules):
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.modules[name])
            written.append(target)
        return written


def worker_settings(config: ProjectConfig, public_url: str = "") -> dict[str, Any]:
    """The non-secret settings rendered into `cfmcp_worker/deployment.py`."""
    up, oauth = config.upstream, config.oauth
    return {
        "public_url": public_url.rstrip("/"),
        "upstream_url": up.url,
        "upstream_auth_header": up.auth_header,
        "upstream_auth_format": up.auth_format,
        "upstream_extra_headers": dict(up.extra_headers),
        "upstream_transport": up.transport,
        "server_name": oauth.server_name,
        "scopes": list(oauth.scopes),
        # Pairs, not a dict: the consent page shows policies in the file's order.
        "policies": [[name, rules] for name, rules in config.policies.items()],
        "default_policy": config.consent.default_policy,
        "client_policies": dict(config.consent.client_policies),
        "access_token_ttl": oauth.access_token_ttl,
        "refresh_token_ttl": oauth.refresh_token_ttl,
        "code_ttl": oauth.code_ttl,
        "refresh_grace_seconds": oauth.refresh_grace_seconds,
        "version": __version__,
    }


def render_bundle(config: ProjectConfig, public_url: str = "") -> Bundle:
    """Render every module of the Worker for this config."""
    root = template_dir()
    env = _environment(root)
    context = {
        "settings": worker_settings(config, public_url),
        "version": __version__,
        "server_name": config.oauth.server_name,
    }
    modules: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        rel = path.relative_to(root).as_posix()
        if rel in _NOT_IN_BUNDLE:
            continue
        if rel.endswith(_TEMPLATE_SUFFIX):
            text = env.get_template(rel).render(**context)
            modules[rel[: -len(_TEMPLATE_SUFFIX)]] = text.encode("utf-8")
        elif rel.endswith(".py"):
            modules[rel] = path.read_bytes()
    if MAIN_MODULE not in modules:
        raise FileNotFoundError(f"{MAIN_MODULE} missing from {root}")
    return Bundle(modules=modules)


def render_wrangler_toml(config: ProjectConfig, bundle: Bundle, kv_namespace_id: str) -> str:
    """A wrangler.toml equivalent to what `cfmcp deploy` does (the eject path)."""
    host = config.hostname
    return (
        _environment(template_dir())
        .get_template("wrangler.toml.j2")
        .render(
            version=__version__,
            worker_name=config.name,
            main_module=bundle.main_module,
            compatibility_date=config.compatibility_date,
            workers_dev=host.mode == "workers_dev",
            bundle_sha256=bundle.sha256,
            kv_namespace_id=kv_namespace_id,
            kv_binding=KV_BINDING,
            bundle_hash_var=BUNDLE_HASH_VAR,
            python_workers_flag=PYTHON_WORKERS_FLAG,
            secret_names=SECRET_NAMES,
            exact_binding=EXACT_BINDING,
            exact_class=EXACT_CLASS,
            exact_migration_tag=EXACT_MIGRATION_TAG,
            custom_domains=[host.domain] if host.mode == "custom_domain" else [],
            routes=[{"pattern": host.route, "zone": host.zone}] if host.mode == "route" else [],
        )
    )


def write_eject_folder(
    config: ProjectConfig, out: Path, *, public_url: str, kv_namespace_id: str
) -> tuple[Bundle, list[Path]]:
    """`cfmcp render`: the bundle's modules and a wrangler.toml in `out` (the eject path)."""
    bundle = render_bundle(config, public_url=public_url or config.public_origin())
    out.mkdir(parents=True, exist_ok=True)
    files = bundle.write(out)
    wrangler = out / "wrangler.toml"
    wrangler.write_text(render_wrangler_toml(config, bundle, kv_namespace_id), encoding="utf-8")
    return bundle, files
