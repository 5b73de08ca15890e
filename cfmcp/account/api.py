"""The one gateway to the Cloudflare API: typed results, cfmcp errors with a hint.

Its errors (`CloudflareError` and subclasses) live in `cfmcp.errors` with the others.

This is the only module that imports the `cloudflare` SDK, and it is imported only inside
command functions so `cfmcp --help` stays fast. Every method returns cfmcp's own dataclasses and
raises a `CloudflareError` subclass whose message is one line and whose hint says what to do.

Three SDK behaviours are overridden on purpose:
- auth: the SDK prefers `CLOUDFLARE_EMAIL`/`CLOUDFLARE_API_KEY` (global key) over a passed
  `api_token` when those variables are set. cfmcp always sends the token it was given.
- retries: the SDK retries every 409/5xx, POSTs included, which can duplicate resources. cfmcp
  retries rate limits (429, honouring Retry-After) for every call, and 5xx/connection errors only
  for reads and idempotent writes (PUT).
- logging: with `CLOUDFLARE_LOG=debug` the SDK logs request bodies, secrets included; its
  logger is kept at INFO.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from cfmcp.errors import (
    ApiUnavailable,
    CloudflareError,
    Conflict,
    InvalidToken,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from cfmcp.output import trace_call

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
TOKEN_URL = "https://dash.cloudflare.com/profile/api-tokens"

PERM_SCRIPTS = "Workers Scripts: Edit (Account)"
PERM_KV = "Workers KV Storage: Edit (Account)"
PERM_ROUTES = "Workers Routes: Edit (Zone)"
PERM_ZONE = "Zone: Read (Zone)"
PERM_ACCOUNT = "Account Settings: Read (Account)"
PERM_BOTS = "Bot Management: Read (Zone)"
PERM_TAIL = "Workers Tail: Read (Account)"

T = TypeVar("T")


# ------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class TokenInfo:
    id: str
    status: str
    account_owned: bool = False


@dataclass(frozen=True)
class Account:
    id: str
    name: str


@dataclass(frozen=True)
class KvNamespace:
    id: str
    title: str


@dataclass(frozen=True)
class Zone:
    id: str
    name: str


@dataclass(frozen=True)
class DeployedScript:
    """What the settings endpoint says about an uploaded script (never secret values)."""

    name: str
    compatibility_date: str = ""
    compatibility_flags: tuple[str, ...] = ()
    plain_text: Mapping[str, str] = field(default_factory=dict)
    kv_namespaces: Mapping[str, str] = field(default_factory=dict)  # binding name -> id
    secret_names: frozenset[str] = frozenset()
    # binding name -> class name, for Durable Object bindings to this script's own classes
    durable_objects: Mapping[str, str] = field(default_factory=dict)

    def var(self, name: str) -> str | None:
        return self.plain_text.get(name)


@dataclass(frozen=True)
class WorkerDomain:
    id: str
    hostname: str
    service: str
    zone_id: str = ""
    zone_name: str = ""


@dataclass(frozen=True)
class WorkerRoute:
    id: str
    pattern: str
    script: str


@dataclass(frozen=True)
class WorkerTail:
    """A live tail of a Worker: a WebSocket that streams its events until deleted."""

    id: str = field(repr=False)  # the secret part of the URL (wss://tail…/<id>)
    url: str = field(repr=False)  # whoever holds the URL reads the Worker's logs
    expires_at: str = ""


@dataclass(frozen=True)
class ApiCall:
    """One HTTP request made through the gateway (for counting and tests; no bodies kept)."""

    method: str
    path: str
    status: int | None


# ------------------------------------------------------------------------------- the gateway


class CloudflareApi:
    """Typed, minimal access to the Cloudflare API calls cfmcp needs."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        max_attempts: int = 4,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import httpx
        from cloudflare import Cloudflare, DefaultHttpxClient

        _no_request_bodies_in_logs()

        if not token or not token.strip():
            raise InvalidToken(
                "no Cloudflare API token given",
                hint=f"set CLOUDFLARE_API_TOKEN (create one at {TOKEN_URL})",
            )
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")  # cfmcp.account.session
        self.calls: list[ApiCall] = []
        self._lock = threading.Lock()
        self._max_attempts = max(1, max_attempts)
        self._sleep = sleep
        http = DefaultHttpxClient(
            timeout=httpx.Timeout(timeout, connect=10.0),
            event_hooks={"request": [_started], "response": [self._record]},
        )
        self._client = Cloudflare(
            api_token=token.strip(),
            base_url=self.base_url,
            max_retries=0,  # retries are ours: see _call
            http_client=http,
        )
        # The SDK would send X-Auth-Email/X-Auth-Key from the environment instead of the token.
        self._client.api_key = None
        self._client.api_email = None
        self._client.user_service_key = None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> CloudflareApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------

    def _record(self, response: Any) -> None:
        path = response.request.url.path
        prefix = _url_path(self.base_url)
        if prefix and path.startswith(prefix):
            path = path[len(prefix) :] or "/"
        query = response.request.url.query.decode()
        if query:
            path = f"{path}?{query}"
        with self._lock:
            self.calls.append(ApiCall(response.request.method, path, response.status_code))
        started = response.request.extensions.get(_STARTED)
        elapsed = time.monotonic() - started if started is not None else 0.0
        trace_call(response.request.method, _scrubbed_path(path), response.status_code, elapsed)

    def _call(
        self, what: str, permission: str, fn: Callable[[], T], *, retry_server_errors: bool = True
    ) -> T:
        """Run one SDK call, retrying what is safe to retry, mapping failures to our errors."""
        import cloudflare

        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except cloudflare.APIStatusError as exc:
                retry_after = _retry_after(exc.response.headers)
                retryable = exc.status_code == 429 or (
                    retry_server_errors and exc.status_code >= 500
                )
                if retryable and attempt < self._max_attempts:
                    self._sleep(retry_after if retry_after is not None else _backoff(attempt))
                    continue
                raise map_status_error(what, permission, exc.status_code, exc.body) from None
            except cloudflare.APIConnectionError as exc:
                if retry_server_errors and attempt < self._max_attempts:
                    self._sleep(_backoff(attempt))
                    continue
                timeout = isinstance(exc, cloudflare.APITimeoutError)
                raise ApiUnavailable(
                    f"{what}: {'timed out' if timeout else 'cannot reach'} {self.base_url}",
                    hint="check your network (and CLOUDFLARE_API_BASE_URL if set), then re-run",
                ) from None

    # -- token and accounts ---------------------------------------------------------------

    def verify_token(
        self, account_id: str | None = None, *, account_owned_first: bool = False
    ) -> TokenInfo:
        """Check the token is active: as a user token, and as an account-owned token of
        `account_id` when that fails (in the other order when `account_owned_first`)."""
        owners: list[str | None] = [None]
        if account_id:
            owners = [account_id, None] if account_owned_first else [None, account_id]
        for owner in owners[:-1]:
            try:
                return self._verify(owner)
            except (InvalidToken, PermissionDenied, NotFound):
                continue
        return self._verify(owners[-1])

    def _verify(self, account_id: str | None) -> TokenInfo:
        """One verify call: `/accounts/{id}/tokens/verify`, or `/user/tokens/verify`."""
        if account_id:
            owned = self._call(
                "verify the API token",
                PERM_SCRIPTS,
                lambda: self._client.accounts.tokens.verify(account_id=account_id),
            )
            return _token_info(owned, True)
        user = self._call(
            "verify the API token", PERM_SCRIPTS, lambda: self._client.user.tokens.verify()
        )
        return _token_info(user, False)

    def list_accounts(self) -> list[Account]:
        page = self._call(
            "list accounts", PERM_ACCOUNT, lambda: self._client.accounts.list(per_page=50)
        )
        return [Account(id=a.id, name=a.name) for a in _all(page, self, "list accounts", 50)]

    # -- KV --------------------------------------------------------------------------------

    def list_kv_namespaces(self, account_id: str) -> list[KvNamespace]:
        page = self._call(
            "list KV namespaces",
            PERM_KV,
            lambda: self._client.kv.namespaces.list(account_id=account_id, per_page=100),
        )
        return [
            KvNamespace(id=n.id, title=n.title) for n in _all(page, self, "list KV namespaces", 100)
        ]

    def find_kv_namespace(self, account_id: str, title: str) -> KvNamespace | None:
        """KV has no title filter: list and match."""
        return next((n for n in self.list_kv_namespaces(account_id) if n.title == title), None)

    def create_kv_namespace(self, account_id: str, title: str) -> KvNamespace:
        result = self._call(
            f"create KV namespace {title!r}",
            PERM_KV,
            lambda: self._client.kv.namespaces.create(account_id=account_id, title=title),
            retry_server_errors=False,
        )
        if result is None:
            raise CloudflareError(f"create KV namespace {title!r} failed: the answer has no result")
        return KvNamespace(id=result.id, title=result.title)

    # -- scripts ---------------------------------------------------------------------------

    def get_script(self, account_id: str, name: str) -> DeployedScript | None:
        """The deployed script's settings and bindings (one call), or None when absent."""
        try:
            result = self._call(
                f"read Worker {name!r}",
                PERM_SCRIPTS,
                lambda: self._client.workers.scripts.script_and_version_settings.get(
                    name, account_id=account_id
                ),
            )
        except NotFound:
            return None
        return _deployed_script(name, result)

    def get_migration_tag(self, account_id: str, name: str) -> str | None:
        """The Durable Object migration tag last applied to the script (None: none, or no such
        script). Only the scripts list reports it (as wrangler reads it too): one call."""
        page = self._call(
            "read the Worker's Durable Object migration tag",
            PERM_SCRIPTS,
            lambda: self._client.workers.scripts.list(account_id=account_id),
        )
        for script in _all(page, self, "list Workers"):
            if getattr(script, "id", None) == name:
                return getattr(script, "migration_tag", None) or None
        return None

    def upload_script(
        self,
        account_id: str,
        name: str,
        *,
        modules: Mapping[str, bytes],
        metadata: Mapping[str, Any],
    ) -> None:
        """PUT the script: metadata JSON plus one `text/x-python` part per module."""
        files = [(module, data, "text/x-python") for module, data in sorted(modules.items())]
        self._call(
            f"upload Worker {name!r}",
            PERM_SCRIPTS,
            lambda: self._client.workers.scripts.update(
                name, account_id=account_id, metadata=cast(Any, dict(metadata)), files=files
            ),
        )

    def put_secret(self, account_id: str, script: str, secret_name: str, value: str) -> None:
        self._call(
            f"set secret {secret_name} on {script!r}",
            PERM_SCRIPTS,
            lambda: self._client.workers.scripts.secrets.update(
                script, account_id=account_id, name=secret_name, text=value, type="secret_text"
            ),
        )

    # -- workers.dev -----------------------------------------------------------------------

    def get_workers_subdomain(self, account_id: str) -> str | None:
        """The account's `<subdomain>.workers.dev`, or None when none was chosen yet."""
        try:
            result = self._call(
                "read the account's workers.dev subdomain",
                PERM_SCRIPTS,
                lambda: self._client.workers.subdomains.get(account_id=account_id),
            )
        except NotFound:
            return None
        return getattr(result, "subdomain", None) or None

    def script_subdomain_enabled(self, account_id: str, script: str) -> bool:
        try:
            result = self._call(
                f"read workers.dev status of {script!r}",
                PERM_SCRIPTS,
                lambda: self._client.workers.scripts.subdomain.get(script, account_id=account_id),
            )
        except NotFound:
            return False
        return bool(getattr(result, "enabled", False))

    def enable_script_subdomain(self, account_id: str, script: str) -> None:
        self._call(
            f"enable workers.dev for {script!r}",
            PERM_SCRIPTS,
            lambda: self._client.workers.scripts.subdomain.create(
                script, account_id=account_id, enabled=True
            ),
        )

    # -- zones, custom domains, routes -----------------------------------------------------

    def list_zones(self, account_id: str, name: str | None = None) -> list[Zone]:
        kwargs: dict[str, Any] = {"account": {"id": account_id}, "per_page": 50}
        if name:
            kwargs["name"] = name
        page = self._call("list zones", PERM_ZONE, lambda: self._client.zones.list(**kwargs))
        return [Zone(id=z.id, name=z.name) for z in _all(page, self, "list zones", 50)]

    def find_worker_domain(self, account_id: str, hostname: str) -> WorkerDomain | None:
        page = self._call(
            f"read custom domain {hostname}",
            PERM_ROUTES,
            lambda: self._client.workers.domains.list(account_id=account_id, hostname=hostname),
        )
        for d in _all(page, self, "list custom domains"):
            if (d.hostname or "").lower() == hostname.lower():
                return WorkerDomain(
                    id=d.id or "",
                    hostname=d.hostname or "",
                    service=d.service or "",
                    zone_id=d.zone_id or "",
                    zone_name=d.zone_name or "",
                )
        return None

    def attach_domain(self, account_id: str, hostname: str, service: str, zone_id: str) -> None:
        self._call(
            f"attach custom domain {hostname}",
            PERM_ROUTES,
            lambda: self._client.workers.domains.update(
                account_id=account_id, hostname=hostname, service=service, zone_id=zone_id
            ),
        )

    def list_routes(self, zone_id: str) -> list[WorkerRoute]:
        page = self._call(
            "list Worker routes",
            PERM_ROUTES,
            lambda: self._client.workers.routes.list(zone_id=zone_id),
        )
        return [
            WorkerRoute(id=r.id, pattern=r.pattern, script=r.script or "")
            for r in _all(page, self, "list Worker routes")
        ]

    def create_route(self, zone_id: str, pattern: str, script: str) -> WorkerRoute:
        result = self._call(
            f"create route {pattern}",
            PERM_ROUTES,
            lambda: self._client.workers.routes.create(
                zone_id=zone_id, pattern=pattern, script=script
            ),
            retry_server_errors=False,
        )
        return WorkerRoute(id=getattr(result, "id", "") or "", pattern=pattern, script=script)

    # -- zone settings (doctor) ------------------------------------------------------------

    def get_ai_bots_protection(self, zone_id: str) -> str | None:
        """The zone's "Block AI bots" setting (`block`, `disabled`, `only_on_ad_pages`), or
        None when the answer does not say."""
        result = self._call(
            "read the zone's bot settings",
            PERM_BOTS,
            lambda: self._client.bot_management.get(zone_id=zone_id),
        )
        value = getattr(result, "ai_bots_protection", None)
        return str(value) if value else None

    # -- KV keys and values (clients list/revoke) -------------------------------------------

    def list_kv_keys(self, account_id: str, namespace_id: str, prefix: str = "") -> list[str]:
        """Every key name with `prefix` (cursor pagination, 1000 per call)."""
        what = "list KV keys"
        page = self._call(
            what,
            PERM_KV,
            lambda: self._client.kv.namespaces.keys.list(
                namespace_id, account_id=account_id, prefix=prefix, limit=1000
            ),
        )
        names: list[str] = []
        while True:
            names.extend(k.name for k in (page.result or []))
            if not page.has_next_page():
                return names
            page = self._call(what, PERM_KV, page.get_next_page)

    def get_kv_value(self, account_id: str, namespace_id: str, key: str) -> bytes | None:
        """The raw value, or None when the key is absent (or expired)."""
        try:
            response = self._call(
                "read a KV value",
                PERM_KV,
                lambda: self._client.kv.namespaces.values.get(
                    key, account_id=account_id, namespace_id=namespace_id
                ),
            )
        except NotFound:
            return None
        return response.read()

    def put_kv_value(
        self, account_id: str, namespace_id: str, key: str, value: str, *, expiration_ttl: int
    ) -> None:
        self._call(
            "write a KV value",
            PERM_KV,
            lambda: self._client.kv.namespaces.values.update(
                key,
                account_id=account_id,
                namespace_id=namespace_id,
                value=value.encode(),
                expiration_ttl=expiration_ttl,
            ),
        )

    def delete_kv_value(self, account_id: str, namespace_id: str, key: str) -> None:
        """Deleting an absent key succeeds (as on Cloudflare)."""
        self._call(
            "delete a KV value",
            PERM_KV,
            lambda: self._client.kv.namespaces.values.delete(
                key, account_id=account_id, namespace_id=namespace_id
            ),
        )

    # -- deletions (destroy); each returns False when the object was already gone -----------

    # -- live tail (`cfmcp logs`) --------------------------------------------------------

    def create_tail(self, account_id: str, script: str) -> WorkerTail:
        """Start a live tail of the Worker: its WebSocket URL and id. The filter message is
        wrangler's with no filters (cfmcp filters what it reads)."""
        result = self._call(
            f"start a live tail of Worker {script!r}",
            PERM_TAIL,
            lambda: self._client.workers.scripts.tail.create(
                script, account_id=account_id, extra_body={"filters": []}
            ),
            retry_server_errors=False,
        )
        return WorkerTail(id=result.id, url=result.url, expires_at=str(result.expires_at))

    def delete_tail(self, account_id: str, script: str, tail_id: str) -> bool:
        """Stop a live tail (False when it was gone already)."""
        return self._delete(
            f"stop the live tail of Worker {script!r}",
            PERM_TAIL,
            lambda: self._client.workers.scripts.tail.delete(
                tail_id, account_id=account_id, script_name=script
            ),
        )

    def delete_kv_namespace(self, account_id: str, namespace_id: str) -> bool:
        return self._delete(
            f"delete KV namespace {namespace_id}",
            PERM_KV,
            lambda: self._client.kv.namespaces.delete(namespace_id, account_id=account_id),
        )

    def delete_script(self, account_id: str, name: str) -> bool:
        """Delete a Worker; its secrets, versions, workers.dev route and the Durable Object
        namespaces it implements (objects and storage) go with it. No `force`: a Worker whose
        Durable Objects another Worker binds is refused rather than breaking that one."""
        return self._delete(
            f"delete Worker {name!r}",
            PERM_SCRIPTS,
            lambda: self._client.workers.scripts.delete(name, account_id=account_id),
        )

    def delete_worker_domain(self, account_id: str, domain_id: str) -> bool:
        return self._delete(
            f"detach custom domain {domain_id}",
            PERM_ROUTES,
            lambda: self._client.workers.domains.delete(domain_id, account_id=account_id),
        )

    def delete_route(self, zone_id: str, route_id: str) -> bool:
        return self._delete(
            f"delete route {route_id}",
            PERM_ROUTES,
            lambda: self._client.workers.routes.delete(route_id, zone_id=zone_id),
        )

    def _delete(self, what: str, permission: str, fn: Callable[[], object]) -> bool:
        try:
            self._call(what, permission, fn)
        except NotFound:
            return False
        return True


