"""`cfmcp render`: write the Worker bundle exactly as it is uploaded, plus a wrangler.toml."""

from __future__ import annotations

from pathlib import Path

import typer

from cfmcp.console import console, print_json


def register(app: typer.Typer) -> None:
    app.command("render")(render)


def render(
    out: Path = typer.Option(Path("worker"), "--out", "-o", help="Folder to write the bundle to."),
    config_path: Path = typer.Option(Path("cfmcp.toml"), "--config", "-c", help="Project file."),
    public_url: str = typer.Option(
        "", "--public-url", help="Issuer URL to render in (default: the configured hostname)."
    ),
    kv_namespace_id: str = typer.Option(
        "<KV_NAMESPACE_ID>", "--kv-namespace-id", help="KV namespace id for wrangler.toml."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Render the Worker (eject path): deploy the folder with `wrangler deploy` if you prefer."""
    from cfmcp.config import ProjectConfig, load_config
    from cfmcp.render import render_bundle, render_wrangler_toml

    config = load_config(config_path) if config_path.exists() else ProjectConfig().validate()
    url = public_url or config.public_origin()
    bundle = render_bundle(config, public_url=url)
    out.mkdir(parents=True, exist_ok=True)
    files = bundle.write(out)
    (out / "wrangler.toml").write_text(
        render_wrangler_toml(config, bundle, kv_namespace_id), encoding="utf-8"
    )
    if json_output:
        print_json({"out": str(out), "sha256": bundle.sha256, "modules": sorted(bundle.modules)})
        return
    console.print(f"Wrote {len(files)} modules and wrangler.toml to [bold]{out}[/]")
    console.print(f"bundle sha256 [bold]{bundle.sha256}[/]")
