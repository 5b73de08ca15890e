"""Rules the Workers runtime imposes on the core, checked on CPython."""

from __future__ import annotations

import ast
import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.core.conftest import bundle_dir_of


def test_core_imports_only_the_standard_library(core):
    package = Path(core.__file__).parent
    allowed_prefixes = ("cfmcp_worker", "__future__")
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or name.startswith(allowed_prefixes), (
                    f"{path.name} imports {name}"
                )
                assert top not in ("js", "workers", "pyodide"), f"{path.name} imports {name}"


def test_importing_the_core_draws_no_randomness(core):
    bundle = bundle_dir_of(core)
    script = (
        "import os, secrets, random\n"
        "def boom(*a, **k): raise RuntimeError('randomness at import time')\n"
        "os.urandom = boom; secrets.token_bytes = boom; secrets.token_urlsafe = boom\n"
        "secrets.token_hex = boom; random.SystemRandom.random = boom\n"
        "import cfmcp_worker.app, cfmcp_worker.deployment, cfmcp_worker.consent_page\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(bundle)}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert secrets.token_hex(2)  # the test process itself is untouched


def test_equal_secrets_compare_equal_so_hosts_can_cache_the_app(core):
    settings_mod = __import__("cfmcp_worker.settings", fromlist=["Secrets"])
    first = settings_mod.Secrets("pat-1", "pin-12345678", "k" * 32)
    assert first == settings_mod.Secrets("pat-1", "pin-12345678", "k" * 32)
    assert first != settings_mod.Secrets("pat-2", "pin-12345678", "k" * 32)
    assert "pat-1" not in repr(first)
