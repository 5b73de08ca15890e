"""Usage errors through the installed `cfmcp` console script: one line, one next step, exit 2.

These run the entry point as a user does (a subprocess of the script pip installed next to this
Python), so they catch what CliRunner cannot: which click (or typer's vendored copy of it) raises
the parse error and whether `cli.main()` turns it into one line. scripts/dep-matrix runs this file
with the lowest and the newest typer/click the pyproject ranges allow.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CFMCP = Path(sys.executable).parent / ("cfmcp.exe" if os.name == "nt" else "cfmcp")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CFMCP_", "CLOUDFLARE_"))}
    env["COLUMNS"] = "60"  # a narrow terminal must not wrap the one line
    env["NO_COLOR"] = "1"
    return env


def run_cfmcp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert CFMCP.exists(), f"no installed console script at {CFMCP} (pip install -e .)"
    return subprocess.run(
        [str(CFMCP), *args],
        cwd=cwd,
        env=_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


USAGE_ERRORS = [
    # (argv, words the error line must contain, the command whose --help the hint names)
    ((), "missing command", "cfmcp"),
    (("-V",), "-V", "cfmcp"),
    (("bogus",), "bogus", "cfmcp"),
    (("deploy", "--bogus"), "--bogus", "cfmcp deploy"),
    (("deploy", "--config"), "--config", "cfmcp deploy"),  # an option missing its value
    (("deploy", "--smoke-timeout", "abc"), "--smoke-timeout", "cfmcp deploy"),  # bad type
    (("deploy", "--dry-run", "--format", "xml"), "--format", "cfmcp deploy"),  # not a choice
    (("render", "--bogus"), "--bogus", "cfmcp render"),
    (("clients",), "missing command", "cfmcp clients"),
    (("clients", "bogus"), "bogus", "cfmcp clients"),
    (("clients", "list", "--bogus"), "--bogus", "cfmcp clients list"),
]


@pytest.mark.parametrize(("argv", "words", "command"), USAGE_ERRORS, ids=lambda v: str(v))
def test_usage_error_is_one_line_and_exit_2(
    tmp_path: Path, argv: tuple[str, ...], words: str, command: str
) -> None:
    result = run_cfmcp(*argv, cwd=tmp_path)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 2, result.stderr
    error, hint = lines
    assert error.startswith("error: ")
    assert words in error
    assert len(error) <= 160
    assert hint == f"hint: see `{command} --help`"


@pytest.mark.parametrize("argv", [("--help",), ("deploy", "--help"), ("clients", "--help")])
def test_help_exits_0(tmp_path: Path, argv: tuple[str, ...]) -> None:
    result = run_cfmcp(*argv, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
    assert "Traceback" not in result.stderr + result.stdout


EVERY_COMMAND = [
    (),
    ("init",),
    ("deploy",),
    ("dev",),
    ("doctor",),
    ("install-client",),
    ("rotate-pin",),
    ("render",),
    ("destroy",),
    ("clients",),
    ("clients", "list"),
    ("clients", "revoke"),
    ("clients", "set-policy"),
]


@pytest.mark.parametrize("argv", EVERY_COMMAND, ids=lambda v: " ".join(v) or "cfmcp")
def test_help_shows_flags_without_a_type(tmp_path: Path, argv: tuple[str, ...]) -> None:
    # typer 0.29 prints `<bool>` next to every flag (`--json <bool>` reads as if it took a value)
    result = run_cfmcp(*argv, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--help" in result.stdout
    assert "<bool>" not in result.stdout
    assert "BOOLEAN" not in result.stdout


def test_shell_completion_completes_commands(tmp_path: Path) -> None:
    script = run_cfmcp("--show-completion", "bash", cwd=tmp_path)
    assert script.returncode == 0, script.stderr
    assert "_CFMCP_COMPLETE=complete_bash" in script.stdout
    # what the installed bash function runs on <Tab> after `cfmcp de`
    env = _env() | {"_CFMCP_COMPLETE": "complete_bash", "COMP_WORDS": "cfmcp de", "COMP_CWORD": "1"}
    result = subprocess.run(
        [str(CFMCP)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {"deploy", "dev", "destroy"}


def test_version_exits_0(tmp_path: Path) -> None:
    from cfmcp import __version__

    result = run_cfmcp("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"cfmcp {__version__}"


@pytest.mark.skipif(os.name == "nt", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_is_one_line_and_exit_130(tmp_path: Path) -> None:
    # `cfmcp init` waits at its first prompt (the Cloudflare token) for input that never comes.
    proc = subprocess.Popen(
        [str(CFMCP), "init"],
        cwd=tmp_path,
        env=_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3)  # time to reach the prompt
        assert proc.poll() is None, "cfmcp init ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in out + err
    assert proc.returncode == 130, err
    # (the hidden prompt may sit on the same line: some clicks write it to stderr, no newline)
    assert err.count("error:") == 1, err
    assert err.rstrip().endswith("error: interrupted"), err
