"""What `cfmcp dev` does: resolve secrets, prepare the bundle, bind, probe, print, serve.

Two runtimes serve the bundle: "python" imports its core into this CPython (fast start);
"workerd" runs it in Cloudflare's runtime through miniflare (cfmcp/local/workerd/).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cfmcp.errors import CfmcpError, UsageError
from cfmcp.local.runtime import DevSecrets
from cfmcp.project.secrets import (
    PIN_ENV,
    SIGNING_KEY_ENV,
    UPSTREAM_TOKEN_ENV,
    generate_signing_key,
)

if TYPE_CHECKING:
    from cfmcp.local.worker_output import WorkerOutput
    from cfmcp.local.workerd.locate import WorkerdSetup
    from cfmcp.local.workerd.process import WorkerdProcess, WorkerdReady
    from cfmcp.project.config import ProjectConfig

DEFAULT_STATE = Path(".cfmcp") / "dev-state.sqlite3"  # python: one SQLite file
DEFAULT_WORKERD_STATE = Path(".cfmcp") / "dev-state"  # workerd: miniflare's kv/ and do/ folders
RUNTIMES = ("python", "workerd")
PROBE_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class DevOptions:
    upstream: str | None
    host: str
    port: int
    state: Path | None  # None: the runtime's default
    bundle: Path | None
    ready_file: Path | None
    config: Path | None
    demo: bool
    runtime: str = "python"
    miniflare_dir: Path | None = None
    pyodide_cache: Path | None = None
    kv_latency_ms: int = 0  # testing aids, workerd only
    count_ops: bool = False
    json_logs: bool = False  # the Worker's lines as it prints them (JSON), the panel on stderr


@dataclass(frozen=True)
class PinChoice:
    pin: str
    generated: bool


def check_options(options: DevOptions) -> None:
    """Reject flag combinations that cannot mean anything."""
    if options.demo and (options.upstream or options.bundle):
        raise UsageError("--demo runs its own upstream: drop --upstream/--bundle")
    if options.bundle and options.upstream:
        raise UsageError(
            "--bundle already names its upstream: drop --upstream",
            hint="or drop --bundle and let `cfmcp dev` render one",
        )
    if options.bundle and options.config:
        raise UsageError("--bundle and --config are exclusive")
    if options.runtime not in RUNTIMES:
        raise UsageError(f"unknown runtime {options.runtime!r}", hint="use python or workerd")
    if options.runtime != "workerd" and (
        options.kv_latency_ms or options.count_ops or options.miniflare_dir or options.pyodide_cache
    ):
        raise UsageError(
            "--miniflare-dir, --pyodide-cache, --kv-latency-ms and --count-ops "
            "are for --runtime workerd"
        )
    if options.kv_latency_ms < 0:
        raise UsageError("--kv-latency-ms cannot be negative")
    if options.runtime == "workerd" and options.state is not None and options.state.is_file():
        raise UsageError(
            f"with --runtime workerd, --state names a directory: {options.state} is a file",
            hint=f"give a directory, e.g. {DEFAULT_WORKERD_STATE}/",
        )


def state_path(options: DevOptions) -> Path:
    """--state, or the runtime's default (a file for python, a directory for workerd)."""
    if options.state is not None:
        return options.state
    return DEFAULT_WORKERD_STATE if options.runtime == "workerd" else DEFAULT_STATE


def upstream_token(demo: bool) -> str:
    """The PAT: generated for the demo, else from the environment or a hidden prompt."""
    if demo:
        return secrets.token_urlsafe(32)
    from cfmcp.project.secrets import check_upstream_token

    token = os.environ.get(UPSTREAM_TOKEN_ENV, "").strip()
    if token:
        return check_upstream_token(token, f"the PAT in {UPSTREAM_TOKEN_ENV}")
    from cfmcp.prompts import ask_secret

    return check_upstream_token(
        ask_secret(
            "Upstream personal access token (input hidden)",
            hint=f"set {UPSTREAM_TOKEN_ENV}, or use --demo",
        )
    )


def choose_pin() -> PinChoice:
    pin = os.environ.get(PIN_ENV, "").strip()
    if pin:
        from cfmcp.project.secrets import check_pin

        return PinChoice(check_pin(pin, f"the PIN from {PIN_ENV}"), generated=False)
    from cfmcp.project.secrets import generate_pin

    return PinChoice(generate_pin(), generated=True)  # as strong as `deploy`'s (~59 bits)


