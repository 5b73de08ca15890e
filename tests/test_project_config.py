"""cfmcp.toml: validation, round trip, no secrets."""

from __future__ import annotations

import pytest

from cfmcp.errors import CfmcpError, ProjectFileError
from cfmcp.project.config import ProjectConfig, dump_config, load_config, save_config


def test_round_trip(tmp_path):
    config = ProjectConfig(name="gh-mcp", account_id="0" * 32)
    config.upstream.extra_headers = {"X-MCP-Readonly": "true"}
    config.hostname.mode = "custom_domain"
    config.hostname.domain = "mcp.example.com"
    config.hostname.zone = "example.com"
    path = tmp_path / "cfmcp.toml"
    save_config(config, path)
    assert load_config(path) == config


@pytest.mark.parametrize(
    "mutate,needle",
    [
        (lambda c: setattr(c, "name", "Bad_Name"), "worker name"),
        (lambda c: setattr(c, "account_id", "xyz"), "account id"),
        (lambda c: setattr(c.upstream, "url", "ftp://x.example.com"), "upstream URL"),
        (lambda c: setattr(c.upstream, "url", "http://example.com/mcp"), "not https"),
        (lambda c: setattr(c.upstream, "url", "https://u:p@example.com/mcp"), "credentials"),
        (lambda c: setattr(c.upstream, "auth_format", "Bearer"), "auth_format"),
        (lambda c: setattr(c.upstream, "auth_header", "Bad Header"), "header name"),
        (lambda c: setattr(c.upstream, "extra_headers", {"Authorization": "x"}), "not allowed"),
        (lambda c: setattr(c.upstream, "extra_headers", {"X-A": "a\r\nB: c"}), "line break"),
        (lambda c: setattr(c.hostname, "mode", "custom_domain"), "custom domain"),
        (lambda c: setattr(c.oauth, "code_ttl", 5), "code_ttl"),
        (lambda c: setattr(c.oauth, "scopes", []), "scopes"),
    ],
)
def test_invalid_values_are_named(mutate, needle):
    config = ProjectConfig()
    mutate(config)
    with pytest.raises(CfmcpError, match=needle):
        config.validate()


def test_unknown_keys_are_refused(tmp_path):
    path = tmp_path / "cfmcp.toml"
    path.write_text('name = "x"\n[upstream]\nurl = "https://a.example.com/mcp"\npat = "ghp_x"\n')
    with pytest.raises(CfmcpError, match="unknown key"):
        load_config(path)


def test_written_file_has_no_secret_fields():
    text = dump_config(ProjectConfig())
    for word in ("token =", "pin", "signing", "secret"):
        assert word not in text.lower().replace("# cfmcp project file. no secrets here", "")


def test_public_origin():
    config = ProjectConfig(name="w")
    assert config.public_origin("acme") == "https://w.acme.workers.dev"
    assert config.public_origin() == ""
    config.hostname.mode = "route"
    config.hostname.route = "mcp.example.com/*"
    assert config.public_origin() == "https://mcp.example.com"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[oauth]\naccess_token_ttl = "10"\n',
            '[oauth] access_token_ttl must be a whole number, not "10"',
        ),
        ('[oauth]\nscopes = "mcp"\n', "[oauth] scopes must be a list of texts"),
        ("name = 5\n", "[top level] name must be text in quotes, not a number"),
        ('[hostname]\nmode = "nope"\n', "[hostname] mode must be one of"),
        ('[upstream]\nextra_headers = { "A" = 1 }\n', "[upstream] extra_headers must be a table"),
        ('[consent]\nclient_policies = { "claude.ai" = 3 }\n', "[consent] client_policies"),
        ("[oauth]\ncode_ttl = true\n", "[oauth] code_ttl must be a whole number, not true"),
    ],
)
def test_a_value_of_the_wrong_type_is_named_not_a_python_error(tmp_path, text, message):
    """Wrong types used to surface as `'<' not supported between 'str' and 'int'` (or, for a
    scope given as text, as one scope per letter)."""
    path = tmp_path / "cfmcp.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProjectFileError) as caught:
        load_config(path)
    assert message in caught.value.message
