"""`cfmcp destroy` against the stateful fake Cloudflare API: deploy, then delete exactly that."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cfmcp.cli import app
from tests.fake_cloudflare.fake import FakeCloudflare
from tests.fake_cloudflare.fixtures import fake_cloudflare
from tests.support.cli import invoke
from tests.support.deployed import isolate, use_fake_env, write_project

PAT = "ghp_FAKEdestroyPAT0123456789abcdefABCDEF"
NAME = "gh-mcp"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


fake = fake_cloudflare  # the pytest fixture, by the name these tests use


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path)


def project(
    tmp_path: Path,
    fake: FakeCloudflare,
    monkeypatch: pytest.MonkeyPatch,
    name: str = NAME,
    **hostname: str,
) -> Path:
    path = write_project(tmp_path, fake.account_id, name=name, **hostname)
    use_fake_env(monkeypatch, fake)
    monkeypatch.setenv("CFMCP_UPSTREAM_TOKEN", PAT)
    return path


def deploy(config: Path) -> None:
    result = CliRunner().invoke(app, ["deploy", "--config", str(config), "--yes", "--skip-smoke"])
    assert result.exit_code == 0, result.output


def destroy(config: Path, *args: str, input: str | None = None):
    return invoke(["destroy", "--config", str(config), *args], input=input)


def text(result) -> str:
    """The output with Rich's line wrapping undone."""
    return " ".join(result.output.split())


def writes(fake: FakeCloudflare) -> list[str]:
    return [f"{c.method} {c.path}" for c in fake.calls if c.method in WRITES]


