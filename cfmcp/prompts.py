"""Every question cfmcp asks a person, in one place.

Questions go to stderr (stdout stays for results and `--json`), secrets are read without echo, a
bad answer is shown and asked again (what was typed before is kept by the caller), and a
confirmation answered "no" is `Declined` (exit 130, nothing changed).

Without a terminal on stdin (CI, a pipe, a cron job) cfmcp never asks: it could hang on an open
pipe, or read a script's input as answers. Each question that would be asked is a `NoAnswer`
usage error (exit 2) whose hint says how to answer it without a terminal — an option, an
environment variable, `--yes`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer

from cfmcp.errors import CfmcpError, Declined, NoAnswer
from cfmcp.output import print_error


def stdin_is_terminal() -> bool:
    """True when a person can answer: stdin is an open terminal."""
    stdin = sys.stdin
    try:
        return stdin is not None and not stdin.closed and stdin.isatty()
    except (AttributeError, ValueError):
        return False


def needs_terminal(question: str, hint: str) -> None:
    if not stdin_is_terminal():
        raise NoAnswer(f"cannot ask {_shown(question)}: no terminal", hint=hint)


def _shown(question: str) -> str:
    return repr(question.split(" (", 1)[0].rstrip("?: "))


def _answered(question: str, hint: str, read: Callable[[], object]) -> object:
    """What `read` (a typer prompt) returns, asked again when the typed bytes are not UTF-8;
    the end of input is `NoAnswer` and Ctrl-C a KeyboardInterrupt (the command's handler
    reports it, as JSON too), never click's Abort."""
    needs_terminal(question, hint)
    while True:
        try:
            return read()
        except UnicodeDecodeError:
            print_error("that answer is not UTF-8 text", "type it again")
        except typer.Abort as exc:
            if isinstance(exc.__context__, EOFError):
                raise NoAnswer(f"no answer to {_shown(question)}: input ended", hint=hint) from None
            if isinstance(exc.__context__, KeyboardInterrupt):
                raise KeyboardInterrupt from None
            raise


def _asked(question: str, hint: str, **options: object) -> str:
    return str(_answered(question, hint, lambda: typer.prompt(question, err=True, **options)))  # type: ignore[arg-type]


def ask(
    question: str,
    default: str,
    *,
    hint: str,
    check: Callable[[str], object] | None = None,
) -> str:
    """Ask until `check` (raising CfmcpError on a bad answer) accepts the stripped answer."""
    while True:
        answer = _asked(question, hint, default=default or None).strip()
        try:
            if check is not None:
                check(answer)
        except CfmcpError as exc:
            print_error(exc.message, exc.hint)
            continue
        return answer


def choose(question: str, keys: list[str], default: str, *, hint: str) -> str:
    """A key of `keys`, by name or by its 1-based number (the options are shown by the caller)."""
    default_number = str(keys.index(default) + 1) if default in keys else "1"
    while True:
        answer = _asked(question, hint, default=default_number).strip()
        if answer.isdigit() and 1 <= int(answer) <= len(keys):
            return keys[int(answer) - 1]
        if answer in keys:
            return answer
        print_error(f"pick 1-{len(keys)}")


def ask_secret(question: str, *, hint: str, allow_empty: bool = False) -> str:
    """A secret, typed without echo; with `allow_empty` Enter alone answers "" (e.g. "generate
    one"), otherwise it is asked again until something is typed."""
    while True:
        answer = _asked(
            question, hint, hide_input=True, default="" if allow_empty else None, show_default=False
        ).strip()
        if answer or allow_empty:
            return answer


def yes_no(question: str, default: bool, *, hint: str) -> bool:
    """A yes/no answer (a choice, not a confirmation: "no" changes nothing by itself)."""
    return bool(
        _answered(question, hint, lambda: typer.confirm(question, default=default, err=True))
    )


def confirm(
    question: str, *, default: bool, hint: str = "pass --yes to go ahead without asking"
) -> None:
    """Go on only when the person says yes; "no" is `Declined` (nothing changed)."""
    if not yes_no(question, default, hint=hint):
        raise Declined("not confirmed: nothing was changed")
