"""`install-client` checked by the real clients: Gemini CLI (`gemini mcp list`), Codex
(`codex mcp get --json`) and opencode (`opencode mcp list`) read the files `--write` merged
into, and Claude Code runs the printed command (`claude mcp add`, then `claude mcp get`).
Each runs offline in a network namespace of its own (`unshare -n`) with a temporary HOME.

They are npm packages. `scripts/test` installs `@google/gemini-cli` (tests/node, ~100 MB);
`@openai/codex`, `opencode-ai` and `@anthropic-ai/claude-code` (~1.1 GB together) it does not:
put their bin folder in CFMCP_CLIENT_CLIS (or on PATH) to run those; otherwise they are
skipped. Last run with
@google/gemini-cli 0.61.0, @openai/codex 0.169.0, opencode-ai 1.18.33 and
@anthropic-ai/claude-code 2.1.328.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cfmcp.cli import app

URL = "https://gh.acme.workers.dev/mcp"
OTHER = "https://other.example.com/mcp"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


NODE_BIN = Path(__file__).resolve().parent / "node" / "node_modules" / ".bin"


def _cli(name: str) -> str:
    folder = os.environ.get("CFMCP_CLIENT_CLIS")
    found = shutil.which(name, path=folder) if folder else shutil.which(name)
    found = found or shutil.which(name, path=str(NODE_BIN))  # scripts/test installs gemini
    if not found:
        pytest.skip(f"{name} is not installed (set CFMCP_CLIENT_CLIS to its bin folder)")
    return found


def _offline() -> list[str]:
    unshare = shutil.which("unshare")
    if not unshare or subprocess.run([unshare, "-n", "true"], capture_output=True).returncode:
        pytest.skip("cannot make a network namespace here (unshare -n)")
    return [unshare, "-n"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (tmp_path / "project").mkdir()
    monkeypatch.setenv("HOME", str(home))
    for variable in ("XDG_CONFIG_HOME", "CODEX_HOME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path / "project")
    return home


def _write(client: str, *extra: str) -> None:
    result = CliRunner().invoke(app, ["install-client", client, "--url", URL, "--write", *extra])
    assert result.exit_code == 0, result.output


def _run(command: list[str], home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CONFIG_HOME", "CODEX_HOME")}
    done = subprocess.run(
        [*_offline(), *command],
        env={**env, "HOME": str(home), "NO_COLOR": "1"},
        cwd=home.parent / "project",
        capture_output=True,
        text=True,
        timeout=60,
    )
    return ANSI.sub("", done.stdout + done.stderr)


@pytest.mark.parametrize(("extra", "shown"), [((), "(http)"), (("--transport", "sse"), "(sse)")])
def test_gemini_reads_the_merged_settings(home, extra, shown):
    gemini = _cli("gemini")
    settings = home / ".gemini" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(
        f'{{\n  // mine\n  "mcpServers": {{\n    "other": {{"httpUrl": "{OTHER}"}}\n  }}\n}}\n'
    )
    _write("gemini", *extra)
    listed = _run([gemini, "mcp", "list"], home)
    assert f"cfmcp: {URL} {shown}" in listed, listed
    assert f"other: {OTHER} (http)" in listed, listed


@pytest.mark.parametrize("sse", [False, True])
def test_codex_reads_the_merged_config(home, sse):
    codex = _cli("codex")
    config = home / ".codex" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'# mine\nmodel = "o3"\n\n[mcp_servers.other]\nurl = "{OTHER}"\n')
    _write("codex", *(["--transport", "sse"] if sse else []))
    output = _run([codex, "mcp", "get", "cfmcp", "--json"], home)
    transport = json.JSONDecoder().raw_decode(output, output.index("{"))[0]["transport"]
    if sse:
        assert transport["type"] == "stdio" and transport["command"] == "npx"
        assert transport["args"] == ["-y", "mcp-remote", URL, "--transport", "sse-only"]
    else:
        assert transport == {**transport, "type": "streamable_http", "url": URL}
    assert f'url = "{OTHER}"' in config.read_text()


def test_opencode_reads_the_merged_jsonc(home):
    opencode = _cli("opencode")
    config = home / ".config" / "opencode" / "opencode.jsonc"
    config.parent.mkdir(parents=True)
    config.write_text(
        '{\n  // mine\n  "$schema": "https://opencode.ai/config.json",\n  "mcp": {\n'
        f'    "other": {{"type": "remote", "url": "{OTHER}"}},\n  }},\n}}\n'
    )
    _write("opencode")
    listed = _run([opencode, "mcp", "list"], home)
    assert "cfmcp" in listed and URL in listed, listed
    assert "other" in listed and OTHER in listed, listed
    assert "2 server(s)" in listed, listed


@pytest.mark.parametrize(("extra", "kind"), [((), "http"), (("--transport", "sse"), "sse")])
def test_claude_code_accepts_the_printed_command(home, extra, kind):
    claude = _cli("claude")
    result = CliRunner().invoke(
        app, ["install-client", "claude-code", "--url", URL, *extra, "--json"]
    )
    data = json.loads(result.stdout)
    command, sign_in = data["command"], data["sign_in"].split()
    assert command[0] == "claude" and sign_in[:3] == ["claude", "mcp", "login"]
    _run([claude, *command[1:]], home)
    shown = _run([claude, "mcp", "get", "cfmcp"], home)
    assert f"Type: {kind}" in shown and f"URL: {URL}" in shown, shown
    assert "Usage: claude mcp login" in _run([claude, *sign_in[1:3], "--help"], home)
