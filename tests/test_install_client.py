"""`cfmcp install-client`: every client's setup, merging into its own file, and refusals."""

from __future__ import annotations

import json
import os
import re
import tomllib

import pytest
from typer.testing import CliRunner

from cfmcp.cli import app
from cfmcp.client_configs.hosts import CLIENTS
from cfmcp.client_configs.jsonc import JSONC, loads
from cfmcp.commands.install_client import CLIENT_NAMES
from cfmcp.project.config import ProjectConfig, save_config

URL = "https://gh.acme.workers.dev/mcp"

# client -> (config file under the temp HOME or cwd, servers path, the entry for URL)
FILE_CLIENTS = {
    "claude-desktop": (
        "home/.config/Claude/claude_desktop_config.json",
        ("mcpServers",),
        {"command": "npx", "args": ["-y", "mcp-remote", URL]},
    ),
    "cursor": ("home/.cursor/mcp.json", ("mcpServers",), {"url": URL}),
    "vscode": (".vscode/mcp.json", ("servers",), {"type": "http", "url": URL}),
    "windsurf": ("home/.codeium/windsurf/mcp_config.json", ("mcpServers",), {"serverUrl": URL}),
    "gemini": ("home/.gemini/settings.json", ("mcpServers",), {"httpUrl": URL}),
    "codex": ("home/.codex/config.toml", ("mcp_servers",), {"url": URL}),
    "opencode": ("home/.config/opencode/opencode.json", ("mcp",), {"type": "remote", "url": URL}),
}


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for variable in ("XDG_CONFIG_HOME", "CODEX_HOME", "APPDATA"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr("platform.system", lambda: "Linux")
    monkeypatch.chdir(tmp_path)


def _run(*args):
    return CliRunner().invoke(app, ["install-client", *args], env={"COLUMNS": "200"})


def _json(*args):
    result = _run(*args, "--json")
    return result.exit_code, json.loads(result.stdout)


def _servers(path, servers_at):
    text = path.read_text()
    data = tomllib.loads(text) if path.suffix == ".toml" else loads(text, JSONC)
    for key in servers_at:
        data = data[key]
    return data


def _sse_project(tmp_path):
    config = ProjectConfig(name="lin")
    config.upstream.transport = "sse"
    save_config(config, tmp_path / "cfmcp.toml")


# ------------------------------------------------------------------------- what is shown


def test_help_lists_every_client():
    assert CLIENT_NAMES.replace(" or ", ", ").split(", ") == list(CLIENTS)
    result = CliRunner().invoke(app, ["install-client", "--help"], env={"COLUMNS": "200"})
    text = " ".join(result.output.split())
    for client in CLIENTS:
        assert client in text


def test_an_unknown_client_is_a_usage_error_listing_the_clients():
    for args in (("netscape", "--url", URL), ("netscape",)):
        result = _run(*args)
        assert result.exit_code == 2
        first = result.output.splitlines()[0]
        assert "unknown client 'netscape'" in first
        assert all(client in first for client in CLIENTS)


def test_claude_code_command_and_sign_in():
    code, data = _json("claude-code", "--url", URL)
    assert code == 0
    assert data["command"] == ["claude", "mcp", "add", "--transport", "http", "cfmcp", URL]
    assert data["sign_in"] == "claude mcp login cfmcp"
    assert data["outcome"] == "shown" and data["written"] is False


@pytest.mark.parametrize("client", ["claude-ai", "chatgpt"])
def test_web_clients_are_instructions_with_the_url(client):
    code, data = _json(client, "--url", URL, "--name", "github")
    assert code == 0 and data["command"] is None and data["entry"] is None
    assert URL in data["instructions"] and "github" in data["instructions"]
    assert "Connectors" in data["instructions"]


def test_mcp_remote_command():
    code, data = _json("mcp-remote", "--url", URL)
    assert code == 0
    assert data["command"] == ["npx", "-y", "mcp-remote", URL]


@pytest.mark.parametrize("client", FILE_CLIENTS)
def test_each_file_client_shows_its_own_snippet_and_writes_nothing(tmp_path, client):
    relative, servers_at, entry = FILE_CLIENTS[client]
    code, data = _json(client, "--url", URL)
    assert code == 0
    assert data["entry"] == entry and data["outcome"] == "shown"
    assert data["config_path"] == str(tmp_path / relative)
    if data["format"] == "toml":
        assert tomllib.loads(data["snippet"]) == {"mcp_servers": {"cfmcp": entry}}
    else:
        snippet = json.loads(data["snippet"])
        for key in servers_at:
            snippet = snippet[key]
        assert snippet == {"cfmcp": entry}
    assert not (tmp_path / relative).exists()
    human = _run(client, "--url", URL)
    assert human.exit_code == 0 and "re-run with --write" in human.output


def test_url_from_project_config(tmp_path):
    config = ProjectConfig(name="gh-mcp")
    config.hostname.mode = "custom_domain"
    config.hostname.domain = "mcp.example.com"
    save_config(config, tmp_path / "cfmcp.toml")
    _, data = _json("mcp-remote")
    assert data["mcp_url"] == "https://mcp.example.com/mcp" and data["name"] == "gh-mcp"


@pytest.mark.parametrize(
    ("system", "env", "expected"),
    [
        ("Darwin", {}, "home/Library/Application Support/Claude/claude_desktop_config.json"),
        ("Windows", {"APPDATA": "roaming"}, "roaming/Claude/claude_desktop_config.json"),
        ("Linux", {"XDG_CONFIG_HOME": "xdg"}, "xdg/Claude/claude_desktop_config.json"),
    ],
)
def test_claude_desktop_config_per_os(tmp_path, monkeypatch, system, env, expected):
    monkeypatch.setattr("platform.system", lambda: system)
    for variable, value in env.items():
        monkeypatch.setenv(variable, str(tmp_path / value))
    assert _json("claude-desktop", "--url", URL)[1]["config_path"] == str(tmp_path / expected)


def test_missing_url_is_a_usage_error():
    assert _run("cursor").exit_code == 2


# ---------------------------------------------------------------------- legacy SSE Worker

SSE_FORMS = {
    "claude-code": ("command", ["claude", "mcp", "add", "--transport", "sse", "lin", URL]),
    "mcp-remote": ("command", ["npx", "-y", "mcp-remote", URL, "--transport", "sse-only"]),
    "claude-desktop": (
        "entry",
        {"command": "npx", "args": ["-y", "mcp-remote", URL, "--transport", "sse-only"]},
    ),
    "vscode": ("entry", {"type": "sse", "url": URL}),
    "gemini": ("entry", {"url": URL, "type": "sse"}),
    "codex": (
        "entry",
        {"command": "npx", "args": ["-y", "mcp-remote", URL, "--transport", "sse-only"]},
    ),
    "cursor": ("entry", {"url": URL}),
    "windsurf": ("entry", {"serverUrl": URL}),
    "opencode": ("entry", {"type": "remote", "url": URL}),
}


@pytest.mark.parametrize("client", SSE_FORMS)
def test_a_legacy_sse_project_gets_each_clients_sse_form(tmp_path, client):
    _sse_project(tmp_path)
    field, expected = SSE_FORMS[client]
    code, data = _json(client, "--url", URL)
    assert code == 0 and data["transport"] == "sse"
    assert data[field] == expected


def test_codex_says_it_has_no_sse_and_the_web_clients_mention_it(tmp_path):
    _sse_project(tmp_path)
    assert "no legacy SSE transport" in _json("codex", "--url", URL)[1]["instructions"]
    assert "SSE" in _json("claude-ai", "--url", URL)[1]["instructions"]
    for client in ("cursor", "windsurf", "opencode"):
        assert "picks the transport itself" in _json(client, "--url", URL)[1]["instructions"]


def test_transport_option_overrides_and_is_checked():
    _, data = _json("vscode", "--url", URL, "--transport", "sse")
    assert data["entry"]["type"] == "sse"
    assert _run("vscode", "--url", URL, "--transport", "websocket").exit_code == 2


# ------------------------------------------------------------------------------ --write


@pytest.mark.parametrize("client", FILE_CLIENTS)
def test_each_file_client_writes_a_new_file_its_host_can_read(tmp_path, client):
    relative, servers_at, entry = FILE_CLIENTS[client]
    code, data = _json(client, "--url", URL, "--write")
    assert code == 0 and data["outcome"] == "added" and data["written"] is True
    assert _servers(tmp_path / relative, servers_at) == {"cfmcp": entry}


def test_cursor_write_merges_and_keeps_other_servers(tmp_path):
    path = tmp_path / "home" / ".cursor" / "mcp.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"mcpServers": {"other": {"url": "https://o.example.com"}}}))
    result = _run("cursor", "--url", URL, "--name", "github", "--write")
    assert result.exit_code == 0, result.output
    data = json.loads(path.read_text())
    assert data["mcpServers"] == {"other": {"url": "https://o.example.com"}, "github": {"url": URL}}


VSCODE_WITH_COMMENTS = """{
  // shared with the team
  "servers": {
    "github": {
      "type": "http",
      "url": "https://api.githubcopilot.com/mcp", // hosted
    },
  },
  /* inputs come later */
}
"""


def test_a_vscode_mcp_json_with_comments_is_merged_and_keeps_them(tmp_path):
    path = tmp_path / ".vscode" / "mcp.json"
    path.parent.mkdir()
    path.write_text(VSCODE_WITH_COMMENTS)
    code, data = _json("vscode", "--url", URL, "--write")
    assert code == 0 and data["outcome"] == "added"
    text = path.read_text()
    for line in (
        "// shared with the team",
        '"url": "https://api.githubcopilot.com/mcp", // hosted',
    ):
        assert line in text
    assert "/* inputs come later */" in text
    assert set(_servers(path, ("servers",))) == {"github", "cfmcp"}


def test_opencode_edits_an_existing_jsonc_file(tmp_path):
    path = tmp_path / "home" / ".config" / "opencode" / "opencode.jsonc"
    path.parent.mkdir(parents=True)
    path.write_text('{\n  // mine\n  "model": "anthropic/claude-sonnet-4-5",\n}\n')
    _, data = _json("opencode", "--url", URL, "--write")
    assert data["config_path"] == str(path)
    assert path.read_text().startswith('{\n  // mine\n  "model": "anthropic/claude-sonnet-4-5",\n')
    assert _servers(path, ("mcp",)) == {"cfmcp": {"type": "remote", "url": URL}}


def test_xdg_config_home_and_codex_home_are_honoured(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    assert _json("opencode", "--url", URL)[1]["config_path"] == str(
        tmp_path / "xdg" / "opencode" / "opencode.json"
    )
    assert _json("codex", "--url", URL)[1]["config_path"] == str(tmp_path / "codex" / "config.toml")


def test_codex_write_appends_its_table_and_keeps_the_rest(tmp_path):
    path = tmp_path / "home" / ".codex" / "config.toml"
    path.parent.mkdir(parents=True)
    original = '# my settings\nmodel = "o3"\n\n[mcp_servers.docs]\ncommand = "npx"\n'
    path.write_text(original)
    assert _run("codex", "--url", URL, "--write").exit_code == 0
    assert path.read_text() == original + f'\n[mcp_servers.cfmcp]\nurl = "{URL}"\n'


def test_an_entry_that_is_already_there_is_left_as_it_is(tmp_path):
    path = tmp_path / "home" / ".cursor" / "mcp.json"
    path.parent.mkdir(parents=True)
    original = json.dumps({"mcpServers": {"cfmcp": {"url": URL, "headers": {"X": "1"}}}})
    path.write_text(original)
    code, data = _json("cursor", "--url", URL, "--write")
    assert code == 0 and data["outcome"] == "unchanged" and data["written"] is False
    assert path.read_text() == original


def test_write_for_a_command_client_names_the_command_to_run():
    result = _run("claude-code", "--url", URL, "--write")
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert f"claude mcp add --transport http cfmcp {URL}" in text


def test_symlinked_config_is_written_through_and_keeps_its_mode(tmp_path):
    real = tmp_path / "dotfiles" / "mcp.json"
    real.parent.mkdir()
    real.write_text("{}")
    os.chmod(real, 0o600)
    link = tmp_path / "home" / ".cursor" / "mcp.json"
    link.parent.mkdir(parents=True)
    link.symlink_to(real)
    assert _run("cursor", "--url", URL, "--write").exit_code == 0
    assert link.is_symlink() and json.loads(real.read_text()) == {
        "mcpServers": {"cfmcp": {"url": URL}}
    }
    assert real.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in real.parent.iterdir()] == ["mcp.json"]  # no temp file left


# ------------------------------------------------------------------------------ refusals


REFUSED = [
    ("cursor", "home/.cursor/mcp.json", "{not json", "client_config", "not valid JSON"),
    ("cursor", "home/.cursor/mcp.json", '{"mcpServers": {}} // c', "client_config", "comments"),
    (
        "gemini",
        "home/.gemini/settings.json",
        '{\n  // ok\n  "mcpServers": {},\n}\n',
        "client_config",
        "trailing comma",
    ),
    ("vscode", ".vscode/mcp.json", '{"servers": []}', "client_config", "not an object"),
    ("vscode", ".vscode/mcp.json", "[1, 2]", "client_config", "JSON object"),
    (
        "vscode",
        ".vscode/mcp.json",
        '{"servers": {"cfmcp": {"url": "https://other.example.com/mcp"}}}',
        "client_server_exists",
        "url https://other.example.com/mcp",
    ),
    ("codex", "home/.codex/config.toml", "model = \n", "client_config", "not valid TOML"),
    (
        "codex",
        "home/.codex/config.toml",
        '[mcp_servers]\ncfmcp = { url = "https://old.example.com/mcp" }\n',
        "client_server_exists",
        "old.example.com",
    ),
    (
        "codex",
        "home/.codex/config.toml",
        '[mcp_servers.cfmcp]\ncommand = "old-bridge"\n',
        "client_server_exists",
        "(no url)",
    ),
    (
        "vscode",
        ".vscode/mcp.json",
        f'{{"servers": {{"cfmcp": {{"url": "{URL}"}}}}}}',
        "client_server_exists",
        "(no type)",
    ),
    (
        "cursor",
        "home/.cursor/mcp.json",
        '{"mcpServers": {"cfmcp": 1}}',
        "client_server_exists",
        "not an object",
    ),
]


@pytest.mark.parametrize(("client", "relative", "content", "code", "says"), REFUSED)
def test_refusals_change_nothing_and_say_why(tmp_path, client, relative, content, code, says):
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode())
    exit_code, data = _json(client, "--url", URL, "--write")
    assert exit_code == 1
    assert data["ok"] is False and data["code"] == code and says in data["error"]
    assert data["hint"]
    assert path.read_bytes() == content.encode()
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    human = _run(client, "--url", URL, "--write")
    assert "by hand" in human.output and "Nothing was changed" in human.output


