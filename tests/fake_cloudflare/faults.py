"""Fault injection: make the nth matching call fail, stall or lose its connection."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .calls import matches

FAULT_KINDS = ("status", "timeout", "drop")


@dataclass
class Fault:
    """A planned failure.

    kind:
      ``"status"``  answer ``status`` with a Cloudflare error envelope (``Retry-After:
                    retry_after`` when set; a 429 gets code 971 like Cloudflare's rate limit);
      ``"timeout"`` wait ``delay`` seconds before answering (make it longer than the client's
                    timeout);
      ``"drop"``    close the connection without any response.
    apply: also carry out the request (the change happens, only the answer is lost/bad).
    """

    method: str | None
    path: str | None
    kind: str = "status"
    nth: int = 1
    times: int = 1
    status: int = 500
    retry_after: float | None = None
    delay: float = 30.0
    apply: bool = False
    seen: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, not {self.kind!r}")
        if self.nth < 1 or self.times < 1:
            raise ValueError("nth and times start at 1")

    @property
    def label(self) -> str:
        """Short description for the call log."""
        return f"{self.kind}:{self.status}" if self.kind == "status" else self.kind


class FaultPlan:
    """The set of planned faults; :meth:`take` decides (atomically) which one hits a call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        """Plan a fault."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Drop all planned faults."""
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """Count this call against every matching fault; return the first one that fires."""
        hit: Fault | None = None
        with self._lock:
            for fault in self._faults:
                if not matches(method, path, fault.method, fault.path):
                    continue
                fault.seen += 1
                if hit is None and fault.nth <= fault.seen < fault.nth + fault.times:
                    fault.fired += 1
                    hit = fault
        return hit