def signing_key() -> str:
    return os.environ.get(SIGNING_KEY_ENV, "").strip() or generate_signing_key()


def dev_project_config(options: DevOptions, upstream_override: str | None) -> ProjectConfig:
    """cfmcp.toml when present (or named), defaults otherwise; --upstream wins."""
    from cfmcp.project.config import ProjectConfig, load_config, validate_upstream_url

    if options.config is not None:
        config = load_config(options.config)
    elif Path("cfmcp.toml").exists() and not options.demo:
        config = load_config(Path("cfmcp.toml"))
    else:
        config = ProjectConfig()
        if not upstream_override:
            raise UsageError(
                "no upstream to front",
                hint="give --upstream URL, create cfmcp.toml with `cfmcp init`, or try --demo",
            )
    if upstream_override:
        validate_upstream_url(upstream_override)
        config.upstream.url = upstream_override
    return config.validate()


def render_to(config: ProjectConfig, out: Path) -> Path:
    """Render the bundle with no public URL (the issuer is the request origin)."""
    from cfmcp.worker.render import render_bundle

    try:
        bundle = render_bundle(config, public_url="")
    except FileNotFoundError as exc:
        raise CfmcpError(f"cannot render the Worker: {exc}") from None
    bundle.write(out)
    return out


def probe_upstream(url: str) -> str | None:
    """None when the upstream answers anything at all, else a short reason. Only the status
    line and headers are waited for: a legacy SSE endpoint's body never ends."""
    import httpx

    try:
        with httpx.stream(
            "GET", url, timeout=PROBE_TIMEOUT_SECONDS, follow_redirects=False, trust_env=False
        ):
            pass
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return None


