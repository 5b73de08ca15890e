"""The `cfmcp` command line: the root Typer app, one module per command under `commands/`.

Command modules must stay light at import time (no `cloudflare`, `uvicorn` or `mcp` imports at
module level) so `cfmcp --help` starts fast; they import what they need inside the command.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from typing import Any

import typer
import typer.core
import typer.main

from cfmcp import __version__
from cfmcp.errors import CfmcpError, Interrupted
from cfmcp.output import Output, print_error, trace_calls

# Each module exposes register(app: typer.Typer) -> None.
COMMAND_MODULES = [  # in the order --help lists them: set up, run, operate, eject, remove
    "cfmcp.commands.init",
    "cfmcp.commands.deploy",
    "cfmcp.commands.dev",
    "cfmcp.commands.doctor",
    "cfmcp.commands.logs",
    "cfmcp.commands.install_client",
    "cfmcp.commands.clients",
    "cfmcp.commands.rotate_pin",
    "cfmcp.commands.render",
    "cfmcp.commands.destroy",
]


class _FlagsWithoutType:
    """Help lists a flag without a type column (typer 0.29 shows `<bool>` next to every flag)."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class _Command(_FlagsWithoutType, typer.core.TyperCommand):
    pass


class _Group(_FlagsWithoutType, typer.core.TyperGroup):
    pass


app = typer.Typer(
    name="cfmcp",
    cls=_Group,
    help="Put an OAuth 2.1 front door on a PAT-only MCP server, as a Python Cloudflare Worker.",
    no_args_is_help=False,  # see _wrap_commands
    add_completion=True,
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
    """Show CfmcpError (and Ctrl-C) as one line and its exit code, whoever invokes the command;
    with --json also as the one JSON failure document (`cfmcp.output`), for every command;
    `--verbose` turns on the API call trace.

    Ctrl-C is caught here, inside the command, because newer typer (0.29) turns a KeyboardInterrupt
    into a silent exit 130 before `main()` could say anything.
    """

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        trace_calls(bool(kwargs.get("verbose")))
        try:
            return callback(*args, **kwargs)
        except CfmcpError as exc:
            Output(bool(kwargs.get("json_output"))).failure(exc)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            Output(bool(kwargs.get("json_output"))).failure(Interrupted("interrupted"))
            raise typer.Exit(Interrupted.exit_code) from None

    return run


def _wrap_commands(typer_app: typer.Typer) -> None:
    """Wrap every command, in every group; a group without its command is a usage error.

    no_args_is_help is turned off because it prints the whole help and exits 0 (click < 8.2) or
    2 (newer); without it every click says "Missing command", shown as one line, exit 2.
    """
    typer_app.info.no_args_is_help = False
    typer_app.info.cls = _Group
    for command in typer_app.registered_commands:
        if command.cls in (None, typer.core.TyperCommand):
            command.cls = _Command
        elif not issubclass(command.cls, _FlagsWithoutType):  # a command's own class (doctor)
            command.cls = type(command.cls.__name__, (_FlagsWithoutType, command.cls), {})
        if command.callback is not None:
            command.callback = _user_errors_as_exit_codes(command.callback)
    for group in typer_app.registered_groups:
        group.no_args_is_help = False
        group.cls = _Group
        if group.typer_instance is not None:
            _wrap_commands(group.typer_instance)


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)
_wrap_commands(app)


EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# Where the command-line parser's exceptions live. older typer re-exports click's; typer 0.29
# vendors its own copy of click (typer._click) whose classes are not click's. A parse error can
# come from either family (cfmcp's dependencies may call click directly), so both are checked —
# but only when already imported: a module that was never imported raised nothing.
_EXCEPTION_MODULES = ("typer._click.exceptions", "click.exceptions", "typer.exceptions")


_EXCEPTION_KINDS = {
    "exit": "Exit",
    "abort": "Abort",
    "usage": "UsageError",
    "click": "ClickException",
}


def _parser_exception_kind(exc: BaseException) -> str | None:
    """'exit', 'abort', 'usage' or 'click' (another ClickException) for the parser's exceptions."""
    for kind, class_name in _EXCEPTION_KINDS.items():
        for module_name in _EXCEPTION_MODULES:
            cls = getattr(sys.modules.get(module_name), class_name, None)
            if isinstance(cls, type) and isinstance(exc, cls):
                return kind
    return None


def _one_line(text: str) -> str:
    line = " ".join(part.strip() for part in text.splitlines() if part.strip())
    if line[:1].isupper() and not line[1:2].isupper():
        line = line[0].lower() + line[1:]
    return line


def _command_path(exc: Exception, argv: list[str]) -> str:
    """`cfmcp deploy` for an error in deploy's options: from the error's context, else argv.

    Some parse errors (an option missing its value) carry no context in any click version.
    """
    command_path = getattr(getattr(exc, "ctx", None), "command_path", None)
    if command_path:
        return str(command_path)
    command: Any = typer.main.get_command(app)
    path = ["cfmcp"]
    for token in argv:
        if token == "--":
            break
        if token.startswith("-"):
            continue
        sub = getattr(command, "commands", {}).get(token)
        if sub is None:
            break
        path.append(token)
        command = sub
    return " ".join(path)


def _usage_error(exc: Exception, argv: list[str]) -> tuple[str, str]:
    """The one line and the one next step for a command-line usage error."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # its message is the whole help
        message = "missing command"
    else:
        format_message = getattr(exc, "format_message", None)
        message = _one_line(format_message() if callable(format_message) else str(exc))
        message = message.rstrip(".") or "bad usage"
    return message, f"see `{_command_path(exc, argv)} --help`"


def _say(message: str, hint: str | None = None) -> None:
    """A usage error is one line (plus its hint), never wrapped."""
    print_error(message, hint, wrap=False)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: user errors become one line and an exit code, never a trace.

    The parser runs without standalone mode so that every usage error, whichever click (or
    typer's copy of it) raised it, reaches this one place: one line, one next step, exit 2.
    """
    argv = sys.argv[1:] if argv is None else argv
    try:
        # Without standalone mode click returns typer.Exit's code instead of exiting.
        code = app(args=argv, prog_name="cfmcp", standalone_mode=False)
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except CfmcpError as exc:
        print_error(exc.message, exc.hint)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        _say("interrupted")
        raise SystemExit(EXIT_INTERRUPTED) from None
    except Exception as exc:
        kind = _parser_exception_kind(exc)
        if kind == "exit":
            raise SystemExit(getattr(exc, "exit_code", 0)) from None
        if kind == "abort":  # a declined confirmation, or Ctrl-C under click < 8.2's parser
            interrupted = isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt)
            _say("interrupted" if interrupted else "aborted")
            raise SystemExit(EXIT_INTERRUPTED) from None
        if kind == "usage":
            _say(*_usage_error(exc, argv))
            raise SystemExit(EXIT_USAGE) from None
        if kind == "click":  # e.g. a file that cannot be opened
            message = _one_line(exc.format_message())  # type: ignore[attr-defined]
            _say(message)
            raise SystemExit(getattr(exc, "exit_code", 1)) from None
        raise


if __name__ == "__main__":
    main()
