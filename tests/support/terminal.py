"""Drive the installed `cfmcp` on a real pseudo-terminal, as a person types into it.

`Terminal.expect(text)` waits for `text` in what the program wrote, `type(line)` types a line.
Everything written is kept in `output` (with the terminal's echo of visible answers; hidden
answers are not echoed, which the tests check).
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import subprocess
import termios
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

_ANSI_STYLE = re.compile(r"\x1b\[[0-9;]*m")  # Rich's bold/colour (NO_COLOR keeps bold)


def _own_terminal() -> None:
    """In the child: a session of its own whose controlling terminal is the pty (so /dev/tty
    opens, getpass reads without echo, and Ctrl-C is a SIGINT from the terminal)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    def __init__(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> None:
        master, slave = pty.openpty()
        self._fd = master
        self.process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            preexec_fn=_own_terminal,
        )
        os.close(slave)
        self.output = ""

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self._fd, 65536)
        except OSError:  # the program ended and closed the terminal
            return False
        text = chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        self.output += _ANSI_STYLE.sub("", text)
        return bool(chunk)

    def expect(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        start = len(self.output)
        while text not in self.output[start:]:
            left = deadline - time.monotonic()
            if left <= 0 or (not self._read(left) and self.process.poll() is not None):
                raise AssertionError(f"{text!r} never came; the terminal shows:\n{self.output}")

    def type(self, line: str) -> None:
        os.write(self._fd, (line + "\r").encode())

    def type_hidden(self, line: str | bytes, timeout: float = 10.0) -> None:
        """Type `line` once the program has turned the terminal's echo off (a hidden prompt
        shows its text first and turns echo off after); fails if echo stays on."""
        deadline = time.monotonic() + timeout
        while termios.tcgetattr(self._fd)[3] & termios.ECHO:
            if time.monotonic() > deadline:
                raise AssertionError(f"echo is still on:\n{self.output}")
            time.sleep(0.01)
        self.send((line.encode() if isinstance(line, str) else line) + b"\r")

    def send(self, data: bytes) -> None:
        os.write(self._fd, data)

    def wait(self, timeout: float = 60.0) -> int:
        """The exit code, after reading everything the program still writes."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self._read(0.2)
        while self._read(0.2):
            pass
        if self.process.poll() is None:
            self.process.kill()
            raise AssertionError(f"still running after {timeout} s:\n{self.output}")
        return self.process.returncode

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self._fd)
