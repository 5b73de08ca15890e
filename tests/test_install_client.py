"""`cfmcp install-client`: commands and config files for each MCP client."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cfmcp.cli import app
from cfmcp.project.config import ProjectConfig, save_config

URL = "https://gh.acme.workers.dev/mcp"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


def _run(*args):
    return CliRunner().invoke(app, ["install-client", *args])


def test_claude_code_command():
    result = _run("claude-code", "--url", URL, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["command"] == ["claude", "mcp", "add", "--transport", "http", "cfmcp", URL]


def test_cursor_write_merges_and_keeps_other_servers(tmp_path):
    path = tmp_path / "home" / ".cursor" / "mcp.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"mcpServers": {"other": {"url": "https://o.example.com"}}}))
    result = _run("cursor", "--url", URL, "--name", "github", "--write")
    assert result.exit_code == 0, result.output
    data = json.loads(path.read_text())
    assert data["mcpServers"] == {"other": {"url": "https://o.example.com"}, "github": {"url": URL}}


def test_vscode_snippet_without_write(tmp_path):
    result = _run("vscode", "--url", URL)
    assert result.exit_code == 0
    assert '"type": "http"' in result.output
    assert not (tmp_path / ".vscode" / "mcp.json").exists()


def test_broken_config_file_is_not_overwritten(tmp_path):
    path = tmp_path / "home" / ".cursor" / "mcp.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    result = _run("cursor", "--url", URL, "--write")
    assert result.exit_code == 1
    assert path.read_text() == "{not json"


def test_url_from_project_config(tmp_path):
    config = ProjectConfig(name="gh-mcp")
    config.hostname.mode = "custom_domain"
    config.hostname.domain = "mcp.example.com"
    save_config(config, tmp_path / "cfmcp.toml")
    data = json.loads(_run("mcp-remote", "--json").output)
    assert data["mcp_url"] == "https://mcp.example.com/mcp" and data["name"] == "gh-mcp"


def test_unknown_client_and_missing_url_are_usage_errors():
    assert _run("netscape", "--url", URL).exit_code == 2
    assert _run("cursor").exit_code == 2


def test_write_for_a_command_client_names_the_command_to_run():
    result = _run("claude-code", "--url", URL, "--write")
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert f"claude mcp add --transport http cfmcp {URL}" in text
