"""Run a cfmcp command in-process, as a person at a terminal types into it.

`input` stands for what the person types; cfmcp asks nothing without a terminal
(`cfmcp.prompts`), so a run given input is told stdin is one. Without input, stdin is not a
terminal, as under CI or a pipe.
"""

from __future__ import annotations

from collections.abc import Sequence
from unittest import mock

from typer.testing import CliRunner, Result

from cfmcp.cli import app


def invoke(args: Sequence[str], input: str | None = None) -> Result:
    if input is None:
        return CliRunner().invoke(app, list(args))
    with mock.patch("cfmcp.prompts.stdin_is_terminal", return_value=True):
        return CliRunner().invoke(app, list(args), input=input)
