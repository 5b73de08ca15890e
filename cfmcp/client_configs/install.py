"""`cfmcp install-client`: show a client's setup for this Worker, or merge it into the
client's config file.

A merge changes one entry and nothing else. It refuses, leaving the file untouched, when the
file does not parse (in the syntax its host accepts), when a server of that name already
points elsewhere (unless `--force`), or when the edit cannot be verified; the refusal shows
the snippet to paste by hand. An entry that already holds every value cfmcp would write is
left as it is ("unchanged").
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any, Literal

from rich.markup import escape

from cfmcp.client_configs import json_edit, toml_edit
from cfmcp.client_configs.files import read_config, write_config
from cfmcp.client_configs.hosts import CLIENTS, ClientSetup, ConfigFile, Server
from cfmcp.client_configs.json_edit import UnsafeEdit
from cfmcp.client_configs.jsonc import JsoncError, parse
from cfmcp.errors import ClientConfigError, ClientServerExists, UsageError
from cfmcp.output import Output

Outcome = Literal["shown", "added", "replaced", "unchanged"]
TRANSPORTS = ("streamable-http", "sse")


def check_client(client: str) -> None:
    """A usage error, naming the known clients, unless `client` is one of them."""
    if client not in CLIENTS:
        raise UsageError(
            f"unknown client {client!r}; choose one of: {', '.join(CLIENTS)}",
            hint="see `cfmcp install-client --help`",
        )


def setup_for(client: str, server: Server) -> ClientSetup:
    """The setup of `client` for `server`."""
    check_client(client)
    return CLIENTS[client](server)


def snippet(setup: ClientSetup, name: str) -> str | None:
    """The entry as the user would paste it into the client's file."""
    if setup.config is None or setup.entry is None:
        return None
    if setup.config.format == "toml":
        return toml_edit.render_table((*setup.config.servers_at, name), setup.entry)
    value: Any = {name: setup.entry}
    for key in reversed(setup.config.servers_at):
        value = {key: value}
    return json.dumps(value, indent=2, ensure_ascii=False)


def _matches(current: Any, entry: dict[str, Any]) -> bool:
    """The current entry already holds every value cfmcp would write (other keys are the
    user's own and stay)."""
    return isinstance(current, dict) and all(current.get(k) == v for k, v in entry.items())


def _difference(current: Any, entry: dict[str, Any]) -> str:
    """What the file's entry has where cfmcp's differs, e.g. "url https://old/mcp"."""
    if not isinstance(current, dict):
        return "not an object"
    differ = [key for key, value in entry.items() if current.get(key) != value]
    shown = [f"{key} {current[key]}" if key in current else f"no {key}" for key in differ[:2]]
    return ", ".join(shown)


