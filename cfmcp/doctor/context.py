"""What the checks share: the config, the API gateway, lookups made once, the HTTP client.

Checks run concurrently and independently; when two need the same fact (the deployed script,
the public URL) the first one to ask makes the call and the other waits for its answer. A
lookup that cannot be made raises `Skip`, which turns the asking check into a skip result.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

import httpx

from cfmcp.account.session import (
    ACCOUNT_ENV,
    TOKEN_ENV,
    base_url,
    read_token,
    with_account_from_env,
)
from cfmcp.doctor.local import LocalTarget, find_local_target
from cfmcp.doctor.model import INIT, SET_TOKEN, Skip
from cfmcp.errors import CfmcpError
from cfmcp.pat.record import PatRecord, parse_record
from cfmcp.project.config import ProjectConfig, UpstreamConfig, load_config
from cfmcp.project.public_url import known_public_origin, recorded_state
from cfmcp.project.state import DeployState
from cfmcp.worker.contract import PAT_STATUS_KEY
from cfmcp.worker.smoke import SmokeTester

if TYPE_CHECKING:
    from cfmcp.account.api import CloudflareApi, DeployedScript, KvNamespace, TokenInfo, Zone

T = TypeVar("T")
USER_AGENT = "cfmcp-doctor"


@dataclass(frozen=True)
class DoctorOptions:
    config_path: Path = Path("cfmcp.toml")
    smoke_via: str | None = None
    timeout: float = 5.0  # seconds per HTTP request to the Worker or the upstream
    # check a local Worker (`cfmcp dev`) instead of the account: its URL, or LOCAL_AUTO for
    # the one `cfmcp dev` recorded in .cfmcp/dev.json (else its default address)
    local_url: str | None = None


class Once(Generic[T]):
    """A value computed at most once, by whichever thread asks first (errors are kept too)."""

    def __init__(self, compute: Callable[[], T]) -> None:
        self._compute = compute
        self._lock = threading.Lock()
        self._done = False
        self._value: T | None = None
        self._error: BaseException | None = None

    def get(self) -> T:
        with self._lock:
            if not self._done:
                try:
                    self._value = self._compute()
                except Exception as exc:  # kept and re-raised to every caller
                    self._error = exc
                self._done = True
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def made(self) -> T | None:
        """The value if it was computed successfully, without computing it."""
        with self._lock:
            return self._value if self._done and self._error is None else None


class DoctorContext:
    """Shared, lazily made lookups for one doctor run."""

    def __init__(self, options: DoctorOptions, env: Mapping[str, str]) -> None:
        self.options = options
        self.env = env
        self.http = httpx.Client(
            timeout=httpx.Timeout(options.timeout, connect=min(options.timeout, 3.0)),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
        self._project = Once(self._load_project)
        self._api = Once(self._make_api)
        self._token = Once(self._verify_token)
        self._script = Once(
            lambda: self.verified_api().get_script(self.account_id(), self.config().name)
        )
        self._kv = Once(lambda: self.verified_api().list_kv_namespaces(self.account_id()))
        self._subdomain = Once(lambda: self.verified_api().get_workers_subdomain(self.account_id()))
        self._zone = Once(self._find_zone)
        self._ai_bots = Once(lambda: self.verified_api().get_ai_bots_protection(self.zone().id))
        self._public_url = Once(self._find_public_url)
        self._smoke = Once(self._make_smoke_tester)
        self._local = Once(
            lambda: find_local_target(self.options.local_url or "", self._project_upstream_url())
        )
        self._pat_record = Once(self._read_pat_record)

    def close(self) -> None:
        self.http.close()
        api = self._api.made()
        if api is not None:
            api.close()

    # -- project ---------------------------------------------------------------------------

    def _load_project(self) -> ProjectConfig:
        return with_account_from_env(load_config(self.options.config_path), self.env)

    def load_project(self) -> ProjectConfig:
        """The project file, or the CfmcpError saying what is wrong with it."""
        return self._project.get()

    def config(self) -> ProjectConfig:
        try:
            return self._project.get()
        except CfmcpError:
            raise Skip("needs a valid cfmcp.toml", next_command=INIT) from None

    def state(self) -> DeployState:
        """What the last deploy recorded, when it is about this account and Worker."""
        return recorded_state(self.config(), self.options.config_path)

    def account_id(self) -> str:
        account = self.config().account_id
        if not account:
            raise Skip(
                "cfmcp.toml has no account_id",
                hint=f"set it with `cfmcp init --account-id ID` or {ACCOUNT_ENV}",
                next_command=INIT,
            )
        return account

    # -- Cloudflare ------------------------------------------------------------------------

    def _make_api(self) -> CloudflareApi:
        from cfmcp.account.api import CloudflareApi

        if self.options.local_url:
            raise Skip("--local: the Cloudflare account is not checked")
        token = read_token(self.env)
        if not token:
            raise Skip(
                f"{TOKEN_ENV} is not set",
                hint=f"set {TOKEN_ENV} (the token `cfmcp deploy` uses) to run the account checks",
                next_command=SET_TOKEN,
            )
        return CloudflareApi(
            token,
            base_url=base_url(self.env),
            max_attempts=2,
            timeout=20.0,
        )

    def api(self) -> CloudflareApi:
        return self._api.get()

    def _verify_token(self) -> TokenInfo:
        account = self.config().account_id or None
        return self.api().verify_token(
            account, account_owned_first=self.state().token_account_owned
        )

    def token(self) -> TokenInfo:
        return self._token.get()

    def verified_api(self) -> CloudflareApi:
        """The gateway, once the token is known to be valid (else Skip)."""
        try:
            self.token()
        except Skip:
            raise
        except CfmcpError:
            raise Skip("needs a valid Cloudflare API token (see the token check)") from None
        return self.api()

    def script(self) -> DeployedScript | None:
        return self._script.get()

    def deployed_script(self) -> DeployedScript:
        script = self.script()
        if script is None:
            raise Skip(f"Worker {self.config().name!r} is not deployed")
        return script

    def kv_namespaces(self) -> list[KvNamespace]:
        return self._kv.get()

    def workers_subdomain(self) -> str | None:
        return self._subdomain.get()

    def _find_zone(self) -> Zone:
        from cfmcp.account.ours import find_zone

        config = self.config()
        if config.hostname.mode == "workers_dev":
            raise Skip("workers.dev hostnames are not in a zone of the account")
        self.account_id()
        return find_zone(self.verified_api(), config)

    def zone(self) -> Zone:
        """The zone of the custom domain or route (deploy's own lookup)."""
        return self._zone.get()

    def ai_bots_protection(self) -> str | None:
        """The zone's "Block AI bots" setting, or None when it cannot be read (no zone, no
        permission to read bot settings, no token)."""
        try:
            return self._ai_bots.get()
        except (Skip, CfmcpError):
            return None

    # -- the local Worker (--local) -------------------------------------------------------

    @property
    def local(self) -> bool:
        return bool(self.options.local_url)

    def local_target(self) -> LocalTarget:
        """Where the local Worker answers, and what `cfmcp dev` recorded of it."""
        return self._local.get()

    # -- the upstream and its PAT ----------------------------------------------------------

    def _project_upstream_url(self) -> str | None:
        try:
            return self._project.get().upstream.url
        except CfmcpError:
            return None

    def upstream_config(self) -> UpstreamConfig:
        """The upstream the Worker fronts: cfmcp.toml's, or (--local, without one) the URL and
        transport a running `cfmcp dev` recorded. Never given a PAT: see `pat_upstream`."""
        if self.local:
            try:
                return self._project.get().upstream
            except CfmcpError:
                pass
            record = self.local_target().record
            if record is not None:
                return UpstreamConfig(url=record.upstream_url, transport=record.upstream_transport)
            raise Skip(
                "the upstream is unknown: no running `cfmcp dev` recorded it in "
                ".cfmcp/dev.json here, and there is no cfmcp.toml"
            )
        return self.config().upstream

    def pat_upstream(self) -> UpstreamConfig:
        """The upstream a PAT from the environment may be sent to: cfmcp.toml's (with its auth
        header, format and extra headers), never one read from .cfmcp/dev.json."""
        if not self.local:
            return self.config().upstream
        try:
            return self._project.get().upstream
        except CfmcpError:
            record = self.local_target().record
            named = f" ({record.upstream_url})" if record is not None else ""
            raise Skip(
                f"not checked: the upstream `cfmcp dev` fronts{named} is not PAT-checked; "
                "doctor sends CFMCP_UPSTREAM_TOKEN only to the upstream in cfmcp.toml "
                "(`cfmcp dev` tried its PAT when it started)"
            ) from None

    def _read_pat_record(self) -> PatRecord | None:
        if self.local:
            return self._local_pat_record()
        account = self.account_id()
        title = self.config().kv_namespace_title
        namespace = next((n for n in self.kv_namespaces() if n.title == title), None)
        if namespace is None:
            raise Skip(f"KV namespace {title!r} does not exist (see the KV check)")
        return parse_record(self.verified_api().get_kv_value(account, namespace.id, PAT_STATUS_KEY))

    def _local_pat_record(self) -> PatRecord | None:
        record = self.local_target().record
        if record is None or record.runtime != "python":
            raise Skip(
                "not checked: set CFMCP_UPSTREAM_TOKEN to try a PAT from here (the record of "
                "a local Worker is read only from a running `cfmcp dev --runtime python`)"
            )
        import sqlite3

        uri = Path(record.state).resolve().as_uri() + "?mode=ro"  # as_uri escapes ? and #
        try:
            with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
                row = db.execute("SELECT value FROM kv WHERE key = ?", (PAT_STATUS_KEY,)).fetchone()
        except sqlite3.Error:
            return None
        return parse_record(row[0]) if row else None

    def pat_record(self) -> PatRecord | None:
        """The Worker's record of what the upstream last said of its PAT (None: nothing)."""
        return self._pat_record.get()

    # -- the live Worker -------------------------------------------------------------------

    def _find_public_url(self) -> str:
        if self.local:
            return self.local_target().origin
        config = self.config()
        if config.hostname.mode != "workers_dev":
            return config.public_origin()
        try:
            subdomain = self.workers_subdomain()
        except Skip as unknown:
            recorded = known_public_origin(config, self.state())
            if recorded:
                return recorded
            raise Skip(
                f"the workers.dev URL is unknown ({unknown.reason}) and no deploy is "
                "recorded in .cfmcp/state.json",
                unknown.hint,
                unknown.next_command,
            ) from None
        if not subdomain:
            raise Skip("the account has no workers.dev subdomain yet")
        return config.public_origin(subdomain)

    def public_url(self) -> str:
        return self._public_url.get()

    def _make_smoke_tester(self) -> SmokeTester:
        return SmokeTester(self.public_url(), via=self.options.smoke_via, client=self.http)

    def smoke(self) -> SmokeTester:
        """smoke.py's checker: it contacts `--smoke-via` when given, compares with the URL."""
        return self._smoke.get()