def _no_request_bodies_in_logs() -> None:
    """The SDK logs every request's options, bodies included, at DEBUG (`CLOUDFLARE_LOG=debug`):
    those bodies carry secrets. Keep its logger at INFO or above (method and URL only)."""
    import logging

    sdk_logger = logging.getLogger("cloudflare")
    if sdk_logger.getEffectiveLevel() < logging.INFO:
        sdk_logger.setLevel(logging.INFO)


# ----------------------------------------------------------------------------- error mapping

_INVALID_TOKEN_CODES = {1000, 1001, 6003, 6111, 9103, 9106, 9109, 10001}
_NOT_FOUND_CODES = {7003, 10007, 10090}
_RATE_LIMIT_CODES = {971, 10429}
_CONFLICT_CODES = {10014, 10020, 100116, 100117}
# "Migration tag precondition failed; current tag is …": an upload's migrations.old_tag is not
# the script's current Durable Object migration tag (cloudflare/workers-sdk#705).
MIGRATION_TAG_MISMATCH = 10079


def _errors(body: object) -> list[Mapping[str, Any]]:
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, list):
            return [e for e in errors if isinstance(e, Mapping)]
    return []


def map_status_error(what: str, permission: str, status: int, body: object) -> CloudflareError:
    """Turn an HTTP error from the API into one of our errors, with a hint."""
    errors = _errors(body)
    codes = [int(e["code"]) for e in errors if isinstance(e.get("code"), int)]
    detail = "; ".join(str(e.get("message", "")).strip() for e in errors if e.get("message"))
    detail = _one_line(detail) or f"HTTP {status}"
    code_set = set(codes)
    message = f"{what} failed: {detail}"
    if status == 401 or code_set & _INVALID_TOKEN_CODES:
        return InvalidToken(
            f"{what} failed: the Cloudflare API token is invalid ({detail})",
            hint=f"check CLOUDFLARE_API_TOKEN, or create a new token at {TOKEN_URL}",
            status=status,
            codes=codes,
        )
    if status == 429 or code_set & _RATE_LIMIT_CODES:
        return RateLimited(
            f"{what} failed: rate limited by Cloudflare ({detail})",
            hint="wait a minute and re-run; cfmcp already retried with backoff",
            status=status,
            codes=codes,
        )
    if status == 403 or 10000 in code_set:
        return PermissionDenied(
            f"{what} failed: the API token lacks a permission ({detail})",
            hint=f"give the token '{permission}' for this account at {TOKEN_URL} "
            "(and check account_id in cfmcp.toml)",
            status=status,
            codes=codes,
        )
    if status == 404 or code_set & _NOT_FOUND_CODES:
        return NotFound(
            message, hint="check the account id and names in cfmcp.toml", status=status, codes=codes
        )
    if status == 409 or code_set & _CONFLICT_CODES:
        return Conflict(
            message,
            hint="the name is taken: choose another one in cfmcp.toml",
            status=status,
            codes=codes,
        )
    if MIGRATION_TAG_MISMATCH in code_set:
        return CloudflareError(
            message,
            hint="the Worker's Durable Object migration tag is not what this deploy "
            "read (another deploy meanwhile?): re-run `cfmcp deploy`, it reads the tag again",
            status=status,
            codes=codes,
        )
    if status >= 500:
        return ApiUnavailable(
            message,
            hint="Cloudflare had a server error: re-run in a moment",
            status=status,
            codes=codes,
        )
    return CloudflareError(
        message, hint="fix the value named above and re-run", status=status, codes=codes
    )


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue
        return min(max(seconds, 0.0), 60.0)
    return None


