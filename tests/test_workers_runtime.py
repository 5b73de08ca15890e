"""The Pyodide Workers harness itself: KV contract, import-time entropy, streaming, setup errors.

Each test writes a throwaway Worker bundle (an entry.py) to a tmp dir and serves it with the
harness, so these tests do not depend on the OAuth core.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from tests.support.local_http import LocalHttpServer
from tests.workers_runtime.host import HARNESS, HarnessError, run_pyodide_worker, start_harness
from tests.workers_runtime.sse_upstream import GatedSse, read_events_gated

pytestmark = pytest.mark.pyodide


def write_bundle(directory: Path, source: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "entry.py").write_text(textwrap.dedent(source))
    return directory


KV_PROBE = """
    import json

    import js
    from pyodide.ffi import jsnull, to_js
    from workers import WorkerEntrypoint


    def describe(value):
        if value is jsnull:
            return {"kind": "jsnull", "falsy": not value}
        if value is None:
            return {"kind": "None"}
        return {"kind": type(value).__name__, "value": value}


    async def run(kv, op):
        name = op["op"]
        if name == "get":
            return describe(await kv.get(op["key"]))
        if name == "put":
            if "ttl" in op:
                await kv.put(op["key"], op["value"], expirationTtl=op["ttl"])
            else:
                await kv.put(op["key"], op["value"])
            return {"kind": "ok"}
        if name == "put_dict_options":
            await kv.put(op["key"], op["value"], {"expirationTtl": 120})
            return {"kind": "ok"}
        if name == "delete":
            await kv.delete(op["key"])
            return {"kind": "ok"}
        if name == "list":
            options = {k: op[k] for k in ("prefix", "cursor", "limit") if k in op}
            page = (await kv.list(**options)).to_py()
            return {"kind": "list", "names": [k["name"] for k in page["keys"]],
                    "complete": page["list_complete"], "cursor": page.get("cursor")}
        raise ValueError(name)


    class Default(WorkerEntrypoint):
        async def fetch(self, request):
            op = json.loads(await request.text())
            try:
                result = await run(self.env.OAUTH_KV, op)
            except Exception as exc:
                result = {"kind": "error", "error": str(exc)}
            return js.Response.new(json.dumps(result))
"""


@pytest.fixture(scope="module")
def kv_probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, httpx.Client]]:
    bundle = write_bundle(tmp_path_factory.mktemp("kv-probe"), KV_PROBE)
    with (
        start_harness(bundle, {}, control=True) as info,
        httpx.Client(base_url=info.origin, timeout=30) as client,
    ):
        yield info.origin, client


def kv(client: httpx.Client, **op: object) -> dict:
    response = client.post("/", content=json.dumps(op))
    assert response.status_code == 200, response.text
    return response.json()


def test_kv_get_of_a_missing_key_is_jsnull_not_none(kv_probe):
    _, client = kv_probe
    assert kv(client, op="get", key="never-written") == {"kind": "jsnull", "falsy": True}


def test_the_sdk_wraps_kv_only_under_workerds_class_name(tmp_path: Path):
    """With --sdk-wrapped-kv the PyPI SDK's env wrapper converts null to None (see kv.mjs)."""
    bundle = write_bundle(tmp_path / "wrapped", KV_PROBE)
    with (
        start_harness(bundle, {}, sdk_wrapped_kv=True) as info,
        httpx.Client(base_url=info.origin, timeout=30) as client,
    ):
        assert kv(client, op="get", key="never-written") == {"kind": "None"}
        assert kv(client, op="put", key="k", value="v", ttl=59)["kind"] == "error"


def test_kv_write_limit_refuses_a_second_write_to_a_key_within_a_second(tmp_path: Path):
    bundle = write_bundle(tmp_path / "write-limit", KV_PROBE)
    with (
        start_harness(bundle, {}, kv_write_limit=True) as info,
        httpx.Client(base_url=info.origin, timeout=30) as client,
    ):
        assert kv(client, op="put", key="hot", value="1") == {"kind": "ok"}
        refused = kv(client, op="put", key="hot", value="2")
        assert kv(client, op="put", key="cold", value="1") == {"kind": "ok"}
        time.sleep(1.1)
        assert kv(client, op="delete", key="hot") == {"kind": "ok"}
    assert refused["kind"] == "error" and " 429 " in refused["error"]


