"""What `cfmcp dev` does: resolve secrets, prepare the bundle, bind, probe, print, serve."""

from __future__ import annotations

import asyncio
import getpass
import os
import secrets
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cfmcp.errors import CfmcpError, UsageError
from cfmcp.local.runtime import DevSecrets

if TYPE_CHECKING:
    from cfmcp.config import ProjectConfig

ENV_TOKEN = "CFMCP_UPSTREAM_TOKEN"
ENV_PIN = "CFMCP_PIN"
ENV_SIGNING_KEY = "CFMCP_SIGNING_KEY"
DEFAULT_STATE = Path(".cfmcp") / "dev-state.sqlite3"
PROBE_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class DevOptions:
    upstream: str | None
    host: str
    port: int
    state: Path
    bundle: Path | None
    ready_file: Path | None
    config: Path | None
    demo: bool


@dataclass(frozen=True)
class PinChoice:
    pin: str
    generated: bool


def check_options(options: DevOptions) -> None:
    """Reject flag combinations that cannot mean anything."""
    if options.demo and (options.upstream or options.bundle):
        raise UsageError("--demo runs its own upstream: drop --upstream/--bundle")
    if options.bundle and options.upstream:
        raise UsageError("--bundle already names its upstream: drop --upstream",
                         hint="or drop --bundle and let `cfmcp dev` render one")
    if options.bundle and options.config:
        raise UsageError("--bundle and --config are exclusive")


def upstream_token(demo: bool) -> str:
    """The PAT: generated for the demo, else from the environment or a hidden prompt."""
    if demo:
        return secrets.token_urlsafe(32)
    token = os.environ.get(ENV_TOKEN, "").strip()
    if token:
        return token
    if not sys.stdin.isatty():
        raise CfmcpError("no upstream token",
                         hint=f"set {ENV_TOKEN} (stdin is not a terminal, so it cannot be asked)")
    try:
        token = getpass.getpass("Upstream personal access token (input hidden): ").strip()
    except EOFError:
        token = ""
    if not token:
        raise CfmcpError("no upstream token given", hint=f"paste it, or set {ENV_TOKEN}")
    return token


def choose_pin() -> PinChoice:
    pin = os.environ.get(ENV_PIN, "").strip()
    if pin:
        from cfmcp.pin import check_pin

        return PinChoice(check_pin(pin, f"the PIN from {ENV_PIN}"), generated=False)
    from cfmcp.pin import generate_pin

    return PinChoice(generate_pin(), generated=True)  # as strong as `deploy`'s (~59 bits)


def signing_key() -> str:
    return os.environ.get(ENV_SIGNING_KEY, "").strip() or secrets.token_urlsafe(32)


def load_project_config(options: DevOptions, upstream_override: str | None) -> ProjectConfig:
    """cfmcp.toml when present (or named), defaults otherwise; --upstream wins."""
    from cfmcp.config import ProjectConfig, load_config, validate_upstream_url

    if options.config is not None:
        config = load_config(options.config)
    elif Path("cfmcp.toml").exists() and not options.demo:
        config = load_config(Path("cfmcp.toml"))
    else:
        config = ProjectConfig()
        if not upstream_override:
            raise UsageError("no upstream to front",
                             hint="give --upstream URL, create cfmcp.toml with `cfmcp init`, "
                                  "or try --demo")
    if upstream_override:
        validate_upstream_url(upstream_override)
        config.upstream.url = upstream_override
    return config.validate()


def render_to(config: ProjectConfig, out: Path) -> Path:
    """Render the bundle with no public URL (the issuer is the request origin)."""
    from cfmcp.render import render_bundle

    try:
        bundle = render_bundle(config, public_url="")
    except FileNotFoundError as exc:
        raise CfmcpError(f"cannot render the Worker: {exc}") from None
    bundle.write(out)
    return out


def probe_upstream(url: str) -> str | None:
    """None when the upstream answers anything at all, else a short reason."""
    import httpx

    try:
        httpx.get(url, timeout=PROBE_TIMEOUT_SECONDS, follow_redirects=False, trust_env=False)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return None


def run_dev(options: DevOptions) -> None:
    """Serve the Worker locally until interrupted."""
    from cfmcp.local import panel
    from cfmcp.local.bundle import check_bundle_dir
    from cfmcp.local.server import bind_socket, origin_of, serve_apps, write_ready_file

    check_options(options)
    # bad input fails before anything is asked for or started
    given_bundle = check_bundle_dir(options.bundle) if options.bundle is not None else None
    config = None
    if given_bundle is None and not options.demo:
        config = load_project_config(options, options.upstream)
    token = upstream_token(options.demo)
    pin = choose_pin()
    secrets_ = DevSecrets(token, pin.pin, signing_key())
    with ExitStack() as stack:
        sock = bind_socket(options.host, options.port)
        stack.callback(sock.close)
        bound: list[tuple[object, object]] = []
        if options.demo:
            from cfmcp.local.demo import demo_app

            demo_sock = bind_socket("127.0.0.1", 0)
            stack.callback(demo_sock.close)
            config = load_project_config(options, f"{origin_of(demo_sock)}/mcp")
            config.oauth.server_name = "cfmcp demo"
            bound.append((demo_app(secrets_.upstream_token), demo_sock))
        if given_bundle is not None:
            bundle_dir = given_bundle
        else:
            assert config is not None
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="cfmcp-dev-"))
            bundle_dir = render_to(config, Path(tmp))
        from cfmcp.local.runtime import build_local_worker, upstream_url_of

        worker = build_local_worker(bundle_dir, secrets_, options.state)
        bound.append((worker, sock))
        origin = origin_of(sock)
        upstream_url = upstream_url_of(bundle_dir)
        if not options.demo:
            reason = probe_upstream(upstream_url)
            if reason:
                panel.warn(f"upstream {upstream_url} is not reachable right now ({reason}); "
                           "MCP requests will fail with 502 until it is up")
        panel.show(origin=origin, upstream=upstream_url, pin=pin.pin if pin.generated else None,
                   state=options.state, demo=options.demo, host=options.host)

        def ready() -> None:
            if options.ready_file is not None:
                write_ready_file(options.ready_file, origin)

        asyncio.run(serve_apps(bound, ready))
    panel.stopped()
