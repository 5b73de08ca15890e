"""Usage errors through the installed `cfmcp` console script: one line, one next step, exit 2.

These run the entry point as a user does (a subprocess of the script pip installed next to this
Python), so they catch what CliRunner cannot: which click (or typer's vendored copy of it) raises
the parse error and whether `cli.main()` turns it into one line. scripts/dep-matrix runs this file
with the lowest and the newest typer/click the pyproject ranges allow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal is POSIX")
def test_ctrl_c_is_one_line_and_exit_130(tmp_path: Path) -> None:
    from tests.support.terminal import Terminal

    # `cfmcp init` waits at its first prompt (the Cloudflare token); Ctrl-C on the terminal.
    terminal = Terminal([str(CFMCP), "init"], cwd=tmp_path, env=_env())
    try:
        terminal.expect("Cloudflare API token")
        terminal.send(b"\x03")
        code = terminal.wait()
    finally:
        terminal.close()
    assert "Traceback" not in terminal.output
    assert code == 130, terminal.output
    assert terminal.output.count("error:") == 1, terminal.output
    assert terminal.output.rstrip().endswith("error: interrupted"), terminal.output


def test_without_a_terminal_a_question_is_a_usage_error(tmp_path: Path) -> None:
    # stdin is not a terminal (CI, a pipe): nothing is asked, nothing hangs, no echo warning
    result = run_cfmcp("init", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "echoed" not in result.stderr and "Traceback" not in result.stderr
    error, hint = " ".join(result.stderr.split()).split(" hint: ")
    assert error == "error: cannot ask 'Cloudflare API token': no terminal"
    assert hint.startswith("set CLOUDFLARE_API_TOKEN")
    assert not (tmp_path / "cfmcp.toml").exists()


def test_without_a_terminal_json_failure_is_json(tmp_path: Path) -> None:
    (tmp_path / "cfmcp.toml").write_text(
        'name = "gh-mcp"\naccount_id = "' + "0" * 32 + '"\n'
        '[upstream]\nurl = "https://api.githubcopilot.com/mcp"\n'
    )
    result = run_cfmcp("destroy", "--json", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    failure = json.loads(result.stdout)
    assert failure["ok"] is False and failure["code"] == "no_answer"
    assert "CLOUDFLARE_API_TOKEN" in failure["hint"]


@pytest.mark.parametrize("argv", [("--local",), ("--local", "--json"), ("--json", "--local")])
def test_doctor_local_takes_an_optional_value(tmp_path: Path, argv: tuple[str, ...]) -> None:
    """`--local` alone is no usage error on any typer/click: it means the `cfmcp dev` running
    here, found through the record dev writes (here: one naming a port nothing listens on)."""
    import json
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    record = {
        "origin": f"http://127.0.0.1:{port}",
        "upstream_url": "http://127.0.0.1:9/mcp",
        "upstream_transport": "streamable-http",
        "runtime": "python",
        "state": str(tmp_path / "state.sqlite3"),
        "demo": True,
        "pid": os.getpid(),  # alive: this test
    }
    (tmp_path / ".cfmcp").mkdir()
    (tmp_path / ".cfmcp" / "dev.json").write_text(json.dumps(record))
    result = run_cfmcp("doctor", *argv, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert " ".join(result.stderr.split()) == (  # one message (60 columns may wrap it)
        f"error: nothing answers at http://127.0.0.1:{port} — start it with `cfmcp dev`"
    )


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal is POSIX")
def test_ctrl_c_at_a_prompt_under_json_is_the_json_failure(tmp_path: Path) -> None:
    from tests.support.terminal import Terminal

    (tmp_path / "cfmcp.toml").write_text(f'name = "gh-mcp"\naccount_id = "{"0" * 32}"\n')
    terminal = Terminal([str(CFMCP), "destroy", "--json"], cwd=tmp_path, env=_env())
    try:
        terminal.expect("Cloudflare API token")
        terminal.send(b"\x03")
        code = terminal.wait()
    finally:
        terminal.close()
    assert code == 130, terminal.output
    assert '"code": "interrupted"' in terminal.output and '"ok": false' in terminal.output
    assert "Traceback" not in terminal.output


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal is POSIX")
def test_a_hidden_answer_that_is_not_utf8_is_asked_again(tmp_path: Path) -> None:
    from tests.support.terminal import Terminal

    terminal = Terminal([str(CFMCP), "init"], cwd=tmp_path, env=_env())
    try:
        terminal.expect("Cloudflare API token")
        terminal.type_hidden(b"FAKE-sec\xffret")
        terminal.expect("not UTF-8")
        terminal.expect("Cloudflare API token")
        terminal.send(b"\x03")
        code = terminal.wait()
    finally:
        terminal.close()
    assert code == 130, terminal.output
    assert "Traceback" not in terminal.output and "FAKE-sec" not in terminal.output