def pat_problem(bundle_dir: Path, token: str) -> str | None:
    """What is wrong with the PAT, as the upstream answers it now (None: nothing known)."""
    from datetime import UTC, datetime

    from cfmcp.local.runtime import upstream_config_of
    from cfmcp.pat.probe import check_pat
    from cfmcp.pat.verdict import FORBIDDEN_MEANS, PatStatus, expires_soon, expiry_phrase

    upstream = upstream_config_of(bundle_dir)
    verdict = check_pat(upstream, token, timeout=PROBE_TIMEOUT_SECONDS)
    if verdict.status is PatStatus.refused:
        return (
            f"the upstream refuses this PAT ({verdict.detail}): MCP requests will get a 502 "
            f"saying so; restart with a valid {UPSTREAM_TOKEN_ENV}"
        )
    if verdict.status is PatStatus.forbidden:
        return (
            f"the upstream answers 403 to this PAT ({verdict.detail}): {FORBIDDEN_MEANS}; "
            f"if it lasts, restart with a PAT that has the permissions, in {UPSTREAM_TOKEN_ENV}"
        )
    now = datetime.now(UTC)
    if verdict.expires_at is not None and expires_soon(verdict.expires_at, now):
        return (
            expiry_phrase(verdict.expires_at, now)
            + f": restart with a new {UPSTREAM_TOKEN_ENV} soon"
        )
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
        config = dev_project_config(options, options.upstream)
    setup = None
    if options.runtime == "workerd":
        from cfmcp.local.workerd.locate import locate

        setup = locate(options.miniflare_dir, options.pyodide_cache)
    token = upstream_token(options.demo)
    pin = choose_pin()
    secrets_ = DevSecrets(token, pin.pin, signing_key())
    state = state_path(options)
    from cfmcp.local.worker_output import WorkerOutput

    output = WorkerOutput(json_lines=options.json_logs)
    with ExitStack() as stack:
        sock = None
        if setup is None:
            sock = bind_socket(options.host, options.port)
            stack.callback(sock.close)
        elif options.port:
            # "port in use" said the same way, before workerd starts; workerd binds it itself
            bind_socket(options.host, options.port).close()
        bound: list[tuple[Any, Any]] = []  # (ASGI app, bound socket)
        if options.demo:
            from cfmcp.local.demo import demo_app

            demo_sock = bind_socket("127.0.0.1", 0)
            stack.callback(demo_sock.close)
            config = dev_project_config(options, f"{origin_of(demo_sock)}/mcp")
            config.oauth.server_name = "cfmcp demo"
            bound.append((demo_app(secrets_.upstream_token), demo_sock))
        if given_bundle is not None:
            bundle_dir = given_bundle
        else:
            assert config is not None
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="cfmcp-dev-"))
            bundle_dir = render_to(config, Path(tmp))
        from cfmcp.local.runtime import (
            build_local_worker,
            upstream_transport_of,
            upstream_url_of,
        )

        worker = None
        runtime_note = None
        ready_extra: dict[str, str] = {}
        if sock is not None:
            bound.append((build_local_worker(bundle_dir, secrets_, state, output), sock))
            origin = origin_of(sock)
        else:
            assert setup is not None
            worker, started = start_workerd(
                setup, options, bundle_dir, secrets_, state, config, output
            )
            stack.callback(worker.stop)
            origin = started.origin
            runtime_note = (
                f"workerd {started.workerd_version} (miniflare "
                f"{started.miniflare_version}), compatibility date "
                f"{started.compatibility_date}, started in "
                f"{started.startup_ms / 1000:.1f} s"
            )
            if started.control:
                ready_extra["control"] = started.control
        upstream_url = upstream_url_of(bundle_dir)
        if not options.demo:
            reason = probe_upstream(upstream_url)
            if reason:
                panel.warn(
                    f"upstream {upstream_url} is not reachable right now ({reason}); "
                    "MCP requests will fail with 502 until it is up"
                )
            else:
                problem = pat_problem(bundle_dir, secrets_.upstream_token)
                if problem:
                    panel.warn(problem)
        panel.show(
            origin=origin,
            upstream=upstream_url,
            upstream_transport=upstream_transport_of(bundle_dir),
            pin=pin.pin if pin.generated else None,
            state=state,
            demo=options.demo,
            host=options.host,
            runtime=runtime_note,
            signing_key_kept=bool(os.environ.get(SIGNING_KEY_ENV, "").strip()),
            to_stderr=options.json_logs,
        )

        from cfmcp.local.dev_record import DevRecord, remove_dev_record, write_dev_record

        def ready() -> None:
            write_dev_record(
                DevRecord(
                    origin=origin,
                    upstream_url=upstream_url,
                    upstream_transport=upstream_transport_of(bundle_dir),
                    runtime=options.runtime,
                    state=str(state.resolve()),
                    demo=options.demo,
                    pid=os.getpid(),
                )
            )
            stack.callback(remove_dev_record, os.getpid())
            if options.ready_file is None:
                return
            if ready_extra:
                from cfmcp.local.workerd.serve import write_ready_json

                write_ready_json(options.ready_file, {"origin": origin, **ready_extra})
            else:
                write_ready_file(options.ready_file, origin)

        if worker is None:
            asyncio.run(serve_apps(bound, ready))
        else:
            from cfmcp.local.workerd.serve import serve_with_workerd

            asyncio.run(serve_with_workerd(worker, bound, ready))
    panel.stopped()


def start_workerd(
    setup: WorkerdSetup,
    options: DevOptions,
    bundle_dir: Path,
    secrets_: DevSecrets,
    state: Path,
    config: ProjectConfig | None,
    output: WorkerOutput | None = None,
) -> tuple[WorkerdProcess, WorkerdReady]:
    """Start the runner for `bundle_dir` with KV and Durable Objects persisted under `state`."""
    from cfmcp.local.workerd.process import WorkerdOptions, WorkerdProcess
    from cfmcp.project.config import DEFAULT_COMPATIBILITY_DATE
    from cfmcp.worker.contract import EXACT_BINDING, EXACT_CLASS, KV_BINDING

    state.mkdir(parents=True, exist_ok=True)
    worker = WorkerdProcess(
        setup,
        WorkerdOptions(
            bundle_dir=bundle_dir,
            host=options.host,
            port=options.port,
            state=state,
            compatibility_date=(
                config.compatibility_date if config is not None else DEFAULT_COMPATIBILITY_DATE
            ),
            kv_binding=KV_BINDING,
            exact_binding=EXACT_BINDING,
            exact_class=EXACT_CLASS,
            kv_latency_ms=options.kv_latency_ms,
            count_ops=options.count_ops,
        ),
        {
            "UPSTREAM_TOKEN": secrets_.upstream_token,
            "AUTH_PIN": secrets_.pin,
            "SIGNING_KEY": secrets_.signing_key,
        },
        stdout_line=output,
    )
    return worker, worker.start()
