"""Rendering the Worker bundle: determinism, escaping, the wheel's packaged template."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cfmcp.project.config import ProjectConfig, save_config
from cfmcp.worker.contract import EXACT_BINDING, EXACT_CLASS, EXACT_MIGRATION_TAG
from cfmcp.worker.render import python_literal, render_bundle, render_wrangler_toml

ROOT = Path(__file__).resolve().parent.parent


def _config(**upstream) -> ProjectConfig:
    config = ProjectConfig(name="render-test")
    for key, value in upstream.items():
        setattr(config.upstream, key, value)
    return config.validate()


def test_same_config_gives_identical_bytes_and_hash():
    first, second = render_bundle(_config()), render_bundle(_config())
    assert first.modules == second.modules
    assert first.sha256 == second.sha256
    assert len(first.sha256) == 64


def test_config_change_changes_the_hash():
    assert (
        render_bundle(_config()).sha256
        != render_bundle(_config(url="https://other.example.com/mcp")).sha256
    )


def test_bundle_layout():
    bundle = render_bundle(_config())
    assert bundle.main_module == "entry.py"
    assert "entry.py" in bundle.modules
    assert "cfmcp_worker/app.py" in bundle.modules
    assert "cfmcp_worker/deployment.py" in bundle.modules
    assert not any(name.endswith(".j2") for name in bundle.modules)
    assert all(name.endswith(".py") for name in bundle.modules)


def test_hostile_config_values_cannot_inject_code():
    hostile = 'x"""\nimport os; os.system("echo pwned")\n"""'
    config = ProjectConfig(name="render-test")
    config.oauth.server_name = hostile[:80]
    config.upstream.extra_headers = {"X-Note": "a'b\"c\\d"}
    bundle = render_bundle(config.validate())
    source = bundle.modules["cfmcp_worker/deployment.py"].decode()
    tree = ast.parse(source)
    assigns = [node for node in tree.body if isinstance(node, ast.Assign)]
    assert len(assigns) == 1  # only SETTINGS = {...}; nothing else became code
    settings = ast.literal_eval(assigns[0].value)
    assert settings["server_name"] == hostile[:80]
    assert settings["upstream_extra_headers"] == {"X-Note": "a'b\"c\\d"}
    page = bundle.modules["cfmcp_worker/consent_page.py"].decode()
    ast.parse(page)
    assert "<" not in ast.literal_eval(
        next(n for n in ast.parse(page).body if isinstance(n, ast.Assign)).value
    )


def test_python_literal_is_deterministic():
    assert python_literal({"b": 1, "a": [True, None, "x"]}) == "{'a': [True, None, 'x'], 'b': 1}"
    with pytest.raises(TypeError):
        python_literal(object())


def test_no_secret_is_rendered(monkeypatch):
    monkeypatch.setenv("CFMCP_UPSTREAM_TOKEN", "ghp_SHOULD_NOT_APPEAR_123")
    monkeypatch.setenv("CFMCP_PIN", "97531864")
    blob = b"".join(render_bundle(_config()).modules.values())
    assert b"ghp_SHOULD_NOT_APPEAR_123" not in blob and b"97531864" not in blob


def test_wrangler_toml_is_valid_and_matches_the_deploy():
    config = ProjectConfig(name="render-test")
    config.hostname.mode = "route"
    config.hostname.route = "mcp.example.com/*"
    config.hostname.zone = "example.com"
    bundle = render_bundle(config.validate())
    data = tomllib.loads(render_wrangler_toml(config, bundle, "kv123"))
    assert data["name"] == "render-test"
    assert data["main"] == "entry.py"
    assert data["compatibility_flags"] == ["python_workers"]
    assert data["compatibility_date"] == "2026-03-01"
    assert data["kv_namespaces"] == [{"binding": "OAUTH_KV", "id": "kv123"}]
    assert data["routes"] == [{"pattern": "mcp.example.com/*", "zone_name": "example.com"}]
    assert data["vars"]["CFMCP_BUNDLE_SHA256"] == bundle.sha256
    assert data["workers_dev"] is False
    # The exact-state Durable Object, as `cfmcp deploy` binds and migrates it.
    assert data["durable_objects"] == {
        "bindings": [{"name": EXACT_BINDING, "class_name": EXACT_CLASS}]
    }
    assert data["migrations"] == [{"tag": EXACT_MIGRATION_TAG, "new_sqlite_classes": [EXACT_CLASS]}]


def test_render_without_a_project_file_renders_no_defaults(tmp_path):
    from cfmcp.cli import app

    out = tmp_path / "w"
    result = CliRunner().invoke(
        app, ["render", "--out", str(out), "--config", str(tmp_path / "none.toml")]
    )
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "none.toml not found" in text and "cfmcp init" in text
    assert not out.exists()


def test_render_command_writes_the_bundle_and_says_what_it_cannot_know(tmp_path):
    from cfmcp.cli import app

    config = ProjectConfig(name="render-test")
    save_config(config, tmp_path / "cfmcp.toml")
    result = CliRunner().invoke(
        app, ["render", "--out", str(tmp_path / "w"), "--config", str(tmp_path / "cfmcp.toml")]
    )
    assert result.exit_code == 0, result.output
    bundle = render_bundle(config.validate())
    for name, data in bundle.modules.items():
        assert (tmp_path / "w" / name).read_bytes() == data
    assert bundle.sha256 in result.output
    text = " ".join(result.output.split())
    assert "no public URL" in text and "--public-url" in text  # workers.dev, never deployed
    assert "<KV_NAMESPACE_ID>" in text
    assert "<KV_NAMESPACE_ID>" in (tmp_path / "w" / "wrangler.toml").read_text()


def test_wheel_ships_the_template_and_renders_from_it(tmp_path):
    """Build the wheel, then render from the installed copy (not the checkout)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("cfmcp-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(site)
    assert "cfmcp/worker_template/entry.py" in names
    assert "cfmcp/worker_template/cfmcp_worker/app.py" in names
    # `cfmcp dev --runtime workerd` runs these Node modules from the installed package
    assert "cfmcp/local/workerd/runner.mjs" in names
    assert "cfmcp/local/workerd/binding_wrapper.mjs" in names
    script = (
        "import cfmcp.worker.render as r; from cfmcp.project.config import ProjectConfig\n"
        "print(r.template_dir()); print(r.render_bundle(ProjectConfig()).sha256)"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        timeout=60,
    ).stdout.split()
    assert out[0].startswith(str(site))
    assert out[1] == render_bundle(ProjectConfig()).sha256
