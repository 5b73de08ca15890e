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
        "", "--public-url", help="Issuer URL to render in (default: the configured hostname)."
    ),
    kv_namespace_id: str = typer.Option(
        "<KV_NAMESPACE_ID>", "--kv-namespace-id", help="KV namespace id for wrangler.toml."
    ),
    json_output: JsonOption = False,
) -> None:
    """Render the Worker (eject path): deploy the folder with `wrangler deploy` if you prefer."""
    from rich.markup import escape

    from cfmcp.output import Output
    from cfmcp.project.config import ProjectConfig, load_config
    from cfmcp.worker.render import write_eject_folder

    config = load_config(config_path) if config_path.exists() else ProjectConfig().validate()
    bundle, files = write_eject_folder(
        config, out, public_url=public_url, kv_namespace_id=kv_namespace_id
    )
    output = Output(json_output)
    output.result({"out": str(out), "sha256": bundle.sha256, "modules": sorted(bundle.modules)})
    if not json_output:
        output.say(f"Wrote {len(files)} modules and wrangler.toml to [bold]{escape(str(out))}[/]")
        output.say(f"bundle sha256 [bold]{bundle.sha256}[/]")