def test_kv_writes_reach_other_locations_after_the_replication_delay(tmp_path: Path):
    bundle = write_bundle(tmp_path / "locations", KV_PROBE)
    with (
        start_harness(bundle, {}, locations=["a", "b"], control=True) as info,
        httpx.Client(base_url=info.origins["a"], timeout=30) as a,
        httpx.Client(base_url=info.origins["b"], timeout=30) as b,
    ):

        def advance(seconds: int) -> None:
            a.post("/__harness__/kv-clock", params={"advance": seconds}).raise_for_status()

        assert kv(a, op="put", key="k", value="from a") == {"kind": "ok"}
        assert kv(a, op="get", key="k")["kind"] == "str"  # read-your-writes where written
        advance(30)
        assert kv(b, op="get", key="k")["kind"] == "jsnull"  # not replicated; miss cached 60 s
        advance(35)  # replicated now (65 s), but b still serves its cached miss
        assert kv(b, op="get", key="k")["kind"] == "jsnull"
        advance(30)
        assert kv(b, op="get", key="k") == {"kind": "str", "value": "from a"}
        assert kv(b, op="put", key="fresh", value="b") == {"kind": "ok"}
        assert kv(b, op="get", key="fresh")["kind"] == "str"


def test_kv_put_then_get_round_trips_a_string(kv_probe):
    _, client = kv_probe
    assert kv(client, op="put", key="greeting", value="héllo") == {"kind": "ok"}
    assert kv(client, op="get", key="greeting") == {"kind": "str", "value": "héllo"}
    assert kv(client, op="delete", key="greeting") == {"kind": "ok"}
    assert kv(client, op="get", key="greeting")["kind"] == "jsnull"


def test_kv_rejects_expiration_ttl_below_60(kv_probe):
    _, client = kv_probe
    result = kv(client, op="put", key="short", value="x", ttl=59)
    assert result["kind"] == "error"
    assert "at least 60" in result["error"]
    assert kv(client, op="put", key="short", value="x", ttl=60) == {"kind": "ok"}


def test_kv_rejects_keys_over_512_utf8_bytes(kv_probe):
    _, client = kv_probe
    at_limit = "é" * 256  # 512 bytes in UTF-8
    assert kv(client, op="put", key=at_limit, value="ok") == {"kind": "ok"}
    result = kv(client, op="put", key=at_limit + "x", value="too long")
    assert result["kind"] == "error"
    assert "513" in result["error"] and "512" in result["error"]
    assert kv(client, op="get", key=at_limit + "x")["kind"] == "error"


def test_kv_values_expire(kv_probe):
    origin, client = kv_probe
    assert kv(client, op="put", key="ephemeral", value="soon gone", ttl=60) == {"kind": "ok"}
    assert kv(client, op="get", key="ephemeral")["kind"] == "str"
    httpx.post(f"{origin}/__harness__/kv-clock", params={"advance": 59}).raise_for_status()
    assert kv(client, op="get", key="ephemeral")["kind"] == "str"
    httpx.post(f"{origin}/__harness__/kv-clock", params={"advance": 2}).raise_for_status()
    assert kv(client, op="get", key="ephemeral") == {"kind": "jsnull", "falsy": True}


def test_kv_list_pages_with_a_cursor(kv_probe):
    _, client = kv_probe
    for name in ("page:c", "page:a", "page:b", "other:z"):
        assert kv(client, op="put", key=name, value="1") == {"kind": "ok"}
    first = kv(client, op="list", prefix="page:", limit=2)
    assert first["names"] == ["page:a", "page:b"]
    assert first["complete"] is False and first["cursor"]
    rest = kv(client, op="list", prefix="page:", limit=2, cursor=first["cursor"])
    assert rest == {"kind": "list", "names": ["page:c"], "complete": True, "cursor": None}


def test_kv_refuses_a_python_dict_as_options(kv_probe):
    _, client = kv_probe
    result = kv(client, op="put_dict_options", key="dict-options", value="x")
    assert result["kind"] == "error"
    assert "Python object proxy" in result["error"]


