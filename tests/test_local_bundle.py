"""The local runtime imports the core from the rendered bundle, and one bundle per process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cfmcp.errors import CfmcpError
from cfmcp.local.bundle import check_bundle_dir
from cfmcp.local.runtime import upstream_url_of
from cfmcp.project.config import ProjectConfig
from cfmcp.worker.render import render_bundle


def _render(out: Path, upstream: str) -> Path:
    config = ProjectConfig()
    config.upstream.url = upstream
    render_bundle(config.validate(), public_url="").write(out)
    return out


def test_loads_core_from_bundle_and_refuses_a_second_bundle(tmp_path: Path) -> None:
    first = _render(tmp_path / "a", "https://one.example.com/mcp")
    second = _render(tmp_path / "b", "https://two.example.com/mcp")
    script = textwrap.dedent(f"""
        from pathlib import Path
        from cfmcp.errors import CfmcpError
        from cfmcp.local.bundle import load_core
        core = load_core(Path({str(first)!r}))
        for module in (core.app_module, core.deployment, core.http_types):
            assert Path(module.__file__).is_relative_to(Path({str(first)!r})), module.__file__
        assert core.settings_mapping["upstream_url"] == "https://one.example.com/mcp"
        assert load_core(Path({str(first)!r})).deployment is core.deployment
        try:
            load_core(Path({str(second)!r}))
        except CfmcpError as exc:
            print("refused:", exc)
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "refused: this process already loaded another Worker bundle" in result.stdout


def test_bundle_checks_and_upstream_lookup(tmp_path: Path) -> None:
    bundle = _render(tmp_path / "bundle", "https://up.example.com/mcp")
    assert check_bundle_dir(bundle) == bundle.resolve()
    assert upstream_url_of(bundle) == "https://up.example.com/mcp"
    (bundle / "cfmcp_worker" / "app.py").unlink()
    with pytest.raises(CfmcpError, match="not a rendered Worker bundle"):
        check_bundle_dir(bundle)
    with pytest.raises(CfmcpError, match="not found"):
        check_bundle_dir(tmp_path / "missing")
