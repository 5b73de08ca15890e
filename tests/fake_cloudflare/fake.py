"""``FakeCloudflare``: the object tests use (start/stop, state, calls, faults, Workers)."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from .calls import Call, CallLog
from .faults import Fault
from .kvstore import SqliteKvStore
from .model import ALL_PERMISSIONS, KvEntry, Script, Token
from .server import ApiServer
from .state import ACCOUNT_ID, TOKEN, ZONE_ID, ZONE_NAME, FakeState, Seed
from .tails import TailHub
from .workers import WorkerRunner


class FakeCloudflare:
    """A stateful fake of the Cloudflare API v4 subset cfmcp uses, on 127.0.0.1.

    Point the SDK at it with ``Cloudflare(api_token=fake.token, base_url=fake.base_url)`` and
    wrangler/cfmcp with ``CLOUDFLARE_API_BASE_URL=fake.base_url``.

    ``state_path``: persist the state as JSON after every change, and load it on start when
    the file exists (restart a fake with the same path to keep its state).
    ``run_workers``: run every uploaded Worker locally with ``cfmcp dev`` (see
    :meth:`worker_origin`).
    """

    def __init__(
        self,
        *,
        seed: Seed | None = None,
        state_path: Path | str | None = None,
        run_workers: bool = False,
        workers_dir: Path | str | None = None,
        worker_start_timeout: float = 60.0,
    ) -> None:
        self.state_path = Path(state_path) if state_path is not None else None
        if self.state_path is not None and self.state_path.exists():
            self.state = FakeState.load(self.state_path)
        else:
            self.state = FakeState(seed)
        self.workers: WorkerRunner | None = None
        self.tails = TailHub()  # live tails, fed by the running Workers' log lines
        if run_workers:
            self.workers = WorkerRunner(
                workers_dir,
                start_timeout=worker_start_timeout,
                kv_path=self._worker_kv_path,
                on_line=self.tails.worker_line,
            )
            kv = SqliteKvStore(self.workers.root / "kv")
            for ns in self.state.kv_namespaces.values():
                kv.adopt(ns)
            self.state.kv = kv
        self._server = ApiServer(
            self.state, state_path=self.state_path, workers=self.workers, tails=self.tails
        )
        # The first seeded account/token/zone (the defaults' constants with the default seed).
        self.account_id: str = next(iter(self.state.accounts), ACCOUNT_ID)
        self.token: str = next(iter(self.state.tokens), TOKEN)
        zone = next(iter(self.state.zones.values()), None)
        self.zone_id: str = zone.id if zone else ZONE_ID
        self.zone_name: str = zone.name if zone else ZONE_NAME
        self._started = False

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> FakeCloudflare:
        """Start serving (idempotent); restarts Workers persisted in ``state_path``.
        A stopped fake cannot be started again: make a new one (same ``state_path``)."""
        if not self._started:
            self._server.start()
            self._started = True
            if self.workers is not None:
                for script in list(self.state.scripts.values()):
                    self.workers.deploy(script)
        return self

    def stop(self) -> None:
        """Stop serving and stop every local Worker process (saving the state first when
        ``state_path`` is set: it includes KV values the Workers wrote)."""
        if self._started:
            self._server.stop()
            self._started = False
        if self.state_path is not None:
            self.state.save(self.state_path)
        if self.workers is not None:
            self.workers.close()
        self.tails.close()

    def _worker_kv_path(self, script: Script) -> Path | None:
        """The SQLite file of the first KV namespace bound to ``script`` (its ``--state``)."""
        kv = self.state.kv
        ns_ids = [b["namespace_id"] for b in script.bindings if b["type"] == "kv_namespace"]
        if not ns_ids or not isinstance(kv, SqliteKvStore):
            return None
        return kv.path_for(ns_ids[0])

    def __enter__(self) -> FakeCloudflare:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------------
    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT`` of the API server."""
        return self._server.origin

    @property
    def base_url(self) -> str:
        """The API base URL: ``{origin}/client/v4``."""
        return self._server.origin + "/client/v4"

    def env(self, token: str | None = None) -> dict[str, str]:
        """Environment variables pointing cfmcp/wrangler at this fake."""
        return {
            "CLOUDFLARE_API_BASE_URL": self.base_url,
            "CLOUDFLARE_API_TOKEN": token or self.token,
            "CLOUDFLARE_ACCOUNT_ID": self.account_id,
        }

    # -- calls, faults, latency ----------------------------------------------------------
    @property
    def calls(self) -> CallLog:
        """Every request received (see :class:`CallLog` for find/count/unexpected)."""
        return self._server.calls

    def unexpected_calls(self) -> list[Call]:
        """Requests to endpoints the fake does not implement (each was answered 404)."""
        return self._server.calls.unexpected()

    def inject_fault(
        self,
        method: str | None,
        path: str | None,
        *,
        kind: str = "status",
        status: int = 500,
        nth: int = 1,
        times: int = 1,
        retry_after: float | None = None,
        delay: float = 30.0,
        apply: bool = False,
    ) -> Fault:
        """Make the ``nth`` (1-based) request matching ``method`` and the path glob ``path``
        (relative to /client/v4, no query; e.g. ``"/accounts/*/workers/scripts/*"``) fail,
        and the ``times - 1`` matching requests after it. See :class:`Fault` for kinds.
        """
        return self._server.faults.add(
            Fault(
                method,
                path,
                kind=kind,
                nth=nth,
                times=times,
                status=status,
                retry_after=retry_after,
                delay=delay,
                apply=apply,
            )
        )

    def clear_faults(self) -> None:
        """Remove every planned fault."""
        self._server.faults.clear()

    def set_latency(
        self, seconds: float, method: str | None = None, path: str | None = None
    ) -> None:
        """Delay API responses by ``seconds`` (e.g. 0.1 for the deploy benchmark): every call,
        or with ``method``/``path`` (an fnmatch glob) only matching calls (later rules for
        the same calls take precedence; ``seconds=0`` with a filter makes those calls fast).
        """
        if method is None and path is None:
            self._server.latency = seconds
        else:
            self._server.latency_rules.insert(0, (method, path, seconds))

    # -- state helpers -------------------------------------------------------------------
    def add_token(
        self,
        value: str,
        *,
        permissions: set[str] | frozenset[str] | None = None,
        owner: str = "user",
        account_ids: list[str] | None = None,
        zone_ids: list[str] | None = None,
        status: str = "active",
    ) -> Token:
        """Register another (fake) API token. Default: every permission, this account."""
        token = Token(
            value=value,
            id=f"fake-token-id-{len(self.state.tokens) + 1}",
            permissions=set(ALL_PERMISSIONS if permissions is None else permissions),
            account_ids=[self.account_id] if account_ids is None else account_ids,
            zone_ids=zone_ids,
            owner=owner,
            status=status,
        )
        with self.state.lock:
            self.state.tokens[value] = token
        return token

    def script(self, name: str, account_id: str | None = None) -> Script | None:
        """The uploaded Worker called ``name`` (None if absent)."""
        with self.state.lock:
            return self.state.find_script(account_id or self.account_id, name)

    def plain_text(self, script_name: str, binding: str) -> str | None:
        """The value of a plain_text binding of a Worker (e.g. ``CFMCP_BUNDLE_SHA256``)."""
        script = self.script(script_name)
        if script is None:
            return None
        return next(
            (
                b["text"]
                for b in script.bindings
                if b["type"] == "plain_text" and b["name"] == binding
            ),
            None,
        )

    def secret_names(self, script_name: str) -> list[str]:
        """Names of the secrets a Worker has (values stay inside the fake)."""
        script = self.script(script_name)
        return sorted(script.secrets()) if script else []

    def kv_namespace_by_title(self, title: str) -> Any:
        """The KV namespace with this title in the default account, or None."""
        with self.state.lock:
            return next(
                (ns for ns in self.state.namespaces_in(self.account_id) if ns.title == title), None
            )

    def kv_entries(self, namespace_id: str) -> dict[str, KvEntry]:
        """Live entries of a KV namespace (including what local Workers wrote)."""
        with self.state.lock:
            return self.state.kv.entries(self.state.kv_namespaces[namespace_id])

    def worker_origin(self, script_name: str, account_id: str | None = None) -> str:
        """``http://127.0.0.1:PORT`` serving the bytes last uploaded as ``script_name``.

        The origin is stable for a Worker (re-uploads and secret changes swap the process
        behind it) and may be asked for before the first upload. Needs ``run_workers=True``.
        """
        if self.workers is None:
            raise RuntimeError("start the fake with run_workers=True to serve uploaded Workers")
        return self.workers.origin(account_id or self.account_id, script_name)