ENTROPY_AT_IMPORT = """
    import os
    import random
    import secrets
    import uuid

    import js
    from workers import WorkerEntrypoint

    VALUE = {call}


    class Default(WorkerEntrypoint):
        async def fetch(self, request):
            return js.Response.new(str(VALUE))
"""


@pytest.mark.parametrize(
    "call",
    [
        "secrets.token_hex(8)",
        "os.urandom(8)",
        "random.random()",
        "uuid.uuid4()",
        "random.Random()",
        "random.SystemRandom().random()",
    ],
)
def test_randomness_at_import_time_fails_the_worker(tmp_path: Path, call: str):
    bundle = write_bundle(tmp_path / "entropy", ENTROPY_AT_IMPORT.format(call=call))
    with pytest.raises(HarnessError) as failure, start_harness(bundle, {}):
        pass
    message = str(failure.value)
    assert "Cannot get entropy outside of request context" in message
    assert "VALUE =" in message  # the traceback points at the offending line


ENTROPY_IN_HANDLER = """
    import os
    import random
    import secrets
    import uuid

    import js
    from workers import WorkerEntrypoint


    class Default(WorkerEntrypoint):
        async def fetch(self, request):
            values = [secrets.token_hex(8), os.urandom(4).hex(), random.random(), uuid.uuid4(),
                      random.Random().random()]
            return js.Response.new(" ".join(map(str, values)))
"""


def test_randomness_inside_a_request_works(tmp_path: Path):
    bundle = write_bundle(tmp_path / "entropy-ok", ENTROPY_IN_HANDLER)
    with start_harness(bundle, {}) as info:
        first = httpx.get(info.origin, timeout=30)
        second = httpx.get(info.origin, timeout=30)
    assert first.status_code == 200 and len(first.text.split()) == 5
    assert first.text != second.text


def test_a_main_module_without_default_class_is_refused(tmp_path: Path):
    bundle = write_bundle(
        tmp_path / "no-default",
        """
        async def on_fetch(request, env):
            return None
    """,
    )
    with (
        pytest.raises(HarnessError, match=r"class Default\(WorkerEntrypoint\)"),
        start_harness(bundle, {}),
    ):
        pass


