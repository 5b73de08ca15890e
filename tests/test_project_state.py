"""`.cfmcp/state.json`: atomic writes, tolerant loading, scoped to one account and Worker."""

from __future__ import annotations

import json

from cfmcp.project.state import DeployState, StateRecorder, load_state, state_path

ACCOUNT = "0123456789abcdef0123456789abcdef"


def test_round_trip_and_gitignore(tmp_path):
    path = state_path(tmp_path)
    recorder = StateRecorder(path, DeployState(account_id=ACCOUNT, worker="w"))
    recorder.update(kv_namespace_id="kv1", secrets_set=("AUTH_PIN",))
    loaded = load_state(path)
    assert loaded.kv_namespace_id == "kv1"
    assert loaded.secrets_set == ("AUTH_PIN",)
    assert loaded.updated_at
    assert (tmp_path / ".cfmcp" / ".gitignore").read_text() == "*\n"
    assert not list((tmp_path / ".cfmcp").glob(".state-*"))  # no temp file left behind


def test_missing_corrupt_or_foreign_files_load_as_empty(tmp_path):
    path = state_path(tmp_path)
    assert load_state(path) == DeployState()
    path.parent.mkdir()
    path.write_text("{not json")
    assert load_state(path) == DeployState()
    path.write_text(json.dumps({"version": 99, "kv_namespace_id": "x"}))
    assert load_state(path) == DeployState()
    path.write_text(json.dumps({"version": 1, "kv_namespace_id": "x", "unknown": 1}))
    assert load_state(path).kv_namespace_id == "x"


def test_state_applies_only_to_its_account_and_worker():
    state = DeployState(account_id=ACCOUNT, worker="w")
    assert state.applies_to(ACCOUNT, "w")
    assert not state.applies_to(ACCOUNT, "other")
    assert not state.applies_to("f" * 32, "w")
    assert not DeployState().applies_to("", "")