def test_force_replaces_an_entry_that_points_elsewhere(tmp_path):
    path = tmp_path / ".vscode" / "mcp.json"
    path.parent.mkdir()
    path.write_text(
        '{\n  "servers": {\n    // ours\n    "cfmcp": {"type": "sse", "url": "x"}\n  }\n}\n'
    )
    code, data = _json("vscode", "--url", URL, "--write", "--force")
    assert code == 0 and data["outcome"] == "replaced"
    assert "// ours" in path.read_text()
    assert _servers(path, ("servers",)) == {"cfmcp": {"type": "http", "url": URL}}


def test_force_replaces_a_codex_table_in_place(tmp_path):
    path = tmp_path / "home" / ".codex" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[mcp_servers.cfmcp]\nurl = "https://old/mcp"\n\n[profiles.x]\nmodel = "o3"\n')
    code, data = _json("codex", "--url", URL, "--write", "--force")
    assert code == 0 and data["outcome"] == "replaced"
    assert path.read_text() == f'[mcp_servers.cfmcp]\nurl = "{URL}"\n\n[profiles.x]\nmodel = "o3"\n'


def test_force_cannot_rewrite_an_inline_codex_table_and_says_to_do_it_by_hand(tmp_path):
    path = tmp_path / "home" / ".codex" / "config.toml"
    path.parent.mkdir(parents=True)
    content = '[mcp_servers]\ncfmcp = { url = "https://old/mcp" }\n'
    path.write_text(content)
    code, data = _json("codex", "--url", URL, "--write", "--force")
    assert code == 1 and data["code"] == "client_config" and "by hand" in data["hint"]
    assert path.read_text() == content


def test_a_failure_in_json_mode_prints_only_the_failure_document(tmp_path):
    path = tmp_path / "home" / ".cursor" / "mcp.json"
    path.parent.mkdir(parents=True)
    path.write_text("{")
    result = _run("cursor", "--url", URL, "--write", "--json")
    assert set(json.loads(result.stdout)) == {"ok", "error", "code", "hint"}
    assert re.search(r"line 1, column 2", json.loads(result.stdout)["error"])
