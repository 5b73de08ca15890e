"""The Python half of the Workers harness; runs inside Pyodide as module `_cfmcp_harness`.

It mirrors what workerd does around a Python Worker (src/pyodide/python-entrypoint-helper.ts
and internal/introspection.py):

- the main module is imported once per isolate, with entropy unavailable (on Workers the
  import runs while the memory snapshot is taken, and getting randomness raises);
- the `Default` class must subclass `workers.WorkerEntrypoint`; the runtime constructs it per
  request with `(ctx, env)` and calls `fetch` with the request converted by
  `workers.python_from_rpc` (a `workers.Request` wrapping the JS Request), converting the
  result back with `workers.python_to_rpc`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import os
import random
import secrets  # noqa: F401 - imported now so its own import-time setup sees real entropy
import sys
import time
import uuid  # noqa: F401 - same as secrets
from contextlib import contextmanager
from inspect import isawaitable

import js
from pyodide.ffi import to_js

EIO = 29
_NO_ENTROPY = "Cannot get entropy outside of request context (Worker import-time code)"


def _refuse_entropy(what: str):
    def refuse(*_args, **_kwargs):
        raise OSError(EIO, f"{_NO_ENTROPY}: {what}")

    return refuse


@contextmanager
def entropy_unavailable():
    """Make os.urandom, `secrets`, `random` and unseeded Random() raise, then restore them.

    `secrets` and random.SystemRandom draw through `random._urandom`; the module-level
    `random.*` functions are bound methods of a hidden Random instance; `Random()` without a
    seed reseeds from the OS. Those are the Python-level paths to entropy a Worker's
    import-time code can reach.
    """
    saved_module_attrs: list[tuple[object, str, object]] = []

    def replace(owner: object, name: str, value: object) -> None:
        saved_module_attrs.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    replace(os, "urandom", _refuse_entropy("os.urandom()"))
    replace(random, "_urandom", _refuse_entropy("secrets / random.SystemRandom"))
    for name in dir(random):
        value = getattr(random, name)
        if getattr(value, "__self__", None) is random._inst:
            replace(random, name, _refuse_entropy(f"random.{name}()"))
    original_seed = random.Random.seed

    def seed(self, a=None, version=2):
        if a is None:
            raise OSError(EIO, f"{_NO_ENTROPY}: random.Random() without a seed")
        return original_seed(self, a, version)

    replace(random.Random, "seed", seed)
    try:
        yield
    finally:
        for owner, name, value in reversed(saved_module_attrs):
            setattr(owner, name, value)


def import_sdk() -> float:
    """Import the `workers` SDK; return the time taken (ms).

    Done before the main module so that the main module's import time can be reported on
    its own (the SDK is the runtime's, not the Worker's).
    """
    start = time.perf_counter()
    import workers  # noqa: F401

    return (time.perf_counter() - start) * 1000


class _TimedLoader:
    """Wraps a loader to time `exec_module` (the module's own top-level code plus imports)."""

    def __init__(self, loader, profile: ImportProfile, name: str) -> None:
        self._loader, self._profile, self._name = loader, profile, name

    def __getattr__(self, attribute: str):
        return getattr(self._loader, attribute)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._profile.enter()
        start = time.perf_counter()
        try:
            self._loader.exec_module(module)
        finally:
            self._profile.leave(self._name, time.perf_counter() - start)


class ImportProfile(importlib.abc.MetaPathFinder):
    """Per-module import times during the main module's import (`-X importtime`, in-process)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, float, float]] = []  # (module, self ms, cumulative ms)
        self._children: list[float] = []

    def find_spec(self, name, path, target=None):
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _TimedLoader(spec.loader, self, name)
                return spec
        return None

    def enter(self) -> None:
        self._children.append(0.0)

    def leave(self, name: str, seconds: float) -> None:
        children = self._children.pop()
        if self._children:
            self._children[-1] += seconds
        self.records.append((name, (seconds - children) * 1000, seconds * 1000))


def import_main_module(bundle_dir: str, module_name: str, profile: bool = False):
    """Import the Worker's main module with entropy unavailable.

    Returns the time taken (ms), or with `profile` a JS object {ms, modules: [[name, self ms,
    cumulative ms], ...]} (slowest first; profiling adds a little overhead of its own).
    """
    if bundle_dir not in sys.path:
        sys.path.insert(0, bundle_dir)
    profiler = ImportProfile() if profile else None
    if profiler:
        sys.meta_path.insert(0, profiler)
    try:
        with entropy_unavailable():
            start = time.perf_counter()
            importlib.import_module(module_name)
            elapsed_ms = (time.perf_counter() - start) * 1000
    finally:
        if profiler:
            sys.meta_path.remove(profiler)
    if not profiler:
        return elapsed_ms
    modules = sorted(profiler.records, key=lambda record: -record[1])
    return to_js(
        {"ms": elapsed_ms, "modules": [list(r) for r in modules]},
        dict_converter=js.Object.fromEntries,
    )


def entrypoint_class(module_name: str) -> type:
    """The main module's `Default` WorkerEntrypoint class, which receives fetch events."""
    from workers import WorkerEntrypoint

    module = sys.modules[module_name]
    cls = getattr(module, "Default", None)
    if not (isinstance(cls, type) and issubclass(cls, WorkerEntrypoint)):
        raise TypeError(
            f"{module.__name__} must define `class Default(WorkerEntrypoint)` "
            "(top-level on_fetch handlers are not called from compatibility date 2025-08-14)"
        )
    if not callable(getattr(cls, "fetch", None)):
        raise TypeError(f"{module.__name__}.Default has no fetch method")
    return cls


class _PythonTime:
    """Awaitable that runs a coroutine and adds up the time of each synchronous slice.

    Each `send` into the coroutine runs Python until its next await of an unfinished JS
    promise (KV, fetch, reading a body), so the sum excludes time spent waiting on I/O.
    """

    def __init__(self, coroutine):
        self.coroutine = coroutine
        self.seconds = 0.0

    def __await__(self):
        steps = self.coroutine.__await__()
        value, error = None, None
        while True:
            start = time.perf_counter()
            try:
                yielded = steps.throw(error) if error is not None else steps.send(value)
            except StopIteration as stop:
                self.seconds += time.perf_counter() - start
                return stop.value
            except BaseException:
                self.seconds += time.perf_counter() - start
                raise
            self.seconds += time.perf_counter() - start
            try:
                value, error = (yield yielded), None
            except BaseException as raised:  # delivered into the coroutine on the next step
                value, error = None, raised


async def _dispatch(cls: type, ctx, env, js_request):
    from workers import python_from_rpc, python_to_rpc

    instance = cls(ctx, env)
    result = instance.fetch(python_from_rpc(js_request))
    if isawaitable(result):
        result = await result
    return python_to_rpc(result)


async def call_fetch(cls: type, ctx, env, js_request, measure: bool = False):
    """Run one fetch event; returns a JS array [Response, Python ms (or -1)]."""
    dispatch = _dispatch(cls, ctx, env, js_request)
    if not measure:
        return to_js([await dispatch, -1])
    timed = _PythonTime(dispatch)
    response = await timed
    return to_js([response, timed.seconds * 1000])
