"""Keep `cfmcp dev` running while workerd serves the Worker: until Ctrl-C, SIGTERM or its end.

The demo upstream (if any) is served here with uvicorn, as for the python runtime.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cfmcp.errors import CfmcpError
from cfmcp.local.server import serve_apps
from cfmcp.local.workerd.process import WorkerdProcess

POLL_SECONDS = 0.2


async def _runner_exit(worker: WorkerdProcess) -> int:
    while (code := worker.poll()) is None:
        await asyncio.sleep(POLL_SECONDS)
    return code


async def _until_signal() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


async def serve_with_workerd(
    worker: WorkerdProcess, bound: Sequence[tuple[Any, Any]], on_ready: Callable[[], None]
) -> None:
    """Serve `bound` (app, socket) pairs next to the running `worker` until told to stop.

    Raises CfmcpError when workerd ends by itself.
    """
    exited = asyncio.create_task(_runner_exit(worker))
    try:
        if bound:
            # The runner's end stops the uvicorn servers the way Ctrl-C does.
            def stop_servers(task: asyncio.Task[int]) -> None:
                if not task.cancelled():
                    signal.raise_signal(signal.SIGTERM)

            exited.add_done_callback(stop_servers)
            await serve_apps(bound, on_ready)
        else:
            on_ready()
            stopped = asyncio.create_task(_until_signal())
            await asyncio.wait({exited, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopped
    finally:
        if not exited.done():
            exited.cancel()
    if exited.done() and not exited.cancelled():
        raise CfmcpError(
            f"workerd stopped by itself (runner exit status {exited.result()})",
            hint="its output is above",
        )


def write_ready_json(path: Path, data: dict[str, str]) -> None:
    """The ready file with keys beyond "origin" (e.g. "control"), written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ready-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)
