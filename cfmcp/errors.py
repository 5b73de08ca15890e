"""cfmcp's user-facing errors: a one-line message plus the one thing to do next."""

from __future__ import annotations


class CfmcpError(Exception):
    """An error shown to the user as one line (and a hint), never as a traceback."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(CfmcpError):
    """Bad input on the command line or in the project file (exit code 2)."""

    exit_code = 2
