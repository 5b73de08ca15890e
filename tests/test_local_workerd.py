"""`cfmcp dev --runtime workerd` (cfmcp/local/workerd/): its errors, state, secrets and knobs.

The first tests need neither node nor miniflare (they check what happens without them); the
rest run the bundle in workerd and are skipped only when it is truly unavailable (failed in CI).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cfmcp.local.server import bind_socket
from cfmcp.local.workerd.locate import INSTALL_HINT, MINIFLARE_VERSION
from cfmcp.project.config import ProjectConfig
from cfmcp.worker.render import render_bundle
from tests.support.hosts import DevHost, start_workerd, workerd_unavailable
from tests.support.oauth import obtain_tokens_over_http, refresh

pytestmark = pytest.mark.integration
LATENCY_MS = 200


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CFMCP_")}
    env.update({"NO_COLOR": "1", "COLUMNS": "1000", **extra})  # one line stays one line
    return env


def _dev(
    *args: str, env: dict[str, str], cwd: Path, code: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`cfmcp dev ARGS`; `code` runs first in the same process (to move the checkout away)."""
    prelude = code or ""
    script = (
        f"import sys\n{prelude}\nfrom cfmcp.cli import main\n"
        f"sys.argv = ['cfmcp', 'dev', *{list(args)!r}]\nmain()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def _assert_one_line(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_without_node_one_line_says_what_to_install(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = _dev("--runtime", "workerd", "--demo", env=_env(PATH=str(empty)), cwd=tmp_path)
    _assert_one_line(result, 1, "Node.js", f"miniflare@{MINIFLARE_VERSION}")


def test_without_miniflare_one_line_says_what_to_install(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("no node on PATH")
    bin_dir = tmp_path / "bin"  # node alone: no npm, so no global node_modules either
    bin_dir.mkdir()
    (bin_dir / "node").symlink_to(node)
    result = _dev(
        "--runtime",
        "workerd",
        "--demo",
        env=_env(PATH=str(bin_dir)),
        cwd=tmp_path,
        code=f"import cfmcp.local.workerd.locate as locate\n"
        f"from pathlib import Path\nlocate._CHECKOUT = Path({str(tmp_path)!r})",
    )
    _assert_one_line(result, 1, INSTALL_HINT)


def test_miniflare_dir_without_the_package(tmp_path: Path) -> None:
    result = _dev(
        "--runtime", "workerd", "--demo", env=_env(CFMCP_MINIFLARE_DIR=str(tmp_path)), cwd=tmp_path
    )
    _assert_one_line(result, 1, f"no npm package miniflare in {tmp_path}")


def test_testing_aids_need_the_workerd_runtime(tmp_path: Path) -> None:
    result = _dev("--demo", "--kv-latency-ms", "5", env=_env(), cwd=tmp_path)
    assert result.returncode == 2 and "are for --runtime workerd" in result.stderr


def test_workerd_state_must_be_a_directory(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    state.write_text("")
    result = _dev("--runtime", "workerd", "--demo", "--state", str(state), env=_env(), cwd=tmp_path)
    assert result.returncode == 2 and "--state names a directory" in result.stderr


# --- in workerd ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = workerd_unavailable()
    if reason and os.environ.get("CI"):
        pytest.fail(f"workerd unavailable in CI: {reason}")
    if reason:
        pytest.skip(f"workerd unavailable: {reason}")
    config = ProjectConfig()
    config.upstream.url = "http://127.0.0.1:9/mcp"  # nothing here reaches the upstream
    out = tmp_path_factory.mktemp("bundle")
    render_bundle(config.validate()).write(out)
    return out


def _secrets() -> dict[str, str]:
    return {
        "UPSTREAM_TOKEN": "pat-" + secrets.token_hex(16),
        "AUTH_PIN": "pin-" + secrets.token_hex(6),
        "SIGNING_KEY": secrets.token_urlsafe(32),
    }


def _free_port() -> int:
    sock = bind_socket("127.0.0.1", 0)
    try:
        return int(sock.getsockname()[1])
    finally:
        sock.close()


def test_state_survives_a_restart(bundle_dir: Path, tmp_path: Path) -> None:
    env, port, state = _secrets(), _free_port(), tmp_path / "state"
    with start_workerd(bundle_dir, env, state=state, port=port) as host:
        tokens = obtain_tokens_over_http(host.origin, env["AUTH_PIN"])
    assert (state / "kv").is_dir() and (state / "do").is_dir()
    with start_workerd(bundle_dir, env, state=tmp_path / "fresh", port=port) as host:
        refused = refresh(host.origin, tokens.client_id, str(tokens.refresh_token))
    assert refused.status_code == 400, "a fresh state must not know the grant"
    with start_workerd(bundle_dir, env, state=state, port=port) as host:
        answer = refresh(host.origin, tokens.client_id, str(tokens.refresh_token))
    assert answer.status_code == 200, answer.text
    assert answer.json()["refresh_token"] != tokens.refresh_token


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs Linux /proc")
def test_secrets_stay_off_argv_environ_and_disk_and_nothing_outlives_it(
    bundle_dir: Path, tmp_path: Path
) -> None:
    env, state = _secrets(), tmp_path / "state"
    with start_workerd(bundle_dir, env, state=state) as host:
        obtain_tokens_over_http(host.origin, env["AUTH_PIN"])  # state gets written
        processes = _descendants(host.pid)
        names = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in processes}
        assert any(b"runner.mjs" in cmd for cmd in names.values()), names
        assert any(b"workerd\0serve" in cmd for cmd in names.values()), names
        for pid, cmd in names.items():  # cfmcp dev's pipes (secrets, ready) end at the runner
            if b"workerd\0serve" in cmd:
                fds = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
                assert not [fd for fd in fds if fd.startswith("pipe:")], fds
        # cfmcp dev itself takes them from its environment (CFMCP_*): its children must not
        for pid in [host.pid, *processes]:
            for part in ("cmdline", "environ") if pid != host.pid else ("cmdline",):
                data = Path(f"/proc/{pid}/{part}").read_bytes()
                for name, value in env.items():
                    assert value.encode() not in data, f"{name} in /proc/{pid}/{part}"
    for path in state.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for name, value in env.items():
                assert value.encode() not in data, f"{name} in {path}"
    deadline = time.monotonic() + 5
    while (
        alive := [p for p in processes if Path(f"/proc/{p}").exists() and "Z" not in _state_of(p)]
    ) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive, f"still running after cfmcp dev stopped: {alive}"


def _state_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


@pytest.fixture(scope="module")
def slow_kv_host(bundle_dir: Path) -> Iterator[tuple[DevHost, dict[str, str]]]:
    env = _secrets()
    with start_workerd(bundle_dir, env, kv_latency_ms=LATENCY_MS, count_ops=True) as host:
        yield host, env


def test_kv_latency_and_operation_counts(slow_kv_host: tuple[DevHost, dict[str, str]]) -> None:
    host, env = slow_kv_host
    tokens = obtain_tokens_over_http(host.origin, env["AUTH_PIN"])
    host.reset_ops()
    assert host.ops() == {"kv_get": 0, "kv_put": 0, "kv_delete": 0, "kv_list": 0, "do_call": 0}
    started = time.perf_counter()
    answer = refresh(host.origin, tokens.client_id, str(tokens.refresh_token))
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200, answer.text
    ops = host.ops()
    kv_ops = ops["kv_get"] + ops["kv_put"] + ops["kv_delete"] + ops["kv_list"]
    assert ops["do_call"] >= 1 and kv_ops >= 1, ops
    assert elapsed >= LATENCY_MS / 1000, f"{elapsed:.3f} s for {kv_ops} KV operations"


def test_worker_print_reaches_the_dev_console(slow_kv_host: tuple[DevHost, dict[str, str]]) -> None:
    host, _ = slow_kv_host
    url = "https://cimd.example.invalid/client.json"  # cannot be fetched: the Worker says so
    httpx.get(
        f"{host.origin}/authorize",
        timeout=30,
        params={
            "client_id": url,
            "redirect_uri": "https://cimd.example.invalid/cb",
            "response_type": "code",
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
        },
    )
    assert host.log_path is not None
    deadline = time.monotonic() + 10
    while f"client metadata document {url} not fetched" not in host.log_path.read_text():
        assert time.monotonic() < deadline, host.log_path.read_text()[-2000:]
        time.sleep(0.1)


def test_each_request_is_one_line_on_the_dev_console(
    slow_kv_host: tuple[DevHost, dict[str, str]],
) -> None:
    """workerd's stdout reaches `cfmcp dev`, which shows the Worker's lines as python does."""
    host, env = slow_kv_host
    tokens = obtain_tokens_over_http(host.origin, env["AUTH_PIN"], client_name="Workerd Lines")
    assert host.log_path is not None
    deadline = time.monotonic() + 10
    while "POST /token  200" not in host.log_path.read_text():
        assert time.monotonic() < deadline, host.log_path.read_text()[-2000:]
        time.sleep(0.1)
    text = host.log_path.read_text()
    assert "POST /register  201" in text and "Workerd Lines" in text
    assert '{"cfmcp"' not in text  # rendered, not raw
    for secret in (env["AUTH_PIN"], tokens.access_token, str(tokens.refresh_token)):
        assert secret not in text


def test_only_requests_addressed_to_this_machine_are_answered(
    slow_kv_host: tuple[DevHost, dict[str, str]],
) -> None:
    """DNS rebinding: the Host check of the python runtime, in front of workerd too."""
    host, _ = slow_kv_host
    port = host.origin.rsplit(":", 1)[1]
    url = f"{host.origin}/.well-known/oauth-authorization-server"
    for name in ("evil.example", f"evil.example:{port}", "127.0.0.1.nip.io"):
        answer = httpx.get(url, headers={"Host": name}, timeout=30)
        assert answer.status_code == 421, name
        assert "answers only its own address" in answer.text
    for name in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        answer = httpx.get(url, headers={"Host": name}, timeout=30)
        assert answer.status_code == 200, name
        assert answer.json()["issuer"] == f"http://{name}"


def test_a_busy_port_is_said_as_for_the_python_runtime(bundle_dir: Path, tmp_path: Path) -> None:
    busy = bind_socket("127.0.0.1", 0)
    try:
        port = busy.getsockname()[1]
        result = _dev(
            "--runtime", "workerd", "--demo", "--port", str(port), env=_env(), cwd=tmp_path
        )
    finally:
        busy.close()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"error: port {port} on 127.0.0.1 is already in use" in result.stderr
