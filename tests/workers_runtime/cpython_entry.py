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

from tests.support.oauth import core_sender, obtain_tokens, refresh_form, run_async, token_call

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
    send = core_sender(app, ORIGIN, ip="203.0.113.9")
    result = await run_async(obtain_tokens(pin, resource=ORIGIN + "/mcp"), send)
    form = refresh_form(result.client_id, result.refresh_token or "")
    refreshed = await run_async(token_call(form), send)
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
