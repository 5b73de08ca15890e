"""`cfmcp render`: write the Worker bundle exactly as it is uploaded, plus a wrangler.toml."""

from __future__ import annotations

from pathlib import Path

import typer

from cfmcp.commands.options import DEFAULT_CONFIG, ConfigOption, JsonOption


def register(app: typer.Typer) -> None:
    app.command("render")(render)


def render(
    out: Path = typer.Option(Path("worker"), "--out", "-o", help="Folder to write the bundle to."),
    config_path: ConfigOption = DEFAULT_CONFIG,
    public_url: str = typer.Option(
        "",
        "--public-url",
        help="Issuer URL to render in (default: the configured hostname, or the workers.dev "
        "URL the last deploy recorded).",
    ),
    kv_namespace_id: str = typer.Option(
        "",
        "--kv-namespace-id",
        help="KV namespace id for wrangler.toml (default: the one the last deploy recorded).",
    ),
    json_output: JsonOption = False,
) -> None:
    """Render the Worker (eject path): deploy the folder with `wrangler deploy` if you prefer."""
    from rich.markup import escape

    from cfmcp.output import Output
    from cfmcp.worker.eject import KV_ID_PLACEHOLDER, eject

    done = eject(config_path, out, public_url=public_url, kv_namespace_id=kv_namespace_id)
    output = Output(json_output)
    output.result(
        {
            "out": str(out),
            "sha256": done.bundle.sha256,
            "modules": sorted(done.bundle.modules),
            "public_url": done.public_url or None,
            "kv_namespace_id": done.kv_namespace_id or None,
            "deployed_sha256": done.deployed_sha256 or None,
            "matches_deployed": done.matches_deployed,
        }
    )
    if json_output:
        return
    output.say(f"Wrote {len(done.files)} modules and wrangler.toml to [bold]{escape(str(out))}[/]")
    output.say(f"bundle sha256 [bold]{done.bundle.sha256}[/]")
    if not done.public_url:
        output.say(
            "[yellow]no public URL[/]: no deploy recorded the workers.dev URL, so this bundle "
            "takes its issuer from each request's origin; `cfmcp deploy` renders "
            "https://NAME.SUBDOMAIN.workers.dev in (another sha256) — pass --public-url to match"
        )
    if done.matches_deployed:
        output.say("[green]✓[/] the bundle the last `cfmcp deploy` uploaded")
    elif done.matches_deployed is False:
        output.say(
            f"[yellow]differs from the bundle the last deploy uploaded[/] "
            f"({done.deployed_sha256[:12]}…): cfmcp.toml or cfmcp changed since; "
            "`cfmcp deploy` would upload this one"
        )
    if not done.kv_namespace_id:
        output.say(
            f"[yellow]wrangler.toml has {escape(KV_ID_PLACEHOLDER)}[/]: no deploy recorded a KV "
            "namespace; create one and put its id there (or pass --kv-namespace-id)"
        )
