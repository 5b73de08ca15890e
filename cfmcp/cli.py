"""The `cfmcp` command line: the root Typer app, one module per command under `commands/`.

Command modules must stay light at import time (no `cloudflare`, `uvicorn` or `mcp` imports at
module level) so `cfmcp --help` starts fast; they import what they need inside the command.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

import typer

from cfmcp import __version__
from cfmcp.console import print_error
from cfmcp.errors import CfmcpError

# Each module exposes register(app: typer.Typer) -> None.
COMMAND_MODULES = [  # in the order --help lists them: set up, run, operate, eject, remove
    "cfmcp.commands.init",
    "cfmcp.commands.deploy",
    "cfmcp.commands.dev",
    "cfmcp.commands.doctor",
    "cfmcp.commands.install_client",
    "cfmcp.commands.clients",
    "cfmcp.commands.rotate_pin",
    "cfmcp.commands.render",
    "cfmcp.commands.destroy",
]

app = typer.Typer(
    name="cfmcp",
    help="Put an OAuth 2.1 front door on a PAT-only MCP server, as a Python Cloudflare Worker.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cfmcp {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Put an OAuth 2.1 front door on a PAT-only MCP server, as a Python Cloudflare Worker."""


def _user_errors_as_exit_codes(callback: Callable[..., Any]) -> Callable[..., Any]:
    """Show CfmcpError as one line and its exit code, whoever invokes the command."""

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except CfmcpError as exc:
            print_error(exc.message, exc.hint)
            raise typer.Exit(exc.exit_code) from None

    return run


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)
for _command in app.registered_commands:
    if _command.callback is not None:
        _command.callback = _user_errors_as_exit_codes(_command.callback)


def main() -> None:
    """Console-script entry point: user errors become one line and an exit code, never a trace."""
    try:
        # Without standalone mode click returns typer.Exit's code instead of exiting.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except CfmcpError as exc:
        print_error(exc.message, exc.hint)
        raise SystemExit(exc.exit_code) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        print_error("aborted")
        raise SystemExit(130) from None
    except KeyboardInterrupt:
        print_error("interrupted")
        raise SystemExit(130) from None
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            raise SystemExit(exc.exit_code) from None
        raise


if __name__ == "__main__":
    main()