def _backoff(attempt: int) -> float:
    return min(0.5 * 2 ** (attempt - 1), 8.0)


_STARTED = "cfmcp_started"
_KV_VALUE_PATH = re.compile(r"(/values/)([^/?]+)")
_TAIL_PATH = re.compile(r"(/tails/)[^/?]+")


def _started(request: Any) -> None:
    request.extensions[_STARTED] = time.monotonic()


def _scrubbed_path(path: str) -> str:
    """A path as `--verbose` prints it: a KV key cut to its kind (`/values/grant:…`; key names
    are the Worker's, and some hold ids a person need not see in a terminal log) and a tail
    id cut whole (`/tails/…`: it is the secret part of the tail's WebSocket URL)."""

    def kind(match: re.Match[str]) -> str:
        key = urllib.parse.unquote(match.group(2))
        return match.group(1) + (key.split(":", 1)[0] + ":…" if ":" in key else "…")

    return _TAIL_PATH.sub(r"\1…", _KV_VALUE_PATH.sub(kind, path))


def _url_path(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path.rstrip("/")


def _all(page: Any, api: CloudflareApi, what: str, per_page: int = 0) -> Iterable[Any]:
    """Every item of a paginated result; each further page is one more (mapped) call.

    The SDK's page-number pagination always asks for one more page until it gets an empty one;
    `result_info` (total_pages) or a short page tells us when to stop without that extra call.
    """
    current = page
    number = 1
    while True:
        items = list(getattr(current, "result", None) or [])
        yield from items
        info = getattr(current, "result_info", None)
        total_pages = getattr(info, "total_pages", None) if info is not None else None
        if isinstance(total_pages, int):
            more = number < total_pages
        else:
            more = bool(per_page) and len(items) >= per_page
        if not more or not current.has_next_page():
            return
        current = api._call(what, PERM_SCRIPTS, current.get_next_page)
        number += 1


def _token_info(result: Any, account_owned: bool) -> TokenInfo:
    status = str(getattr(result, "status", "") or "")
    info = TokenInfo(
        id=str(getattr(result, "id", "") or ""), status=status, account_owned=account_owned
    )
    if status and status != "active":
        raise InvalidToken(
            f"the Cloudflare API token is {status}", hint=f"create a new token at {TOKEN_URL}"
        )
    return info


def _deployed_script(name: str, result: Any) -> DeployedScript:
    plain: dict[str, str] = {}
    kv: dict[str, str] = {}
    secrets: set[str] = set()
    durable_objects: dict[str, str] = {}
    for binding in getattr(result, "bindings", None) or []:
        data = binding if isinstance(binding, Mapping) else binding.model_dump()
        kind, bname = data.get("type"), data.get("name")
        if not bname:
            continue
        if kind == "plain_text":
            plain[bname] = str(data.get("text", ""))
        elif kind == "kv_namespace":
            kv[bname] = str(data.get("namespace_id", ""))
        elif kind == "secret_text":
            secrets.add(bname)
        elif kind == "durable_object_namespace" and data.get("script_name") in (None, "", name):
            durable_objects[bname] = str(data.get("class_name") or "")
    return DeployedScript(
        name=name,
        compatibility_date=str(getattr(result, "compatibility_date", "") or ""),
        compatibility_flags=tuple(getattr(result, "compatibility_flags", None) or ()),
        plain_text=plain,
        kv_namespaces=kv,
        secret_names=frozenset(secrets),
        durable_objects=durable_objects,
    )