def _read_entry(config: ConfigFile, text: str, name: str) -> tuple[bool, Any]:
    """(present, value) of the server `name` in the file's text."""
    path = config.path
    kind = "TOML" if config.format == "toml" else config.dialect.describe()
    try:
        if config.format == "toml":
            import tomllib

            document = tomllib.loads(text)
            return toml_edit.existing_table(document, (*config.servers_at, name))
        found = json_edit.existing_entry(parse(text, config.dialect), config.servers_at, name)
        return found.present, found.value
    except (JsoncError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise ClientConfigError(
            f"{path} is not valid {kind} ({exc})",
            hint="fix the file (or move it away), then run this again",
        ) from None
    except UnsafeEdit as exc:
        raise ClientConfigError(
            f"cannot merge into {path}: {exc}", hint="add the entry by hand"
        ) from None


def merge_into_file(setup: ClientSetup, name: str, *, force: bool) -> tuple[Outcome, Path]:
    """Add (or with `force` replace) this server's entry in the client's config file."""
    if setup.config is None or setup.entry is None:
        instead = shlex.join(setup.command) if setup.command else setup.instructions
        raise UsageError(
            f"{setup.client} is not configured through a file (leave out --write)",
            hint=f"instead: {instead}",
        )
    config, entry = setup.config, setup.entry
    text = read_config(config.path)
    outcome: Outcome = "added"
    if text is not None:
        present, current = _read_entry(config, text, name)
        if present and _matches(current, entry):
            return "unchanged", config.path
        if present and not force:
            raise ClientServerExists(
                f"{config.path} already has a server {name!r} ({_difference(current, entry)})",
                hint="re-run with --force to replace it, or choose another --name",
            )
        outcome = "replaced" if present else "added"
    try:
        if config.format == "toml":
            new = toml_edit.put_table(text or "", (*config.servers_at, name), entry)
        else:
            new = json_edit.put_entry(text or "", config.dialect, config.servers_at, name, entry)
    except UnsafeEdit as exc:
        raise ClientConfigError(
            f"cannot merge into {config.path} safely: {exc}", hint="add the entry by hand"
        ) from None
    return outcome, write_config(config.path, new)


def resolve_server(url: str, config_path: Path, transport: str) -> Server:
    """The Worker from `url`, else from the project file and its deploy record."""
    from cfmcp.project.config import load_config
    from cfmcp.project.state import load_state, state_path

    if transport and transport not in TRANSPORTS:
        raise UsageError(
            f"unknown transport {transport!r}", hint=f"use one of: {', '.join(TRANSPORTS)}"
        )
    config = load_config(config_path) if config_path.exists() else None
    sse = (transport or (config.upstream.transport if config else "")) == "sse"
    if url:
        return Server(config.name if config else "cfmcp", url.rstrip("/"), sse, Path.cwd())
    if config is None:
        raise UsageError(
            "no --url given and no cfmcp.toml here",
            hint="pass --url https://…/mcp, or run this in your cfmcp project",
        )
    recorded = load_state(state_path(config_path.parent)).public_url
    origin = recorded or config.public_origin()
    if not origin:
        raise UsageError(
            "this project has not been deployed yet, so its URL is unknown",
            hint="run `cfmcp deploy` first, or pass --url",
        )
    return Server(config.name, origin.rstrip("/") + "/mcp", sse, Path.cwd())


def run_install_client(
    client: str,
    *,
    url: str,
    name: str,
    transport: str = "",
    write: bool,
    force: bool = False,
    config_path: Path,
    out: Output,
) -> None:
    """Show (or merge into the client's file) the setup of `client` for this Worker."""
    check_client(client)  # before anything else is read
    server = resolve_server(url, config_path, transport)
    if name:
        server = Server(name, server.url, server.sse, server.cwd)
    setup = setup_for(client, server)
    text = snippet(setup, server.name)
    outcome: Outcome = "shown"
    written: Path | None = None
    if write:
        try:
            outcome, written = merge_into_file(setup, server.name, force=force)
        except (ClientConfigError, ClientServerExists):
            if text and setup.config and not out.json:
                out.console.print(f"Nothing was changed. Add this to {setup.config.path} by hand:")
                out.console.print(text.rstrip("\n"), highlight=False, markup=False)
            raise
    config = setup.config
    out.result(
        {
            "client": client,
            "name": server.name,
            "mcp_url": server.url,
            "transport": "sse" if server.sse else "streamable-http",
            "instructions": setup.instructions,
            "command": setup.command,
            "sign_in": setup.sign_in,
            "config_path": str(written or (config.path if config else "")),
            "format": config.format if config else None,
            "entry": setup.entry,
            "snippet": text,
            "written": outcome in ("added", "replaced"),
            "outcome": outcome,
        }
    )
    if not out.json:
        _show(setup, server, text, outcome, written, out)


def _show(
    setup: ClientSetup,
    server: Server,
    text: str | None,
    outcome: Outcome,
    written: Path | None,
    out: Output,
) -> None:
    out.say(f"[bold]{escape(setup.client)}[/] → {escape(server.url)}")
    out.console.print(setup.instructions, highlight=False, markup=False)
    if setup.command:
        out.say(f"\n  [bold cyan]{escape(shlex.join(setup.command))}[/]\n")
    if outcome == "unchanged":
        out.say(f"[bold]{escape(str(written))}[/] already has the '{escape(server.name)}' entry.")
    elif outcome in ("added", "replaced"):
        verb = "Replaced" if outcome == "replaced" else "Added"
        out.say(f"{verb} the '{escape(server.name)}' entry in [bold]{escape(str(written))}[/]")
    elif text and setup.config:
        out.say(f"Add this to [bold]{escape(str(setup.config.path))}[/] (or re-run with --write):")
        out.console.print(text.rstrip("\n"), highlight=False, markup=False)
    if setup.sign_in:
        out.say(f"Then sign in: [bold cyan]{escape(setup.sign_in)}[/]")
