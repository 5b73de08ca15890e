"""`cfmcp init`: interactive (driven through its prompts) and flag-driven, against the fake API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cfmcp.project.config import GITHUB_UPSTREAM, load_config
from tests.fake_cloudflare.fake import FakeCloudflare
from tests.fake_cloudflare.fixtures import fake_cloudflare
from tests.support.cli import invoke
from tests.support.deployed import isolate, use_fake_env

ACCOUNT = "0123456789abcdef0123456789abcdef"


fake = fake_cloudflare  # the pytest fixture, by the name these tests use


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path)


def init(*args: str, input: str | None = None):
    return invoke(["init", *args], input=input)


def use_fake(monkeypatch: pytest.MonkeyPatch, fake: FakeCloudflare, account: bool = False):
    use_fake_env(monkeypatch, fake)
    if not account:
        monkeypatch.delenv("CLOUDFLARE_ACCOUNT_ID")


def test_non_interactive_minimal_without_a_token(tmp_path):
    result = init(
        "--non-interactive",
        "--name",
        "gh-mcp",
        "--account-id",
        ACCOUNT,
        "--upstream",
        GITHUB_UPSTREAM,
    )
    assert result.exit_code == 0, result.output
    config = load_config(tmp_path / "cfmcp.toml")
    assert (config.name, config.account_id, config.upstream.url) == (
        "gh-mcp",
        ACCOUNT,
        GITHUB_UPSTREAM,
    )
    assert config.hostname.mode == "workers_dev"
    assert config.upstream.auth_format == "Bearer {token}"
    assert "cfmcp deploy" in result.output


def test_non_interactive_custom_upstream_domain_and_ttls(tmp_path, fake, monkeypatch):
    use_fake(monkeypatch, fake)
    result = init(
        "--non-interactive",
        "--name",
        "docs-mcp",
        "--account-id",
        fake.account_id,
        "--upstream",
        "https://mcp.vendor.example/mcp",
        "--auth-header",
        "X-API-Key",
        "--auth-format",
        "{token}",
        "--extra-header",
        "X-Readonly: true",
        "--domain",
        "mcp.example.com",
        "--access-token-days",
        "7",
        "--refresh-token-days",
        "14",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mcp_url"] == "https://mcp.example.com/mcp"
    config = load_config(tmp_path / "cfmcp.toml")
    assert config.upstream.auth_header == "X-API-Key"
    assert config.upstream.extra_headers == {"X-Readonly": "true"}
    assert (config.hostname.mode, config.hostname.domain, config.hostname.zone) == (
        "custom_domain",
        "mcp.example.com",
        "example.com",
    )
    assert config.oauth.access_token_ttl == 7 * 86400
    assert config.oauth.refresh_token_ttl == 14 * 86400
    assert fake.token not in (tmp_path / "cfmcp.toml").read_text()


def test_non_interactive_route(tmp_path):
    result = init(
        "--non-interactive",
        "--name",
        "gh",
        "--account-id",
        ACCOUNT,
        "--upstream",
        "github",
        "--route",
        "api.example.com/mcp*",
        "--zone",
        "example.com",
    )
    assert result.exit_code == 0, result.output
    host = load_config(tmp_path / "cfmcp.toml").hostname
    assert (host.mode, host.route, host.zone) == ("route", "api.example.com/mcp*", "example.com")


@pytest.mark.parametrize(
    "args",
    [
        ["--route", "api.example.com/*"],
        ["--domain", "a.example.com", "--route", "b.example.com/*", "--zone", "example.com"],
        ["--name", "Not_Valid"],
        ["--upstream", "http://insecure.example.com/mcp"],
    ],
)
def test_non_interactive_bad_input_is_a_usage_error(tmp_path, args):
    base = ["--non-interactive", "--account-id", ACCOUNT, "--upstream", "github", "--name", "x"]
    result = init(*base, *args)
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "cfmcp.toml").exists()


def test_domain_outside_the_accounts_zones_is_refused(tmp_path, fake, monkeypatch):
    use_fake(monkeypatch, fake)
    result = init(
        "--non-interactive",
        "--name",
        "x",
        "--account-id",
        fake.account_id,
        "--upstream",
        "github",
        "--domain",
        "mcp.not-mine.org",
    )
    assert result.exit_code == 2
    assert "none of the account's zones" in result.output and "example.com" in result.output


def test_invalid_token_is_caught_on_the_spot(tmp_path, fake, monkeypatch):
    use_fake(monkeypatch, fake)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "FAKE-wrong-token-000000000000000000")
    result = init(
        "--non-interactive", "--name", "x", "--account-id", fake.account_id, "--upstream", "github"
    )
    assert result.exit_code == 1
    assert "token is invalid" in result.output
    assert not (tmp_path / "cfmcp.toml").exists()


def test_interactive_walkthrough(tmp_path, fake, monkeypatch):
    use_fake(monkeypatch, fake)
    answers = (
        "\n".join(
            [
                "Bad_Name",  # Worker name: refused, asked again
                "my-mcp",
                "2",  # upstream: custom
                "https://mcp.vendor.example/mcp",  # URL
                "X-API-Key",  # header
                "{token}",  # format
                "1",  # workers.dev
                "10",  # access token days
                "",  # refresh token days (default)
            ]
        )
        + "\n"
    )
    result = init(input=answers)
    assert result.exit_code == 0, result.output
    assert "my-mcp.fake-subdomain.workers.dev" in result.output
    assert "Cloudflare API token is active" in result.output
    assert "invalid worker name 'Bad_Name'" in result.output
    config = load_config(tmp_path / "cfmcp.toml")
    assert config.account_id == fake.account_id  # the only account the token reaches
    assert config.name == "my-mcp"
    assert (config.upstream.url, config.upstream.auth_header) == (
        "https://mcp.vendor.example/mcp",
        "X-API-Key",
    )
    assert config.oauth.access_token_ttl == 10 * 86400
    assert config.oauth.refresh_token_ttl == 90 * 86400


def test_interactive_token_prompt_and_custom_domain(tmp_path, fake, monkeypatch):
    use_fake(monkeypatch, fake)
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN")
    answers = (
        "\n".join(
            [
                fake.token,  # hidden token prompt
                "gh-mcp",  # name
                "1",  # GitHub preset
                "",  # read-only preselected for claude.ai and ChatGPT (default: yes)
                "2",  # custom domain
                "mcp.example.com",
                "",
                "",  # TTLs
            ]
        )
        + "\n"
    )
    result = init(input=answers)
    assert result.exit_code == 0, result.output
    config = load_config(tmp_path / "cfmcp.toml")
    assert config.upstream.url == GITHUB_UPSTREAM
    assert (config.hostname.domain, config.hostname.zone) == ("mcp.example.com", "example.com")
    assert config.policies["read-only"]["headers"] == {"X-MCP-Readonly": "true"}
    assert config.consent.client_policies["claude.ai"] == "read-only"
    assert fake.token not in (tmp_path / "cfmcp.toml").read_text()
    assert fake.token not in result.stdout.replace(answers, "")


def test_rerun_edits_the_existing_project(tmp_path, fake, monkeypatch):
    first = init(
        "--non-interactive",
        "--name",
        "gh-mcp",
        "--account-id",
        ACCOUNT,
        "--upstream",
        "github",
        "--server-name",
        "GitHub",
        "--access-token-days",
        "5",
    )
    assert first.exit_code == 0, first.output
    edited = init("--non-interactive", "--domain", "mcp.example.com", "--zone", "example.com")
    assert edited.exit_code == 0, edited.output
    config = load_config(tmp_path / "cfmcp.toml")
    assert (config.name, config.account_id, config.oauth.server_name) == (
        "gh-mcp",
        ACCOUNT,
        "GitHub",
    )
    assert config.oauth.access_token_ttl == 5 * 86400
    assert config.hostname.mode == "custom_domain"
    # Interactive re-run: Enter keeps every value.
    use_fake(monkeypatch, fake)
    before = (tmp_path / "cfmcp.toml").read_text()
    again = init(input="\n" * 12)
    assert again.exit_code == 0, again.output
    assert "Editing" in again.output
    assert (tmp_path / "cfmcp.toml").read_text() == before


def test_interactive_account_choice_when_the_token_reaches_several(tmp_path, fake, monkeypatch):
    from tests.fake_cloudflare.state import OTHER_ACCOUNT_ID

    token = "FAKE-two-accounts-token-000000000000"
    fake.add_token(token, account_ids=[fake.account_id, OTHER_ACCOUNT_ID])
    use_fake(monkeypatch, fake)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", token)
    result = init(
        "--name",
        "gh",
        "--upstream",
        "github",
        "--workers-dev",
        "--access-token-days",
        "30",
        "--refresh-token-days",
        "90",
        "--no-github-read-only",
        input="2\n",
    )
    assert result.exit_code == 0, result.output
    assert "Which Cloudflare account?" in result.output
    chosen = load_config(tmp_path / "cfmcp.toml").account_id
    assert chosen in (fake.account_id, OTHER_ACCOUNT_ID)
    listed = [line for line in result.output.splitlines() if line.strip().startswith("2)")]
    assert listed and chosen in listed[0]
    assert load_config(tmp_path / "cfmcp.toml").policies == {}  # --no-github-read-only


def test_the_github_preset_without_prompts_and_on_a_rerun(tmp_path):
    """Without prompts the preset is taken; a file that has policies keeps its own."""
    args = ["--non-interactive", "--name", "gh", "--account-id", ACCOUNT, "--upstream", "github"]
    assert init(*args).exit_code == 0
    path = tmp_path / "cfmcp.toml"
    config = load_config(path)
    assert config.policies == {
        "read-only": {"read_only": True, "headers": {"X-MCP-Readonly": "true"}}
    }
    assert config.consent.client_policies == {
        "claude.ai": "read-only",
        "claude.com": "read-only",
        "chatgpt.com": "read-only",
    }
    text = path.read_text().replace(
        "[policies.read-only]", '[policies.mine]\nallow = ["get_*"]\n[policies.read-only]'
    )
    text = text.replace('"claude.ai" = "read-only"', '"claude.ai" = "mine"')
    path.write_text(text)
    assert init(*args).exit_code == 0
    assert load_config(path).consent.client_policies["claude.ai"] == "mine"


def test_help_states_each_default_once():
    text = " ".join(init("--help").output.replace("│", " ").split())
    assert "[default: 0]" not in text  # the days options' real defaults are in their help
    assert "(default 30, or the file's value)" in text and "(default: yes)" in text


def test_bad_answers_are_asked_again_and_earlier_answers_kept(tmp_path, fake, monkeypatch):
    use_fake(monkeypatch, fake)
    answers = [
        "my-mcp",  # name
        "2",  # upstream: custom
        "https://mcp.vendor.example/mcp",
        "X-API-Key",
        "Token",  # auth format without {token}: asked again
        "Token {token}",
        "2",  # custom domain
        "mcp.elsewhere.org",  # in none of the account's zones: asked again
        "mcp.example.com",
        "ten",  # not a number of days: asked again
        "0.001",  # shorter than the 300 s floor: asked again
        "10",
        "5",  # refresh shorter than access: asked again
        "",  # refresh: the default
    ]
    result = init(input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    for refusal in (
        "invalid auth_format 'Token'",
        "mcp.elsewhere.org is in none of the account's zones",
        "'ten' is not a number of days",
        "access_token_ttl must be at least 300 seconds",
        "refresh_token_ttl must not be shorter than access_token_ttl",
    ):
        assert refusal in result.output
    config = load_config(tmp_path / "cfmcp.toml")
    assert (config.name, config.upstream.auth_format) == ("my-mcp", "Token {token}")
    assert (config.hostname.domain, config.hostname.zone) == ("mcp.example.com", "example.com")
    assert config.oauth.access_token_ttl == 10 * 86400
    assert config.oauth.refresh_token_ttl == 90 * 86400


def test_a_bad_flag_is_refused_before_any_question(tmp_path, fake, monkeypatch):
    use_fake(monkeypatch, fake)
    result = init("--auth-format", "Bearer", input="my-mcp\n")
    assert result.exit_code == 2
    assert "invalid auth_format 'Bearer'" in result.output
    assert "Worker name" not in result.output  # nothing was asked
    assert not (tmp_path / "cfmcp.toml").exists()


def test_without_a_terminal_the_wizard_names_the_option(tmp_path, fake, monkeypatch):
    use_fake(monkeypatch, fake)
    result = init()  # no input: stdin is not a terminal
    assert result.exit_code == 2
    assert "cannot ask 'Worker name': no terminal" in result.output
    assert "--name" in result.output
    assert not (tmp_path / "cfmcp.toml").exists()


def test_json_stdout_is_only_the_json_document(tmp_path, fake, monkeypatch):
    use_fake(monkeypatch, fake)  # the token reaches one account: "Account: …" is said
    result = invoke(
        [
            "init",
            "--json",
            "--non-interactive",
            "--name",
            "gh",
            "--upstream",
            "github",
            "--workers-dev",
        ]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True
    assert "Account:" in result.stderr


@pytest.mark.parametrize(
    ("flags", "refusal"),
    [
        (("--domain", "mcp.other.org"), "mcp.other.org is in none of the account's zones"),
        (("--route", "x.other.org/*", "--zone", "other.org"), "zone 'other.org' is not in"),
        (("--refresh-token-days", "10"), "refresh_token_ttl must not be shorter"),
        (("--extra-header", "bogus"), "invalid --extra-header 'bogus'"),
        (("--server-name", "x" * 81), "server_name must be 1-80 characters"),
        (("--account-id", "not-hex"), "invalid account id 'not-hex'"),
        (("--access-token-days", "nan"), "nan is not a usable number of days"),
        (("--access-token-days", "inf"), "inf is not a usable number of days"),
        (("--access-token-days", "1e300"), "not a usable number of days"),
        (("--access-token-days", "5000"), "at most 3650 days"),
        (("--access-token-days", "0"), "access_token_ttl must be at least 300 seconds"),
    ],
)
def test_a_bad_flag_costs_no_typed_answer(tmp_path, fake, monkeypatch, flags, refusal):
    use_fake(monkeypatch, fake)
    result = init(*flags, input="my-mcp\n2\nhttps://mcp.vendor.example/mcp\n")
    assert result.exit_code == 2, result.output
    assert refusal in " ".join(result.output.split())
    assert "Worker name" not in result.output  # refused before the first question
    assert "Traceback" not in result.output
    assert not (tmp_path / "cfmcp.toml").exists()


def test_hints_name_options_that_exist():
    import re

    import typer.main

    import cfmcp.project.setup as setup
    from cfmcp.cli import app

    command = typer.main.get_command(app).commands["init"]  # type: ignore[attr-defined]
    options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    source = Path(setup.__file__).read_text()
    named = set(re.findall(r"--[a-z][a-z-]+", " ".join(re.findall(r'flag="([^"]+)"', source))))
    assert named and named <= options, named - options


def test_account_names_are_shown_as_text(tmp_path, fake, monkeypatch):
    from tests.fake_cloudflare.state import ACCOUNT_ID

    with fake.state.lock:
        fake.state.accounts[ACCOUNT_ID].name = "Acme [/] [link=https://evil.example]x[/link]"
    use_fake(monkeypatch, fake)
    result = init(
        "--json", "--non-interactive", "--name", "gh", "--upstream", "github", "--workers-dev"
    )
    assert result.exit_code == 0, result.output
    assert "Acme [/] [link=https://evil.example]x[/link]" in " ".join(result.stderr.split())


def test_config_in_a_new_folder(tmp_path):
    target = tmp_path / "nodir" / "cfmcp.toml"
    result = init(
        "--non-interactive",
        "--name",
        "gh",
        "--account-id",
        ACCOUNT,
        "--upstream",
        "github",
        "--workers-dev",
        "--config",
        str(target),
    )
    assert result.exit_code == 0, result.output
    assert load_config(target).name == "gh"
