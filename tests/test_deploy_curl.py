"""`cfmcp deploy --dry-run --format curl` can never drift from what deploy does.

1. The curl script for a fresh deploy is *run* (bash + curl + jq) against the fake API; then
   `cfmcp deploy` finds nothing to do: the script built exactly what the CLI builds.
2. Every write call the executor makes is the call `request_for(step)` describes.
3. Like deploy, the script tries the PAT upstream (a real PAT-only server, both transports)
   before its first write, and stops there when it is refused.
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

from cfmcp.account.api import CloudflareApi
from cfmcp.cli import app
from cfmcp.deploy.curl import _MARK, request_for
from cfmcp.deploy.executor import Executor
from cfmcp.deploy.planner import plan_deploy, public_url_for
from cfmcp.deploy.remote import observe
from cfmcp.project.state import DeployState, StateRecorder
from cfmcp.worker.render import render_bundle
from tests.fake_cloudflare.fake import FakeCloudflare
from tests.fake_cloudflare.fixtures import fake_cloudflare
from tests.support.deployed import isolate, use_fake_env, write_project
from tests.support.pat_upstreams import PatUpstream

NAME = "my-mcp"
PAT = "ghp_FAKErunbookPAT000000000000000000000000"


fake = fake_cloudflare  # the pytest fixture, by the name these tests use


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path, home=False)


@pytest.fixture(scope="module")
def pat_upstream():
    with PatUpstream() as server:
        yield server


def project(
    tmp_path: Path, fake: FakeCloudflare, monkeypatch, upstream_url: str | None = None, **hostname
) -> Path:
    path = write_project(
        tmp_path, fake.account_id, name=NAME, upstream_url=upstream_url, **hostname
    )
    use_fake_env(monkeypatch, fake)
    return path


def curl_script(config: Path) -> str:
    result = CliRunner().invoke(
        app, ["deploy", "--config", str(config), "--dry-run", "--format", "curl"]
    )
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.skipif(
    not (shutil.which("jq") and shutil.which("curl") and shutil.which("bash")),
    reason="needs bash, curl and jq",
)
@pytest.mark.parametrize(
    "hostname",
    [
        {},
        {"mode": "custom_domain", "domain": "mcp.example.com", "zone": "example.com"},
        {"mode": "route", "route": "api.example.com/mcp*", "zone": "example.com"},
    ],
)
def test_the_curl_script_builds_what_deploy_builds(
    fake, tmp_path, monkeypatch, hostname, pat_upstream
):
    config = project(tmp_path, fake, monkeypatch, upstream_url=pat_upstream.url, **hostname)
    script = curl_script(config)
    public_url = re.search(r"--public-url (\S+)`", script).group(1)
    rendered = CliRunner().invoke(
        app, ["render", "--config", str(config), "--out", "worker", "--public-url", public_url]
    )
    assert rendered.exit_code == 0, rendered.output
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        **fake.env(),
        "UPSTREAM_TOKEN": pat_upstream.pat,
        "AUTH_PIN": "FAKE-pin-1234",
        "SIGNING_KEY": "k" * 40,
    }
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path / "worker",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    writes = [c for c in fake.calls if c.method != "GET"]
    assert writes and all(c.status < 400 for c in writes)
    assert not (tmp_path / "worker" / "metadata.json").exists()
    assert "the upstream accepts the PAT" in run.stdout
    secrets = fake.script(NAME).secrets()
    assert secrets == {
        "UPSTREAM_TOKEN": pat_upstream.pat,
        "AUTH_PIN": "FAKE-pin-1234",
        "SIGNING_KEY": "k" * 40,
    }

    fake.calls.clear()
    result = CliRunner().invoke(
        app, ["deploy", "--config", str(config), "--yes", "--skip-smoke", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["steps"] == []


@pytest.mark.skipif(
    not (shutil.which("jq") and shutil.which("curl") and shutil.which("bash")),
    reason="needs bash, curl and jq",
)
@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
def test_the_curl_script_stops_before_any_write_on_a_refused_pat(
    fake, tmp_path, monkeypatch, transport
):
    """The script tries the PAT as `cfmcp deploy` does, on either transport: refused, nothing
    is written; accepted (the legacy stream's status line is enough), it goes on."""
    from cfmcp.project.config import load_config, save_config

    with PatUpstream(sse=transport == "sse") as upstream:
        path = project(tmp_path, fake, monkeypatch, upstream_url=upstream.url)
        config = load_config(path)
        config.upstream.transport = transport
        save_config(config, path)
        script = curl_script(path)
        stop = script.index("## Steps for this account")
        check = script[:stop]  # the reads and the PAT check, no write
        runs = (
            ("FAKE-refused-pat-0000", 1, "the upstream refused the PAT (HTTP 401)"),
            (upstream.pat, 0, "the upstream accepts the PAT"),
        )
        assert "--max-time" in check.split("PAT_STATUS=", 1)[1].split("\n")[0]
        shim = tmp_path / "shim"  # a curl that records its command line (what `ps` shows)
        shim.mkdir(exist_ok=True)
        argv_log = tmp_path / "curl-argv.log"
        real_curl = shutil.which("curl")
        (shim / "curl").write_text(
            f'#!/bin/sh\nprintf "%s\\n" "$*" >> {argv_log}\nexec {real_curl} "$@"\n'
        )
        (shim / "curl").chmod(0o755)
        for pat, code, said in runs:
            fake.calls.clear()
            run = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", check],
                cwd=tmp_path,
                env={"PATH": f"{shim}:{os.environ['PATH']}", **fake.env(), "UPSTREAM_TOKEN": pat},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert run.returncode == code, run.stderr
            assert said in run.stdout + run.stderr
            assert not [c for c in fake.calls if c.method != "GET"]
            assert pat not in run.stdout + run.stderr
            assert pat not in argv_log.read_text()  # never on curl's command line


def _resolve(value, variables: dict[str, str]):
    if isinstance(value, str) and value.startswith(_MARK):
        return variables[value[len(_MARK) :]]
    if isinstance(value, dict):
        return {k: _resolve(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, variables) for v in value]
    return value


@pytest.mark.parametrize(
    "hostname",
    [
        {},
        {"mode": "custom_domain", "domain": "mcp.example.com"},
        {"mode": "route", "route": "api.example.com/mcp*", "zone": "example.com"},
    ],
)
def test_every_executor_call_is_the_described_request(fake, tmp_path, monkeypatch, hostname):
    config_path = project(tmp_path, fake, monkeypatch, **hostname)
    from cfmcp.project.config import load_config

    config = load_config(config_path)
    secrets = {"UPSTREAM_TOKEN": PAT, "AUTH_PIN": "p" * 8, "SIGNING_KEY": "s" * 40}
    with CloudflareApi(fake.token, base_url=fake.base_url) as api:
        obs = observe(api, config, DeployState())
        bundle = render_bundle(config, public_url_for(config, obs.remote))
        plan = plan_deploy(config, obs.remote, bundle)
        fake.calls.clear()
        recorder = StateRecorder(tmp_path / "state.json", DeployState())
        executor = Executor(api, config.account_id, bundle, secrets, recorder)
        executor.execute(plan)
    variables = {
        "KV_NAMESPACE_ID": executor.result.variables.get("kv_namespace_id", ""),
        "BUNDLE_SHA256": bundle.sha256,
        **{name: "<redacted>" for name in secrets},
    }
    calls = list(fake.calls)
    assert len(calls) == len(plan.steps)
    for step, call in zip(plan.steps, calls, strict=True):
        expected = request_for(step, config.account_id)
        assert (call.method, call.path) == (expected.method, expected.path)
        body = _resolve(expected.json, variables)
        if expected.modules:
            assert call.body["metadata"] == body
            assert sorted(
                p["filename"] for p in call.body["parts"] if p["name"] == "files"
            ) == sorted(expected.modules)
        else:
            assert call.body == body
