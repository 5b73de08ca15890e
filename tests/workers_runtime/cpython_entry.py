"""Run a bundle's entry.py on CPython, the way a mock-based unit test would, and do the OAuth flow.

    python -m tests.workers_runtime.cpython_entry BUNDLE_DIR   (PIN in CFMCP_TEST_PIN)

`js`, `pyodide.ffi` and `workers` do not exist on CPython, so this installs stand-ins for them,
imports the bundle's entry module, and wires its `JsKvStore` to a dict-backed binding whose
`get` returns Python None for a missing key (what a hand-written fake naturally does). The flow
then runs in-process against `WorkerApp.handle`. Prints a JSON summary of the /token reply.
This is the counterpart of running the same entry.py under the Pyodide harness.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import types
from pathlib import Path

from tests.workers_runtime.oauth_flow import Reply, obtain_tokens, refresh_once

ORIGIN = "https://mcp.example.test"


class PythonKvBinding:
    """A KV binding fake: missing keys come back as None, options as keyword arguments."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, key: str):
        return self.values.get(key)

    async def put(self, key: str, value: str, expirationTtl: int | None = None) -> None:
        self.values[key] = value

    async def delete(self, key: str) -> None:
        self.values.pop(key, None)

    async def list(self, prefix: str = "", cursor: str | None = None):
        names = sorted(k for k in self.values if k.startswith(prefix))
        return {"keys": [{"name": n} for n in names], "list_complete": True}


def install_runtime_stand_ins() -> None:
    js = types.ModuleType("js")
    ffi = types.ModuleType("pyodide.ffi")
    ffi.to_js = lambda value, **_: value
    ffi.create_proxy = lambda value: value
    ffi.jsnull = type("JsNull", (), {"__bool__": lambda self: False})()
    pyodide = types.ModuleType("pyodide")
    pyodide.ffi = ffi
    workers = types.ModuleType("workers")
    workers.WorkerEntrypoint = type("WorkerEntrypoint", (), {})
    workers.DurableObject = type("DurableObject", (), {})
    sys.modules.update({"js": js, "pyodide": pyodide, "pyodide.ffi": ffi, "workers": workers})


class AppTransport:
    """Hands each request to WorkerApp.handle in-process."""

    def __init__(self, entry: types.ModuleType, app) -> None:
        self.entry = entry
        self.app = app

    async def send(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        request = self.entry.HttpRequest(
            method, ORIGIN + path, {k.lower(): v for k, v in headers.items()}, body, "203.0.113.9"
        )
        result = await self.app.handle(request)
        if not isinstance(result, self.entry.HttpResponse):
            raise AssertionError(f"{method} {path}: expected a response, got {result!r}")
        return Reply(result.status, {k.lower(): v for k, v in result.headers}, result.body)


async def run(bundle_dir: Path, pin: str) -> dict:
    install_runtime_stand_ins()
    sys.path.insert(0, str(bundle_dir))
    import entry
    from cfmcp_worker import exact

    from cfmcp.local.exact import SqliteSql

    settings = entry.Settings.from_mapping(entry.deployment.SETTINGS)
    ledger = exact.ExactLedger(SqliteSql(":memory:"), exact.pin_limits(settings))
    app = entry.WorkerApp(
        settings=entry.Settings.from_mapping(entry.deployment.SETTINGS),
        secrets=entry.Secrets(
            upstream_token="pat-cpython", pin=pin, signing_key="cpython-signing-key-0123456789"
        ),
        kv=entry.JsKvStore(PythonKvBinding()),
        exact_state=exact.ExactClient(exact.direct_sender(ledger)),
    )
    transport = AppTransport(entry, app)
    result = await obtain_tokens(transport, ORIGIN, pin)
    refreshed = await refresh_once(transport, result)
    return {
        "token_status": result.token_reply.status,
        "refresh_status": refreshed.status,
        "refresh_error": refreshed.json().get("error"),
    }


def main() -> None:
    summary = asyncio.run(run(Path(sys.argv[1]), os.environ["CFMCP_TEST_PIN"]))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