def test_missing_setup_is_reported_with_the_fix(tmp_path: Path):
    bundle = write_bundle(tmp_path / "any", ENTROPY_IN_HANDLER)
    for variable in ("CFMCP_HARNESS_WHEEL_DIR", "CFMCP_HARNESS_NODE_DIR"):
        result = subprocess.run(
            ["node", str(HARNESS), "--bundle", str(bundle)],
            env={**os.environ, variable: str(tmp_path / "empty")},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        assert "run scripts/test" in result.stderr


def test_env_vars_reach_the_worker_and_the_port_is_honoured(tmp_path: Path):
    bundle = write_bundle(
        tmp_path / "env",
        """
        import js
        from workers import WorkerEntrypoint


        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                ip = request.headers.get("cf-connecting-ip")
                return js.Response.new(f"{self.env.GREETING} {request.url} {ip}")
    """,
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with start_harness(bundle, {"GREETING": "hi"}, port=port) as info:
        assert info.origin == f"http://127.0.0.1:{port}"
        reply = httpx.get(f"{info.origin}/p?q=1", timeout=30)
    assert reply.text == f"hi http://127.0.0.1:{port}/p?q=1 127.0.0.1"
    with pytest.raises(httpx.ConnectError):  # stopped: nothing listens any more
        httpx.get(info.origin, timeout=5)


STREAM_FORWARDER = """
    import js
    from pyodide.ffi import to_js
    from workers import WorkerEntrypoint


    class Default(WorkerEntrypoint):
        async def fetch(self, request):
            if request.url.endswith("/ping"):
                return js.Response.new("pong")
            upstream = await js.fetch(self.env.UPSTREAM_URL)
            init = to_js({"status": upstream.status, "headers": upstream.headers},
                         dict_converter=js.Object.fromEntries)
            return js.Response.new(upstream.body, init)
"""


def test_streamed_bodies_arrive_chunk_by_chunk(tmp_path: Path):
    bundle = write_bundle(tmp_path / "stream", STREAM_FORWARDER)
    sse = GatedSse()
    try:
        with start_harness(bundle, {"UPSTREAM_URL": sse.url}) as info:
            arrived = read_events_gated("GET", info.origin, sse)
    finally:
        sse.close()
    assert b"".join(chunk for chunk, _ in arrived) == b"data: one\n\ndata: two\n\n"
    first, released_by_then = arrived[0]
    assert first == b"data: one\n\n" and not released_by_then


def test_other_requests_are_served_while_a_stream_is_held_open(tmp_path: Path):
    bundle = write_bundle(tmp_path / "concurrent", STREAM_FORWARDER)
    sse = GatedSse()
    try:
        with (
            start_harness(bundle, {"UPSTREAM_URL": sse.url}) as info,
            httpx.stream("GET", info.origin, timeout=30) as held,
        ):
            chunks = held.iter_raw()
            first = next(chunks)
            ping = httpx.get(f"{info.origin}/ping", timeout=5)
            assert not sse.release.is_set()  # the stream is still held open upstream
            sse.release.set()
            rest = b"".join(chunks)
    finally:
        sse.close()
    assert first == b"data: one\n\n" and rest == b"data: two\n\n"
    assert ping.text == "pong"


def test_an_exception_in_the_worker_becomes_a_500_with_the_traceback_logged(tmp_path: Path):
    bundle = write_bundle(
        tmp_path / "raises",
        """
        from workers import WorkerEntrypoint


        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                raise LookupError("the probe failed on purpose")
    """,
    )
    with start_harness(bundle, {}) as info:
        reply = httpx.get(info.origin, timeout=30)
        log = info.log()
    assert reply.status_code == 500
    assert reply.headers["x-harness-worker-exception"] == "1"
    assert "LookupError: the probe failed on purpose" in log


def test_a_compressed_upstream_body_reaches_the_client_intact(tmp_path: Path):
    """fetch() decodes the body but keeps Content-Encoding; the edge re-encodes on the way out."""
    payload = b'{"jsonrpc": "2.0", "result": "' + b"x" * 4000 + b'"}'

    class Gzipped(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = gzip.compress(payload)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with LocalHttpServer(Gzipped) as upstream:
        bundle = write_bundle(tmp_path / "gzip", STREAM_FORWARDER)
        with start_harness(bundle, {"UPSTREAM_URL": upstream.origin + "/"}) as info:
            reply = httpx.get(info.origin, timeout=30)
    assert reply.headers["content-encoding"] == "gzip"
    assert reply.content == payload


def test_the_harness_log_is_shown_when_the_block_fails(tmp_path: Path, capsys):
    bundle = write_bundle(
        tmp_path / "logged",
        """
        import js
        from workers import WorkerEntrypoint

        print("imported the logged worker")


        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                return js.Response.new("ok")
    """,
    )
    with (
        pytest.raises(RuntimeError, match="test failed here"),
        run_pyodide_worker(bundle, {}) as origin,
    ):
        assert origin.startswith("http://127.0.0.1:")
        raise RuntimeError("test failed here")
    err = capsys.readouterr().err
    assert "Workers harness log" in err
    assert "imported the logged worker" in err


def test_wrangler_toml_names_the_main_module_and_other_dates_are_flagged(tmp_path: Path):
    bundle = write_bundle(tmp_path / "toml", "raise SystemExit('entry.py must not be imported')")
    (bundle / "worker_main.py").write_text(
        textwrap.dedent("""
        import js
        from workers import WorkerEntrypoint


        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                return js.Response.new("from worker_main")
    """)
    )
    (bundle / "wrangler.toml").write_text(
        'name = "x"\nmain = "worker_main.py"\ncompatibility_date = "2026-05-01"\n'
        'compatibility_flags = ["python_workers"]\n'
    )
    with start_harness(bundle, {}) as info:
        reply = httpx.get(info.origin, timeout=30)
        log = info.log()
    assert reply.text == "from worker_main"
    assert 'compatibility_date "2026-05-01"; the harness emulates 2026-03-01' in log
