"""`--json` fails the same way on every command: `{"ok": false, "error", "code", "hint"}` on
stdout (and the one-line error on stderr), with a code from cfmcp.errors.ERROR_CODES."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cfmcp.cli import app
from cfmcp.errors import ERROR_CODES, CfmcpError, NotOurs, StepFailed
from cfmcp.output import failure_json
from tests.support.deployed import isolate

FAILING = [
    (["init", "--non-interactive", "--json"], "usage", 2),
    (["deploy", "--yes", "--json"], "project_file", 1),
    (["deploy", "--yes", "--dry-run", "--json"], "project_file", 1),
    (["destroy", "--yes", "--json"], "project_file", 1),
    (["rotate-pin", "--yes", "--json"], "project_file", 1),
    (["clients", "list", "--json"], "project_file", 1),
    (["clients", "revoke", "--all", "--yes", "--json"], "project_file", 1),
    (["clients", "revoke", "--json"], "usage", 2),
    (["install-client", "cursor", "--json"], "usage", 2),
    (["install-client", "no-such-client", "--url", "https://x.test/mcp", "--json"], "usage", 2),
    (["render", "--json", "-c", "broken.toml"], "project_file", 1),
]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path)
    (tmp_path / "broken.toml").write_text("name = [\n", encoding="utf-8")


@pytest.mark.parametrize(("args", "code", "exit_code"), FAILING, ids=lambda a: str(a))
def test_every_json_failure_has_the_same_shape(args, code, exit_code) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == exit_code, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"ok", "error", "code", "hint"}
    assert document["ok"] is False and document["code"] == code
    assert document["error"] and document["error"] in " ".join(result.stderr.split())
    assert code in ERROR_CODES


def test_without_json_a_failure_prints_nothing_on_stdout() -> None:
    result = CliRunner().invoke(app, ["deploy", "--yes"])
    assert result.exit_code == 1 and result.stdout == ""
    assert "error:" in result.stderr


def test_a_step_failure_keeps_the_code_of_the_failed_call() -> None:
    cause = NotOurs("route taken", hint="use another pattern")
    failed = StepFailed("step 4 (create route) failed", cause=cause, rerun="`cfmcp deploy`")
    assert failure_json(failed) == {
        "ok": False,
        "error": "step 4 (create route) failed: route taken",
        "code": "not_ours",
        "hint": "use another pattern; re-run `cfmcp deploy`",
    }
    assert StepFailed("x failed", cause=KeyError("k"), rerun="it").code == "step_failed"


def test_codes_are_unique_per_class() -> None:
    def subclasses(cls: type) -> list[type]:
        return [cls, *(s for c in cls.__subclasses__() for s in subclasses(c))]

    classes = [c for c in subclasses(CfmcpError) if c.__module__ == "cfmcp.errors"]
    codes = [c.code for c in classes if c is not StepFailed]
    assert len(codes) == len(set(codes)), codes
    assert set(codes) | {"step_failed"} == set(ERROR_CODES)
