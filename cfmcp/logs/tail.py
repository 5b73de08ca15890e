"""A live tail of the deployed Worker, as wrangler runs one: created through the API, read on
its WebSocket (subprotocol `trace-v1`; once open, the client sends `{"debug": false}`), and
deleted whatever ends it — Ctrl-C, an error, or the WebSocket closing.

The tail's URL lets whoever holds it read the Worker's logs: it is never printed.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cfmcp import __version__
from cfmcp.errors import CfmcpError, LiveTailError

if TYPE_CHECKING:
    from cfmcp.account.api import CloudflareApi, WorkerTail

TRACE_PROTOCOL = "trace-v1"
OPEN_MESSAGE = {"debug": False}  # wrangler's first message on the tail's WebSocket
OPEN_TIMEOUT_SECONDS = 15.0
RERUN = "run `cfmcp logs` again"
Event = dict[str, Any]


async def read_events(url: str, on_event: Callable[[Event], None]) -> None:
    """Hand every event of the tail at `url` to `on_event` until the WebSocket ends; raises
    LiveTailError when it cannot connect, breaks off, or is closed by the other side. What
    `on_event` raises goes through untouched (a closed stdout is not a tail problem)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import (
        ConnectionClosedError,
        ConnectionClosedOK,
        InvalidHandshake,
        InvalidStatus,
        InvalidURI,
    )
    from websockets.typing import Subprotocol

    try:
        websocket = await connect(
            url,
            subprotocols=[Subprotocol(TRACE_PROTOCOL)],
            user_agent_header=f"cfmcp/{__version__}",
            open_timeout=OPEN_TIMEOUT_SECONDS,
            max_size=None,
        )
    except InvalidStatus as exc:
        raise LiveTailError(
            f"the live tail refused the connection (HTTP {exc.response.status_code})", hint=RERUN
        ) from None
    except (InvalidURI, InvalidHandshake) as exc:
        raise LiveTailError(
            f"cannot open the live tail ({type(exc).__name__})", hint=RERUN
        ) from None
    except (OSError, TimeoutError) as exc:
        raise LiveTailError(
            f"cannot reach the live tail ({type(exc).__name__})",
            hint=f"check your network, then {RERUN}",
        ) from None
    async with websocket:
        try:
            await websocket.send(json.dumps(OPEN_MESSAGE))
            while True:
                event = _event(await websocket.recv())
                if event is not None:
                    on_event(event)  # only websockets raises ConnectionClosed
        except ConnectionClosedOK as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
            raise LiveTailError(
                f"the live tail was closed (WebSocket close code {code})", hint=RERUN
            ) from None
        except ConnectionClosedError as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
            raise LiveTailError(
                f"the live tail broke off (WebSocket close code {code})", hint=RERUN
            ) from None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _event(message: str | bytes) -> Event | None:
    try:
        data = json.loads(message)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def follow(
    api: CloudflareApi,
    account_id: str,
    script: str,
    on_event: Callable[[Event], None],
    on_open: Callable[[WorkerTail], None] = lambda tail: None,
    warn: Callable[[str], None] = lambda message: None,
) -> None:
    """Create a tail of `script`, stream its events to `on_event`, and delete the tail when
    streaming ends for any reason (a failed delete is only warned about: it expires)."""
    tail = api.create_tail(account_id, script)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as Ctrl-C does
    try:
        on_open(tail)
        asyncio.run(read_events(tail.url, on_event))
    finally:
        signal.signal(signal.SIGTERM, previous)
        try:
            api.delete_tail(account_id, script, tail.id)
        except CfmcpError as exc:
            warn(f"could not stop the live tail ({exc.message}); it expires by itself")
