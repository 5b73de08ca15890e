"""A live tail of the deployed Worker, as wrangler runs one: created through the API, read on
its WebSocket (subprotocol `trace-v1`; once open, the client sends `{"debug": false}`), and
deleted whatever ends it — Ctrl-C, an error, or the WebSocket closing. Ctrl-C or SIGTERM
while the tail is created or deleted waits for that call (a second one stops at once), so no
tail is left behind that a run started.

The tail's URL lets whoever holds it read the Worker's logs: it is never printed (nor its id,
the URL's last part).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from cfmcp import __version__
from cfmcp.errors import CfmcpError, LiveTailError

if TYPE_CHECKING:
    from cfmcp.account.api import CloudflareApi, WorkerTail

TRACE_PROTOCOL = "trace-v1"
OPEN_MESSAGE = {"debug": False}  # wrangler's first message on the tail's WebSocket
OPEN_TIMEOUT_SECONDS = 15.0
MAX_EVENT_BYTES = 4 * 1024 * 1024  # one event (an invocation's logs); wrangler's are far smaller
MESSAGE_TOO_BIG = 1009  # the WebSocket close code for a message over max_size
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
            max_size=MAX_EVENT_BYTES,
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
            if exc.sent is not None and exc.sent.code == MESSAGE_TOO_BIG:
                raise LiveTailError(
                    f"a live tail event was larger than {MAX_EVENT_BYTES // 2**20} MiB, "
                    "so cfmcp closed the tail",
                    hint=RERUN,
                ) from None
            code = exc.rcvd.code if exc.rcvd is not None else None
            raise LiveTailError(
                f"the live tail broke off (WebSocket close code {code})", hint=RERUN
            ) from None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class _Deferred:
    """A signal handler that remembers the first interrupt and raises on the second."""

    def __init__(self) -> None:
        self.asked = False

    def __call__(self, signum: int, frame: object) -> None:
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[_Deferred]:
    """Ctrl-C and SIGTERM wait for the block (an API call whose answer must not be lost)."""
    deferred = _Deferred()
    previous = {sig: signal.signal(sig, deferred) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield deferred
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as Ctrl-C does
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _event(message: str | bytes) -> Event | None:
    try:
        data = json.loads(message)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to be an event
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
    streaming ends for any reason (a failed delete is only warned about: it expires). An
    interrupt while the tail is created ends the run as soon as it is (and deletes it)."""
    tail: WorkerTail | None = None
    with _sigterm_as_ctrl_c():
        try:
            with _interrupts_deferred() as creating:
                tail = api.create_tail(account_id, script)
            if creating.asked:
                raise KeyboardInterrupt
            on_open(tail)
            asyncio.run(read_events(tail.url, on_event))
        finally:
            if tail is not None:
                with _interrupts_deferred():
                    _delete(api, account_id, script, tail, warn)


def _delete(
    api: CloudflareApi,
    account_id: str,
    script: str,
    tail: WorkerTail,
    warn: Callable[[str], None],
) -> None:
    try:
        api.delete_tail(account_id, script, tail.id)
    except CfmcpError as exc:
        warn(f"could not stop the live tail ({exc.message}); it expires by itself")