def test_deploy_then_destroy_leaves_nothing_and_twice_is_a_noop(fake, tmp_path, monkeypatch):
    config = project(tmp_path, fake, monkeypatch, mode="custom_domain", domain="mcp.example.com")
    deploy(config)
    assert fake.script(NAME) and fake.state.domains and fake.kv_namespace_by_title(f"{NAME}-oauth")
    result = destroy(config, "--yes", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [d["kind"] for d in data["deleted"]] == ["custom domain", "Worker", "KV namespace"]
    with fake.state.lock:
        assert fake.state.scripts == {}
        assert fake.state.domains == {}
        assert fake.state.routes == {}
        assert fake.state.kv_namespaces == {}
    assert not (tmp_path / ".cfmcp" / "state.json").exists()
    assert not fake.unexpected_calls()

    fake.calls.clear()
    again = destroy(config, "--yes")
    assert again.exit_code == 0, again.output
    assert "Nothing to delete" in again.output
    assert writes(fake) == []


def test_route_of_another_worker_is_left_alone(fake, tmp_path, monkeypatch):
    # Another cfmcp Worker owns a route in the same zone; ours has its own route.
    other = project(
        tmp_path,
        fake,
        monkeypatch,
        name="other-mcp",
        mode="route",
        route="other.example.com/*",
        zone="example.com",
    )
    deploy(other)
    config = project(
        tmp_path, fake, monkeypatch, mode="route", route="api.example.com/mcp*", zone="example.com"
    )
    deploy(config)
    result = destroy(config, "--yes")
    assert result.exit_code == 0, result.output
    with fake.state.lock:
        routes = [(r.pattern, r.script) for r in fake.state.routes.values()]
        titles = [ns.title for ns in fake.state.kv_namespaces.values()]
    assert routes == [("other.example.com/*", "other-mcp")]
    assert fake.script(NAME) is None and fake.script("other-mcp") is not None
    assert titles == ["other-mcp-oauth"]


def test_configured_route_taken_over_by_another_worker_is_kept(fake, tmp_path, monkeypatch):
    config = project(
        tmp_path, fake, monkeypatch, mode="route", route="api.example.com/mcp*", zone="example.com"
    )
    deploy(config)
    from cloudflare import Cloudflare

    client = Cloudflare(api_token=fake.token, base_url=fake.base_url)
    (tmp_path / "other").mkdir()
    deploy(project(tmp_path / "other", fake, monkeypatch, name="other-mcp"))
    route = next(iter(fake.state.routes.values()))
    client.workers.routes.update(
        route.id, zone_id=fake.zone_id, pattern=route.pattern, script="other-mcp"
    )
    result = destroy(config, "--yes", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [d["kind"] for d in data["deleted"]] == ["Worker", "KV namespace"]
    assert any("api.example.com/mcp*" in line and "other-mcp" in line for line in data["kept"])
    with fake.state.lock:
        assert [(r.pattern, r.script) for r in fake.state.routes.values()] == [
            ("api.example.com/mcp*", "other-mcp")
        ]


def test_keep_kv_keeps_the_namespace(fake, tmp_path, monkeypatch):
    config = project(tmp_path, fake, monkeypatch)
    deploy(config)
    namespace = fake.kv_namespace_by_title(f"{NAME}-oauth")
    result = destroy(config, "--yes", "--keep-kv")
    assert result.exit_code == 0, result.output
    assert fake.script(NAME) is None
    assert fake.kv_namespace_by_title(f"{NAME}-oauth").id == namespace.id
    assert "--keep-kv" in result.output
    # A later deploy adopts the kept namespace instead of creating another one.
    deploy(config)
    with fake.state.lock:
        assert [ns.id for ns in fake.state.kv_namespaces.values()] == [namespace.id]


def test_lost_state_still_finds_everything_by_name(fake, tmp_path, monkeypatch):
    config = project(
        tmp_path, fake, monkeypatch, mode="route", route="api.example.com/mcp*", zone="example.com"
    )
    deploy(config)
    (tmp_path / ".cfmcp" / "state.json").unlink()
    result = destroy(config, "--yes")
    assert result.exit_code == 0, result.output
    with fake.state.lock:
        assert not fake.state.scripts and not fake.state.routes
        assert not fake.state.kv_namespaces


def test_foreign_worker_with_our_name_is_refused(fake, tmp_path, monkeypatch):
    config = project(tmp_path, fake, monkeypatch)
    from cloudflare import Cloudflare

    Cloudflare(api_token=fake.token, base_url=fake.base_url).workers.scripts.update(
        NAME,
        account_id=fake.account_id,
        metadata={
            "main_module": "entry.py",
            "compatibility_date": "2026-03-01",
            "compatibility_flags": ["python_workers"],
        },
        files=[
            (
                "entry.py",
                b"from workers import WorkerEntrypoint, Response\n\n\n"
                b"class Default(WorkerEntrypoint):\n"
                b"    async def fetch(self, request):\n"
                b"        return Response('not cfmcp')\n",
                "text/x-python",
            )
        ],
    )
    fake.calls.clear()
    result = destroy(config, "--yes")
    assert result.exit_code == 1
    assert "not deployed by cfmcp: nothing deleted" in text(result) and "hint:" in text(result)
    assert writes(fake) == []
    assert fake.script(NAME) is not None


def test_confirmation_lists_what_will_be_deleted_and_no_keeps_it(fake, tmp_path, monkeypatch):
    config = project(tmp_path, fake, monkeypatch)
    deploy(config)
    fake.calls.clear()
    result = destroy(config, input="n\n")
    assert result.exit_code == 130
    assert f"Worker {NAME}" in result.output and f"KV namespace {NAME}-oauth" in result.output
    assert writes(fake) == []
    assert fake.script(NAME) is not None
    assert (tmp_path / ".cfmcp" / "state.json").exists()
    accepted = destroy(config, input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert fake.script(NAME) is None


def test_failed_delete_says_how_far_it_got_and_rerun_finishes(fake, tmp_path, monkeypatch):
    config = project(tmp_path, fake, monkeypatch)
    deploy(config)
    fake.inject_fault(
        "DELETE", "/accounts/*/storage/kv/namespaces/*", status=500, times=20, retry_after=0.01
    )
    failed = destroy(config, "--yes")
    assert failed.exit_code == 1
    assert "deleting KV namespace gh-mcp-oauth failed (1 of 2 deleted)" in text(failed)
    assert "re-run `cfmcp destroy`" in text(failed) and "Traceback" not in failed.output
    assert fake.script(NAME) is None
    fake.clear_faults()
    again = destroy(config, "--yes")
    assert again.exit_code == 0, again.output
    with fake.state.lock:
        assert fake.state.kv_namespaces == {}


def test_destroy_never_prints_the_api_token(fake, tmp_path, monkeypatch):
    config = project(tmp_path, fake, monkeypatch)
    deploy(config)
    result = destroy(config, "--yes", "--json")
    assert result.exit_code == 0
    assert fake.token not in result.output and PAT not in result.output


def test_destroy_removes_the_durable_object_with_the_worker(fake, tmp_path, monkeypatch):
    from cloudflare import Cloudflare

    config = project(tmp_path, fake, monkeypatch)
    deploy(config)

    def durable_objects() -> list[tuple[str, str]]:
        with fake.state.lock:
            return [
                (ns.script, ns.class_name) for ns in fake.state.durable_object_namespaces.values()
            ]

    assert durable_objects() == [(NAME, "ExactState")]
    # Another Worker binds our class: Cloudflare refuses to delete ours (no force), and
    # destroy says so instead of breaking that Worker.
    client = Cloudflare(api_token=fake.token, base_url=fake.base_url, max_retries=0)
    client.workers.scripts.update(
        "someone-else",
        account_id=fake.account_id,
        files=[(m.name, m.content, m.content_type) for m in fake.script(NAME).modules],
        metadata={
            "main_module": "entry.py",
            "compatibility_date": "2026-03-01",
            "compatibility_flags": ["python_workers"],
            "bindings": [
                {
                    "type": "durable_object_namespace",
                    "name": "THEIRS",
                    "class_name": "ExactState",
                    "script_name": NAME,
                }
            ],
        },
    )
    blocked = destroy(config, "--yes")
    assert blocked.exit_code == 1
    assert "someone-else" in text(blocked) and "re-run `cfmcp destroy`" in text(blocked)
    assert fake.script(NAME) is not None and durable_objects() == [(NAME, "ExactState")]

    client.workers.scripts.delete("someone-else", account_id=fake.account_id)
    fake.calls.clear()
    result = destroy(config, "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert [d["kind"] for d in json.loads(result.stdout)["deleted"]] == ["Worker", "KV namespace"]
    assert durable_objects() == []  # no call of its own: it went with the Worker
    assert fake.calls.count("DELETE", "/accounts/*/workers/scripts/*") == 1
    assert not fake.unexpected_calls()
