"""The call log: every request the fake received, with secrets redacted."""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

REDACTED = "<redacted>"


@dataclass
class Call:
    """One request as the fake saw it.

    ``path`` is relative to ``/client/v4`` and keeps its percent-encoding (no query string);
    ``body`` is the parsed body with secret values replaced by ``"<redacted>"``: a dict/list
    for JSON, ``{"metadata": ..., "parts": [...]}`` for multipart uploads, ``{"size": n}``
    for raw bytes, None when empty.
    """

    seq: int
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: bool  # an Authorization header was present (its value is never stored)
    token_id: str | None  # id of the token that authenticated, if any
    user_agent: str = ""
    status: int = 0
    error_codes: list[int] = field(default_factory=list)
    unexpected: bool = False  # no such endpoint in the fake (answered 404)
    fault: str | None = None  # the injected fault applied to this call, if any
    duration: float = 0.0


def redact(value: Any) -> Any:
    """A copy of a parsed body with every secret ``text`` replaced by ``"<redacted>"``."""
    if isinstance(value, list):
        return [redact(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: redact(v) for k, v in value.items()}
    if out.get("type") in ("secret_text", "secret_key") and "text" in out:
        out["text"] = REDACTED
    for key in ("key_base64", "key_jwk"):
        if key in out:
            out[key] = REDACTED
    return out


class CallLog:
    """Thread-safe list of :class:`Call` with helpers for assertions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    def new(self, **fields: Any) -> Call:
        """Append a call record and return it (the server fills in status later)."""
        with self._lock:
            call = Call(seq=len(self._calls) + 1, **fields)
            self._calls.append(call)
            return call

    def __iter__(self) -> Iterator[Call]:
        with self._lock:
            return iter(list(self._calls))

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def __getitem__(self, index: int) -> Call:
        with self._lock:
            return self._calls[index]

    def clear(self) -> None:
        """Forget all calls (state is kept)."""
        with self._lock:
            self._calls.clear()

    def find(self, method: str | None = None, path: str | None = None) -> list[Call]:
        """Calls matching ``method`` (exact, case-insensitive) and ``path`` (an fnmatch glob
        over the path relative to ``/client/v4``, e.g. ``"/accounts/*/workers/scripts/*"``).
        """
        return [c for c in self if matches(c.method, c.path, method, path)]

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """How many calls match (see :meth:`find`)."""
        return len(self.find(method, path))

    def unexpected(self) -> list[Call]:
        """Calls to endpoints the fake does not implement."""
        return [c for c in self if c.unexpected]

    def summary(self) -> list[str]:
        """``"METHOD /path -> status"`` lines, handy in assertion messages."""
        return [f"{c.method} {c.path} -> {c.status}" for c in self]


def matches(method: str, path: str, want_method: str | None, want_path: str | None) -> bool:
    """Whether a request matches a method/path-glob filter (None matches anything)."""
    if want_method is not None and method.upper() != want_method.upper():
        return False
    return want_path is None or fnmatch.fnmatchcase(path, want_path)
