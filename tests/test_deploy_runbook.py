"""deploy-with-claude.md deploys, from a chat with no terminal, what `cfmcp deploy` deploys.

1. A chat is played: the runbook's `execute` snippets run in Node the way the Cloudflare API
   MCP server's `execute` tool runs them (tests/node/cf_execute.mjs), against the fake
   Cloudflare API, with the Worker source given the way GitHub's `get_file_contents` gives it
   (text and git blob SHA of each file under worker_template/). The Worker it deploys passes
   the smoke checks, and `cfmcp deploy` on that account then finds nothing to do: the runbook
   rendered the same bundle and set up the same account. For workers.dev, a custom domain and
   a route.
2. The calls the chat made, minus the staging calls the runbook marks chat-only, are the calls
   `cfmcp deploy` makes on a fresh account: the same reads, the same writes in the same order,
   the same bodies (the upload's metadata and its module parts included).
3. The runbook's machine-checkable blocks: `cfmcp-calls` lists every call deploy makes, in
   order, with its body's keys; `cfmcp-metadata` is the first upload the planner plans;
   `cfmcp-smoke` is smoke.py's checks; the template table names every value in the templates.
4. Updates: a changed setting re-uploads what deploy plans (keep_bindings, no secrets), an
   unchanged one uploads nothing, and set-secrets rotates the PIN.
5. A snippet that generates a PIN returns it when a call fails once the PIN is sent: the chat
   can show the PIN the Worker may hold (as `cfmcp deploy` does).
6. The upload snippet writes Python string literals byte for byte as render.py does.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cfmcp import __version__
from cfmcp.account.api import CloudflareApi
from cfmcp.cli import app
from cfmcp.deploy.executor import upload_manifest
from cfmcp.deploy.models import RemoteState, UploadScript, Value
from cfmcp.deploy.planner import plan_deploy, public_url_for
from cfmcp.deploy.remote import observe
from cfmcp.project.config import ProjectConfig, load_config, save_config
from cfmcp.project.state import DeployState
from cfmcp.worker.contract import AS_METADATA_PATH, RESOURCE_METADATA_PATH
from cfmcp.worker.render import python_literal, render_bundle, template_dir
from cfmcp.worker.smoke import SMOKE_CLIENT, SmokeTester
from tests.fake_cloudflare.calls import Call
from tests.fake_cloudflare.fake import FakeCloudflare
from tests.support.deployed import isolate, use_fake_env, write_project

ROOT = Path(__file__).resolve().parent.parent
RUNBOOK = ROOT / "deploy-with-claude.md"
EXECUTE = ROOT / "tests" / "node" / "cf_execute.mjs"
NAME = "my-mcp"
PAT = "ghp_FAKErunbookPAT000000000000000000000000"
STAGE_PREFIX = "cfmcp-stage:"
HOSTNAMES = {
    "workers_dev": {},
    "custom_domain": {"mode": "custom_domain", "domain": "mcp.example.com", "zone": "example.com"},
    "route": {"mode": "route", "route": "api.example.com/mcp*", "zone": "example.com"},
}

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path, home=False)


# ------------------------------------------------------------------------- the runbook's parts


def runbook() -> str:
    return RUNBOOK.read_text(encoding="utf-8")


def block(info: str) -> str:
    """The fenced block whose info string is `info` (e.g. "text cfmcp-calls")."""
    match = re.search(rf"^```{re.escape(info)}\n(.*?)^```$", runbook(), re.M | re.S)
    assert match, f"deploy-with-claude.md has no ```{info} block"
    return match.group(1)


def snippets() -> dict[str, str]:
    found = re.findall(r"^```js execute (\S+)\n(.*?)^```$", runbook(), re.M | re.S)
    return dict(found)


FILL_IN = re.compile(r"^(\s*const ([A-Z_]+) = ).*?; // fill in\b.*$", re.M)


def fill_in(code: str, values: dict[str, Any]) -> str:
    """The snippet with its `// fill in` lines set to `values` (JSON), as a chat fills them."""
    lines = {m.group(2) for m in FILL_IN.finditer(code)}
    assert set(values) <= lines, f"no `// fill in` line for {sorted(set(values) - lines)}"

    def replace(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in values:
            return match.group(0)
        return f"{match.group(1)}{json.dumps(values[name])}; // fill in"

    return FILL_IN.sub(replace, code)


@dataclass(frozen=True)
class TableRow:
    mode: str
    method: str
    path: str
    body: str


def call_table() -> list[TableRow]:
    rows = []
    for line in block("text cfmcp-calls").splitlines():
        line = line.split("  #", 1)[0].strip()
        if line and not line.startswith("#"):
            mode, method, path, body = line.split()
            rows.append(TableRow(mode, method, path, body))
    return rows


def github_files() -> dict[str, tuple[str, str]]:
    """What get_file_contents gives for each file step 5 stages: (text, git blob SHA)."""
    root = template_dir()
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and "__pycache__" not in path.parts and rel.endswith((".py", ".py.j2")):
            data = path.read_bytes()
            sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            files[rel] = (data.decode("utf-8"), sha)
    return files


# ---------------------------------------------------------------------------------- the chat


class SnippetFailed(Exception):
    def __init__(self, snippet: str, answer: dict[str, Any]) -> None:
        super().__init__(f"{snippet}: {answer['error']}")
        self.answer = answer  # {"error": ...}, plus "pin" when one may be set


@dataclass
class Chat:
    """A chat with the Cloudflare API MCP server: runs the runbook's snippets by name."""

    fake: FakeCloudflare
    workdir: Path

    def execute(self, snippet: str, **values: Any) -> Any:
        code = fill_in(snippets()[snippet], values)
        script = self.workdir / f"{snippet}.js"
        script.write_text(code, encoding="utf-8")
        env = {
            "PATH": os.environ["PATH"],
            "CF_API_BASE": self.fake.base_url,
            "CF_API_TOKEN": self.fake.token,
            "CF_ACCOUNT_ID": self.fake.account_id,
        }
        run = subprocess.run(
            ["node", str(EXECUTE), str(script)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        answer = json.loads(run.stdout)
        if "error" in answer:
            raise SnippetFailed(snippet, answer)
        if isinstance(answer["result"], dict) and "error" in answer["result"]:
            raise SnippetFailed(snippet, answer["result"])  # failed, and says what was set
        return answer["result"]

    def stage_everything(self, kv_id: str) -> dict[str, str]:
        staged: dict[str, str] = {}
        files = list(github_files().items())
        for start in range(0, len(files), 10):  # a few files per call, as step 5 says
            batch = {p: {"sha": sha, "text": text} for p, (text, sha) in files[start : start + 10]}
            staged.update(self.execute("stage", KV_ID=kv_id, FILES=batch))
        return staged

    def deploy(self, mode: str, host: dict[str, str], **settings: str) -> tuple[dict, dict]:
        """Steps 1 to 7 of the runbook; the answers of `look` and `upload`."""
        verified = self.execute("verify")
        assert verified["token"] == "active"
        assert self.fake.account_id in [a["id"] for a in verified["accounts"]]
        where = {"DOMAIN": host.get("domain", ""), "ROUTE": host.get("route", "")}
        look = self.execute("look", NAME=NAME, MODE=mode, ZONE=host.get("zone", ""), **where)
        kv_id = look["kv_namespace"]
        if kv_id.startswith("missing"):
            kv_id = self.execute("create-kv", NAME=NAME)
        staged = self.stage_everything(kv_id)
        upload = self.execute(
            "upload",
            NAME=NAME,
            KV_ID=kv_id,
            PLAN=look["plan"],
            STAGED=staged,
            VERSION=__version__,
            PUBLIC_URL=look["public_url"],
            UPSTREAM_TOKEN=PAT,
            **settings,
        )
        if look["hostname"] != "done":
            snippet = {"workers_dev": "workers-dev", "custom_domain": "custom-domain"}
            values = {"NAME": NAME}
            if mode != "workers_dev":
                values |= {"ZONE_ID": look["zone_id"], **{k: v for k, v in where.items() if v}}
            self.execute(snippet.get(mode, mode), **values)
        return look, upload


def deploy_with_cli(fake: FakeCloudflare, folder: Path, monkeypatch, host: dict) -> list[Call]:
    folder.mkdir()
    config = write_project(folder, fake.account_id, name=NAME, **host)
    use_fake_env(monkeypatch, fake)
    monkeypatch.setenv("CFMCP_UPSTREAM_TOKEN", PAT)
    monkeypatch.setenv("CFMCP_PIN", "FAKE-pin-1234")
    cli = CliRunner().invoke(app, ["deploy", "--config", str(config), "--yes", "--skip-smoke"])
    assert cli.exit_code == 0, cli.output
    return list(fake.calls)


def nothing_left_to_do(fake: FakeCloudflare, folder: Path, monkeypatch, host: dict) -> None:
    folder.mkdir(exist_ok=True)
    config = write_project(folder, fake.account_id, name=NAME, **host)
    use_fake_env(monkeypatch, fake)
    cli = CliRunner().invoke(
        app, ["deploy", "--config", str(config), "--yes", "--skip-smoke", "--json"]
    )
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout)["steps"] == []


# ---------------------------------------------------------------------- comparing the calls


def template(path: str, fake: FakeCloudflare) -> str:
    """A recorded path in the `cfmcp-calls` notation."""
    path = path.replace(fake.account_id, "{account_id}").replace(fake.zone_id, "{zone_id}")
    path = re.sub(r"(/storage/kv/namespaces/)[^/]+", r"\1{kv_id}", path)
    path = re.sub(r"(/values/)[^/]+$", r"\1{key}", path)
    return re.sub(rf"(/workers/scripts/){re.escape(NAME)}(?=/|$)", r"\1{name}", path)


def body_keys(call: Call) -> str:
    body = call.body
    if isinstance(body, dict) and "parts" in body:
        names = {p["name"] for p in body["parts"]}
        if body.get("metadata") is not None:
            names.add("metadata")
        return ",".join(sorted(names))
    if isinstance(body, dict) and body:
        return ",".join(sorted(body))
    return "-"


@dataclass(frozen=True)
class Shape:
    """A call with every account-specific id replaced: comparable across two fakes."""

    method: str
    path: str
    body: str  # the body's keys
    detail: str  # the body itself (JSON; upload: metadata and module parts)


def shape(call: Call, fake: FakeCloudflare, kv_ids: set[str]) -> Shape:
    detail: Any = call.body
    if isinstance(detail, dict) and "parts" in detail:
        parts = sorted((p["filename"], p["content_type"], p["size"]) for p in detail["parts"])
        detail = {"metadata": detail.get("metadata"), "parts": parts}
    text = json.dumps(detail, sort_keys=True)
    for kv_id in kv_ids:
        text = text.replace(kv_id, "{kv_id}")
    return Shape(call.method, template(call.path, fake), body_keys(call), text)


def kv_ids(fake: FakeCloudflare) -> set[str]:
    with fake.state.lock:
        return set(fake.state.kv_namespaces)


def check_against_the_table(calls: list[Shape], mode: str, *, chat: bool) -> None:
    """Every call is a row of `cfmcp-calls` for this mode, writes in the table's order."""
    rows = call_table()
    allowed = {"all", mode} | ({"chat-only"} if chat else set())
    at = -1
    for call in calls:
        matches = [
            i
            for i, row in enumerate(rows)
            if row.mode in allowed and (row.method, row.path) == (call.method, call.path)
        ]
        assert matches, f"{call.method} {call.path} ({mode}) is not in the cfmcp-calls block"
        row = rows[matches[0]]
        if call.method != "GET" and row.mode != "chat-only":
            assert row.body == call.body, f"{call.method} {call.path}: body {call.body}"
            assert matches[0] >= at, f"{call.method} {call.path} is out of the table's order"
            at = matches[0]


# ------------------------------------------------------------------------------------- tests


@needs_node
@pytest.mark.parametrize("mode", sorted(HOSTNAMES))
def test_a_chat_following_the_runbook_deploys_what_cfmcp_deploy_deploys(
    tmp_path, monkeypatch, mode
):
    host = HOSTNAMES[mode]
    with (
        FakeCloudflare(run_workers=True, workers_dir=tmp_path / "workers") as chat_fake,
        FakeCloudflare() as cli_fake,
    ):
        origin = chat_fake.worker_origin(NAME)
        look, upload = Chat(chat_fake, tmp_path).deploy(mode, host)

        assert upload["uploaded"] and upload["reason"] == "new Worker"
        assert upload["modules"] == len(render_bundle(ProjectConfig()).modules)
        secrets = chat_fake.script(NAME).secrets()
        assert secrets["UPSTREAM_TOKEN"] == PAT and secrets["AUTH_PIN"] == upload["pin"]
        assert re.fullmatch(r"([2-9a-hj-kmnp-z]{4}-){2}[2-9a-hj-kmnp-z]{4}", upload["pin"])
        assert re.fullmatch(r"[A-Za-z0-9_-]{64}", secrets["SIGNING_KEY"])
        assert secrets["SIGNING_KEY"] not in json.dumps([look, upload])
        for kv_id in kv_ids(chat_fake):
            assert not [k for k in chat_fake.kv_entries(kv_id) if k.startswith(STAGE_PREFIX)]

        smoke = SmokeTester(look["public_url"], via=origin, expected_bundle=upload["bundle_sha256"])
        try:
            checks = smoke.run(timeout=30)
        finally:
            smoke.close()
        assert [c.ok for c in checks] == [True] * 4, checks
        smoke_rows = block("text cfmcp-smoke").strip().splitlines()
        assert len(smoke_rows) == len(checks)

        chat_calls = [shape(c, chat_fake, kv_ids(chat_fake)) for c in chat_fake.calls]
        cli_calls = [
            shape(c, cli_fake, kv_ids(cli_fake))
            for c in deploy_with_cli(cli_fake, tmp_path / "cli", monkeypatch, host)
        ]
        check_against_the_table(chat_calls, mode, chat=True)
        check_against_the_table(cli_calls, mode, chat=False)

        chat_only = {(r.method, r.path) for r in call_table() if r.mode == "chat-only"}
        deployish = [c for c in chat_calls if (c.method, c.path) not in chat_only]
        reads = {(c.method, c.path) for c in deployish if c.method == "GET"}
        assert reads == {(c.method, c.path) for c in cli_calls if c.method == "GET"}
        writes = [c for c in deployish if c.method != "GET"]
        assert writes == [c for c in cli_calls if c.method != "GET"]

        nothing_left_to_do(chat_fake, tmp_path / "after", monkeypatch, host)


def test_the_metadata_block_is_the_first_upload_deploy_plans():
    config = ProjectConfig(name=NAME, account_id="a" * 32)
    bundle = render_bundle(config, "https://my-mcp.sub.workers.dev")
    plan = plan_deploy(config, RemoteState(account_id="a" * 32, workers_subdomain="sub"), bundle)
    upload = next(s for s in plan.steps if isinstance(s, UploadScript))
    secret = {
        "UPSTREAM_TOKEN": "<the PAT>",
        "AUTH_PIN": "<the PIN>",
        "SIGNING_KEY": "<the signing key>",
    }

    def placeholder(value: Value) -> str:
        if value == bundle.sha256:
            return "<bundle sha256>"
        return value if isinstance(value, str) else "<KV_ID>"

    assert json.loads(block("json cfmcp-metadata")) == upload_manifest(
        upload, placeholder, secret.__getitem__
    )


def test_the_smoke_block_is_what_smoke_checks():
    paths = [line.split()[1] for line in block("text cfmcp-smoke").strip().splitlines()]
    assert paths == [
        "{public_url}" + p for p in (AS_METADATA_PATH, RESOURCE_METADATA_PATH, "/mcp", "/register")
    ]
    assert json.dumps(SMOKE_CLIENT, separators=(",", ":")) in runbook()


def test_the_runbook_fills_in_every_template_value():
    root = template_dir()
    used = set()
    for path in root.rglob("*.j2"):
        if path.name != "wrangler.toml.j2":
            text = path.read_text(encoding="utf-8")
            used |= set(re.findall(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", text, re.S))
    table = set(re.findall(r"^\| `(\{\{.*?\}\})` \|", runbook(), re.M))
    assert used == {t.replace("\\|", "|") for t in table}
    assert all(json.dumps(value) in snippets()["upload"] for value in used)


@needs_node
def test_updates_do_what_deploy_plans(tmp_path, monkeypatch):
    with FakeCloudflare(run_workers=True, workers_dir=tmp_path / "workers") as fake:
        chat = Chat(fake, tmp_path)
        chat.deploy("workers_dev", {})
        before = fake.script(NAME).secrets()

        # Nothing changed: the look says so, and the upload snippet uploads nothing.
        look = chat.execute("look", NAME=NAME)
        assert look["hostname"] == "done"
        plan = look["plan"]
        assert (plan["reason"], plan["secrets"], plan["migrations"]) == (None, [], None)
        staged = chat.stage_everything(look["kv_namespace"])
        same = dict(NAME=NAME, KV_ID=look["kv_namespace"], PLAN=plan, STAGED=staged)
        same |= dict(VERSION=__version__, PUBLIC_URL=look["public_url"])
        fake.calls.clear()
        unchanged = chat.execute("upload", **same)
        assert not unchanged["uploaded"] and "pin" not in unchanged
        assert not fake.calls.find("PUT", f"/accounts/*/workers/scripts/{NAME}")

        # A changed setting: the same upload `cfmcp deploy` plans for the changed cfmcp.toml.
        server_name = 'Team <GitHub>\'s "MCP" é \\ & co 👨‍💻\xa0'  # quotes, HTML, non-ASCII
        path = write_project(tmp_path, fake.account_id, name=NAME)
        config = load_config(path)
        config.oauth.server_name = server_name
        save_config(config, path)
        with CloudflareApi(fake.token, base_url=fake.base_url) as api:
            remote = observe(api, config, DeployState()).remote
        bundle = render_bundle(config, public_url_for(config, remote))
        step = plan_deploy(config, remote, bundle).steps[0]
        assert isinstance(step, UploadScript) and step.keep_secrets and not step.secret_names
        look = chat.execute("look", NAME=NAME)
        staged = chat.stage_everything(look["kv_namespace"])
        fake.calls.clear()
        changed = chat.execute(
            "upload", **(same | {"PLAN": look["plan"], "STAGED": staged}), SERVER_NAME=server_name
        )
        assert changed["reason"] == "bundle changed"
        assert changed["bundle_sha256"] == bundle.sha256
        (call,) = fake.calls.find("PUT", f"/accounts/*/workers/scripts/{NAME}")
        expected = upload_manifest(step, lambda v: str(v), lambda name: "<redacted>")
        assert call.body["metadata"] == expected
        assert fake.script(NAME).secrets() == before

        # Rotate the PIN, then replace the PAT: one secrets call each; the others stay.
        fake.calls.clear()
        rotated = chat.execute("set-secrets", NAME=NAME, NEW_PIN=True)
        after = fake.script(NAME).secrets()
        assert rotated == {"secrets_set": ["AUTH_PIN"], "pin": after["AUTH_PIN"]}
        assert after["AUTH_PIN"] != before["AUTH_PIN"]
        assert after["SIGNING_KEY"] == before["SIGNING_KEY"]
        new_pat = "ghp_FAKEreplacedPAT0000000000000000000000"
        replaced = chat.execute(
            "set-secrets", NAME=NAME, UPSTREAM_TOKEN=new_pat, KV_ID=look["kv_namespace"]
        )  # PIN kept
        assert replaced == {"secrets_set": ["UPSTREAM_TOKEN"]}
        assert fake.script(NAME).secrets() == after | {"UPSTREAM_TOKEN": new_pat}
        calls = [shape(c, fake, kv_ids(fake)) for c in fake.calls]
        assert [c.body for c in calls] == ["name,text,type"] * 2 + ["-"]
        # as `cfmcp deploy --new-upstream-token`: the record of the old PAT goes too
        assert fake.calls[-1].method == "DELETE"
        deleted = urllib.parse.unquote(fake.calls[-1].path)
        assert deleted.endswith(f"/{look['kv_namespace']}/values/upstream:pat")
        check_against_the_table(calls, "workers_dev", chat=True)

        use_fake_env(monkeypatch, fake)
        cli = CliRunner().invoke(
            app, ["deploy", "--config", str(path), "--yes", "--skip-smoke", "--json"]
        )
        assert cli.exit_code == 0, cli.output
        assert json.loads(cli.stdout)["steps"] == []


@needs_node
def test_set_secrets_returns_the_pin_when_a_later_call_fails(tmp_path, monkeypatch):
    with FakeCloudflare() as fake:
        deploy_with_cli(fake, tmp_path / "cli", monkeypatch, {})
        chat = Chat(fake, tmp_path)
        secrets = f"/accounts/*/workers/scripts/{NAME}/secrets"

        # Disconnect every client: AUTH_PIN is set, then setting SIGNING_KEY fails.
        before = fake.script(NAME).secrets()
        fake.inject_fault("PUT", secrets, nth=2)
        with pytest.raises(SnippetFailed) as failed:
            chat.execute("set-secrets", NAME=NAME, REVOKE_ALL=True)
        after = fake.script(NAME).secrets()
        assert failed.value.answer["pin"] == after["AUTH_PIN"] != before["AUTH_PIN"]
        assert failed.value.answer["pin_maybe_set"] is True
        assert after["SIGNING_KEY"] == before["SIGNING_KEY"]

        # The PIN is set but the answer to that call is lost.
        fake.clear_faults()
        fake.inject_fault("PUT", secrets, apply=True)
        with pytest.raises(SnippetFailed) as failed:
            chat.execute("set-secrets", NAME=NAME, NEW_PIN=True)
        assert failed.value.answer["pin"] == fake.script(NAME).secrets()["AUTH_PIN"]

        # A call before the PIN fails: no PIN was sent, none is shown.
        fake.clear_faults()
        before = fake.script(NAME).secrets()
        fake.inject_fault("PUT", secrets)
        with pytest.raises(SnippetFailed) as failed:
            chat.execute("set-secrets", NAME=NAME, NEW_PIN=True, UPSTREAM_TOKEN=PAT)
        assert set(failed.value.answer) == {"error"}
        assert fake.script(NAME).secrets() == before


@needs_node
def test_upload_returns_the_pin_when_a_later_call_fails(tmp_path):
    with FakeCloudflare() as fake:
        chat = Chat(fake, tmp_path)

        # A first deploy: the upload sets the PIN, then deleting a staged file fails.
        fake.inject_fault("DELETE", "/accounts/*/storage/kv/namespaces/*/values/*")
        with pytest.raises(SnippetFailed) as failed:
            chat.deploy("workers_dev", {})
        assert failed.value.answer["pin"] == fake.script(NAME).secrets()["AUTH_PIN"]
        assert failed.value.answer["pin_maybe_set"] is True

        # The deployed bundle lacks AUTH_PIN and SIGNING_KEY: one call each, the second fails.
        fake.clear_faults()
        for name in ("AUTH_PIN", "SIGNING_KEY"):
            path = f"/accounts/{fake.account_id}/workers/scripts/{NAME}/secrets/{name}"
            headers = {"Authorization": f"Bearer {fake.token}"}
            httpx.delete(fake.base_url + path, headers=headers).raise_for_status()
        look = chat.execute("look", NAME=NAME)
        assert (look["plan"]["reason"], look["plan"]["secrets"]) == (
            None,
            ["AUTH_PIN", "SIGNING_KEY"],
        )
        staged = chat.stage_everything(look["kv_namespace"])
        fake.inject_fault("PUT", f"/accounts/*/workers/scripts/{NAME}/secrets", nth=2)
        with pytest.raises(SnippetFailed) as failed:
            chat.execute(
                "upload",
                NAME=NAME,
                KV_ID=look["kv_namespace"],
                PLAN=look["plan"],
                STAGED=staged,
                VERSION=__version__,
                PUBLIC_URL=look["public_url"],
            )
        secrets = fake.script(NAME).secrets()
        assert failed.value.answer["pin"] == secrets["AUTH_PIN"] and "SIGNING_KEY" not in secrets


def runbook_py(values: list[Any]) -> list[str]:
    """The upload snippet's `py` (how it writes Python literals), run in Node on each value."""
    match = re.search(r"^ *const pyStr = .*?^ *const py = .*?;$", snippets()["upload"], re.M | re.S)
    assert match, "the upload snippet has no pyStr and py"
    script = match.group(0) + (
        "\nconst values = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "\nprocess.stdout.write(JSON.stringify(values.map(py)));"
    )
    run = subprocess.run(
        ["node", "-e", script], input=json.dumps(values), capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    return list(json.loads(run.stdout))


@needs_node
def test_the_runbook_writes_python_strings_as_render_does():
    special = ["Team 👨‍💻", "\u200d", "\u00a0", "\x85", "\u2028", "\u2029", "\ufeff", "\u0378"]
    special += ["\U0001fae8", "\U0010ffff", "\ud800", "\udfff", "é", "e\u0301", "\x00\x1f\x7f"]
    special += ["'", '"', "'\"", "\\", "\t\n\r", "".join(map(chr, range(128)))]
    sample = random.Random(0).sample(range(0x110000), 3000)
    values: list[Any] = special + [chr(c) for c in sample]
    values.append("".join(chr(c) for c in sample if not 0xD800 <= c < 0xE000))
    values.append({"server_name": "Team 👨‍💻 ", "x": ["é", None, True, 1]})
    assert runbook_py(values) == [python_literal(v) for v in values]
