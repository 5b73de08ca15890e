"""The names shared across the Worker boundary match on both sides.

cfmcp/worker/contract.py is the CLI's side; the Worker (worker_template/, stdlib-only, never
importing cfmcp) spells its own copies. This reads the Worker's modules as source (ast), so it
needs neither Pyodide nor the Worker's imports, and fails when one side changes alone.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from cfmcp.project.config import ProjectConfig
from cfmcp.worker import contract
from cfmcp.worker.render import render_bundle, render_wrangler_toml, template_dir

TEMPLATE = template_dir()


def module_constants(relative: str) -> dict[str, Any]:
    """Top-level `NAME = <literal>` assignments of a Worker module."""
    tree = ast.parse((TEMPLATE / relative).read_text(encoding="utf-8"))
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    found[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    continue
    return found


def class_names(relative: str) -> set[str]:
    tree = ast.parse((TEMPLATE / relative).read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.ClassDef)}


def key_prefix(relative: str, function: str) -> str:
    """The constant start of the f-string `function` returns (e.g. "grant:" of grant_key)."""
    tree = ast.parse((TEMPLATE / relative).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            returned = next(n for n in ast.walk(node) if isinstance(n, ast.Return))
            assert isinstance(returned.value, ast.JoinedStr), f"{function} returns an f-string"
            first = returned.value.values[0]
            assert isinstance(first, ast.Constant)
            return str(first.value)
    raise AssertionError(f"{relative} has no function {function}")


def test_bindings_and_secrets_entry_reads() -> None:
    entry = module_constants("entry.py")
    assert entry["KV_BINDING"] == contract.KV_BINDING
    assert entry["EXACT_BINDING"] == contract.EXACT_BINDING
    assert entry["BUNDLE_VAR"] == contract.BUNDLE_HASH_VAR
    assert tuple(entry["SECRET_BINDINGS"].values()) == contract.SECRET_NAMES
    assert contract.EXACT_CLASS in class_names("entry.py")
    assert (TEMPLATE / contract.MAIN_MODULE).is_file()


def test_the_bundle_header_and_metadata_paths_the_worker_serves() -> None:
    app = module_constants("cfmcp_worker/app.py")
    assert app["BUNDLE_HEADER"] == contract.BUNDLE_HEADER
    assert contract.AS_METADATA_PATH in app["ASM_PATHS"]
    assert contract.RESOURCE_METADATA_PATH in app["PRM_PATHS"]


def test_the_kv_keys_cfmcp_clients_reads_and_writes() -> None:
    assert key_prefix("cfmcp_worker/tokens.py", "grant_key") == contract.GRANT_PREFIX
    assert key_prefix("cfmcp_worker/tokens.py", "revoked_key") == contract.REVOKED_PREFIX


def test_the_pat_status_key_doctor_reads() -> None:
    watch = module_constants("cfmcp_worker/pat_watch.py")
    assert watch["PAT_STATUS_KEY"] == contract.PAT_STATUS_KEY
    assert watch["EXPIRATION_HEADER"] == contract.PAT_EXPIRATION_HEADER
    assert watch["PAT_REFUSED_STATUSES"] == contract.PAT_REFUSED_STATUSES
    assert watch["PAT_FORBIDDEN_STATUSES"] == contract.PAT_FORBIDDEN_STATUSES


def test_wrangler_toml_spells_the_contract() -> None:
    config = ProjectConfig(account_id="0" * 32)
    bundle = render_bundle(config, public_url="https://x.example")
    text = render_wrangler_toml(config, bundle, "ns-id")
    assert f'main = "{contract.MAIN_MODULE}"' in text
    assert f'compatibility_flags = ["{contract.PYTHON_WORKERS_FLAG}"]' in text
    assert f'binding = "{contract.KV_BINDING}"' in text
    assert f'{contract.BUNDLE_HASH_VAR} = "{bundle.sha256}"' in text
    assert f'name = "{contract.EXACT_BINDING}"' in text
    assert f'tag = "{contract.EXACT_MIGRATION_TAG}"' in text
    for secret in contract.SECRET_NAMES:
        assert f"wrangler secret put {secret}\n" in text


def test_no_cfmcp_module_spells_a_contract_name_of_its_own() -> None:
    """Outside contract.py the CLI imports these names instead of writing them out."""
    values = [
        contract.KV_BINDING,
        contract.EXACT_BINDING,
        contract.BUNDLE_HASH_VAR,
        contract.BUNDLE_HEADER,
        contract.EXACT_MIGRATION_TAG,
        contract.PAT_STATUS_KEY,
        contract.PAT_EXPIRATION_HEADER,
    ]
    root = Path(contract.__file__).resolve().parents[1]
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "contract.py":
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(root)}: {v}" for v in values if f'"{v}"' in text]
    assert offenders == []


def test_policy_names_and_the_grant_status_match_the_worker() -> None:
    """What `cfmcp clients set-policy` writes is what tokens.py reads, and the scopes it
    compares are spelled as policy.py spells them."""
    tokens = module_constants("cfmcp_worker/tokens.py")
    policy = module_constants("cfmcp_worker/policy.py")
    exact = module_constants("cfmcp_worker/exact.py")
    assert tokens["NARROWED_PREFIX"] == contract.NARROWED_PREFIX
    assert policy["SCOPE_PREFIX"] == contract.POLICY_SCOPE_PREFIX
    assert exact["POLICY_SCOPE_PREFIX"] == contract.POLICY_SCOPE_PREFIX
    assert (policy["FULL"], policy["READ_ONLY"]) == contract.BUILT_IN_POLICIES


def test_the_log_lines_cfmcp_dev_and_logs_read() -> None:
    lines = module_constants("cfmcp_worker/log_lines.py")
    assert lines["MARKER"] == contract.LOG_MARKER
    kinds = {
        contract.LOG_REQUEST: "REQUEST",
        contract.LOG_TOOL_CALL: "TOOL_CALL",
        contract.LOG_NOTE: "NOTE",
        contract.LOG_ERROR: "ERROR",
    }
    assert tuple(lines[name] for name in kinds.values()) == tuple(kinds)
    assert tuple(kinds) == contract.LOG_KINDS
    for kind, name in kinds.items():
        assert lines[f"{name}_FIELDS"] == contract.LOG_FIELDS[kind], kind
    assert lines["DENIED"] == contract.LOG_DENIED
    assert lines["GRANT_SHOWN"] == contract.LOG_GRANT_SHOWN
