"""OAuth clients: dynamic registration (RFC 7591), metadata documents, client authentication.

Registered clients are stateless: the `client_id` is a signed document holding the client's
name, redirect URIs and auth method, and a confidential client's secret is an HMAC of its id.
Nothing is written to KV, so a client registered at one edge location is known at every other
one at once (KV would take up to 60 s). A `client_id` that is an https URL is a Client ID
Metadata Document: pinned copies of well-known ones, otherwise fetched (https, public hosts,
size-capped by the host) and cached in the isolate (never in KV: fetching one is anonymous).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from cfmcp_worker import log_lines
from cfmcp_worker.crypto import Signer, b64url_decode, constant_time_equals, random_token
from cfmcp_worker.jsonin import JsonInputError, loads_bounded
from cfmcp_worker.pinned_clients import PINNED_CLIENT_METADATA, PINNED_LOOPBACK_PREFIXES
from cfmcp_worker.urls import (
    loopback_path_below,
    metadata_url_problem,
    redirect_uri_matches,
    redirect_uri_problem,
)

CLIENT_ID_PREFIX = "cfc"
AUTH_METHODS = ("none", "client_secret_post", "client_secret_basic")
SUPPORTED_GRANTS = ("authorization_code", "refresh_token")
MAX_REGISTRATION_BYTES = 16 * 1024
MAX_METADATA_DOCUMENT_BYTES = 64 * 1024
MAX_REDIRECT_URIS = 8
MAX_NAME_LENGTH = 120
CIMD_CACHE_SECONDS = 3600
# A document that could not be fetched (or was not valid) is not fetched again for a minute:
# anonymous GET /authorize requests must not turn the Worker into a fetch relay.
CIMD_FAILURE_SECONDS = 60
MAX_CIMD_CACHE_ENTRIES = 256  # per isolate, for each of the two caches
MetadataFetcher = Callable[[str], Awaitable[tuple[int, bytes] | None]]


class RegistrationError(ValueError):
    """A registration request the server refuses (RFC 7591 §3.2.2)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class Client:
    """A client the server knows: registered (signed id) or a metadata document."""

    __slots__ = ("auth_method", "client_id", "loopback_prefixes", "name", "redirect_uris")

    def __init__(
        self,
        client_id: str,
        name: str,
        redirect_uris: tuple[str, ...],
        auth_method: str,
        loopback_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.client_id = client_id
        self.name = name
        self.redirect_uris = redirect_uris
        self.auth_method = auth_method
        # Pinned documents only: loopback redirect paths below one of these (any port).
        self.loopback_prefixes = loopback_prefixes

    @property
    def vouched_by(self) -> str:
        """The host whose metadata document gives this client its name ("" for a client that
        registered itself: its name is only what it says)."""
        return document_host(self.client_id)

    @property
    def is_confidential(self) -> bool:
        return self.auth_method != "none"

    def allows_redirect(self, uri: str) -> bool:
        if any(redirect_uri_matches(registered, uri) for registered in self.redirect_uris):
            return True
        return any(loopback_path_below(prefix, uri) for prefix in self.loopback_prefixes)


def _clean_name(value: object, fallback: str) -> str:
    if value is not None and not isinstance(value, str):
        raise RegistrationError("invalid_client_metadata", "client_name must be a string")
    if not value or not value.strip():
        return fallback
    return log_lines.printable(value.strip(), MAX_NAME_LENGTH)


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _str_list(data: dict, key: str) -> list[str]:
    value = data.get(key)
    return value if _is_str_list(value) else []


def _validate_metadata(
    data: object, document: bool = False
) -> tuple[str, tuple[str, ...], str, list[str]]:
    """Check client metadata; return (name, redirect_uris, auth_method, grant_types).

    A metadata `document` (CIMD) is written for many servers: grant types beyond ours are
    ignored as long as authorization_code is among them. A registration request must only ask
    for what this server does.
    """
    if not isinstance(data, dict):
        raise RegistrationError("invalid_client_metadata", "body must be a JSON object")
    uris = data.get("redirect_uris")
    if not isinstance(uris, list) or not uris:
        raise RegistrationError("invalid_redirect_uri", "redirect_uris must be a non-empty list")
    if len(uris) > MAX_REDIRECT_URIS:
        raise RegistrationError("invalid_redirect_uri", "too many redirect_uris")
    for uri in uris:
        problem = redirect_uri_problem(uri)
        if problem:
            raise RegistrationError("invalid_redirect_uri", problem)
    method = data.get("token_endpoint_auth_method", "client_secret_basic")
    if (
        document
        and method != "none"
        and "none" in _str_list(data, "token_endpoint_auth_methods_supported")
    ):
        # ChatGPT declares private_key_jwt but also lists "none": take the public-client path
        # the document allows (PKCE still required). private_key_jwt is never advertised.
        method = "none"
    if not isinstance(method, str) or method not in AUTH_METHODS:
        raise RegistrationError(
            "invalid_client_metadata", f"token_endpoint_auth_method must be one of {AUTH_METHODS}"
        )
    grants = data.get("grant_types", ["authorization_code"])
    if not _is_str_list(grants):
        raise RegistrationError("invalid_client_metadata", "grant_types must be a list of strings")
    if document:
        if "authorization_code" not in grants:
            raise RegistrationError(
                "invalid_client_metadata", "grant_types must include authorization_code"
            )
        grants = [grant for grant in grants if grant in SUPPORTED_GRANTS]
    elif not set(grants) <= set(SUPPORTED_GRANTS):
        raise RegistrationError(
            "invalid_client_metadata", "grant_types may hold authorization_code and refresh_token"
        )
    responses = data.get("response_types", ["code"])
    if not _is_str_list(responses) or set(responses) - {"code"}:
        raise RegistrationError("invalid_client_metadata", "response_types may only hold code")
    if "scope" in data and not isinstance(data["scope"], str):
        raise RegistrationError("invalid_client_metadata", "scope must be a string")
    name = _clean_name(data.get("client_name"), "Unnamed client")
    return name, tuple(uris), method, grants


class ClientRegistry:
    """Registers, resolves and authenticates clients."""

    def __init__(
        self,
        signer: Signer,
        fetch_metadata: MetadataFetcher | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._signer = signer
        self._fetch = fetch_metadata
        self._clock = clock
        self._cimd_cache: dict[str, tuple[float, Client]] = {}
        self._cimd_failures: dict[str, tuple[float, str]] = {}
        self._names: dict[str, str] = {}

    def register(self, body: bytes) -> dict:
        """Validate a DCR request and return the registration response body."""
        try:
            data = loads_bounded(body or b"null", max_bytes=MAX_REGISTRATION_BYTES)
        except JsonInputError as exc:
            raise RegistrationError("invalid_client_metadata", f"body refused: {exc}") from None
        name, uris, method, grants = _validate_metadata(data)
        issued_at = int(self._clock())
        # The nonce makes every registration distinct: two installs of the same client never
        # share an id (so never a secret, which is derived from the id).
        payload = {"n": name, "r": list(uris), "m": method, "iat": issued_at, "j": random_token(9)}
        client_id = self._signer.sign(CLIENT_ID_PREFIX, payload)
        response: dict = {
            "client_id": client_id,
            "client_id_issued_at": issued_at,
            "client_name": name,
            "redirect_uris": list(uris),
            "token_endpoint_auth_method": method,
            "grant_types": grants,
            "response_types": ["code"],
        }
        if isinstance(data.get("scope"), str):
            response["scope"] = data["scope"][:200]
        if method != "none":
            response["client_secret"] = self._client_secret(client_id)
            response["client_secret_expires_at"] = 0
        return response

    def name_of(self, client_id: str) -> str:
        """A client's name for log lines, with no I/O and no signature check: `client_id`
        comes from an access token whose signature covers it. A metadata document's client is
        named by its pinned or cached document, else by its host."""
        if client_id.startswith("https://"):
            cached = self._cimd_cache.get(client_id)
            if cached is not None:
                return cached[1].name
            pinned = PINNED_CLIENT_METADATA.get(client_id)
            if isinstance(pinned, dict) and isinstance(pinned.get("client_name"), str):
                return pinned["client_name"]
            return document_host(client_id)
        name = self._names.get(client_id)
        if name is None:
            name = _signed_name(client_id)
            if len(self._names) >= MAX_CIMD_CACHE_ENTRIES:
                self._names.clear()
            self._names[client_id] = name
        return name

    def _client_secret(self, client_id: str) -> str:
        return self._signer.mac("client-secret", client_id)

    async def resolve(self, client_id: str | None) -> Client | None:
        """The client behind `client_id`, or None if it is unknown or invalid."""
        if not client_id or len(client_id) > 4096:
            return None
        if client_id.startswith("https://"):
            return await self._resolve_metadata_document(client_id)
        payload = self._signer.verify(CLIENT_ID_PREFIX, client_id)
        if payload is None:
            return None
        return Client(client_id, str(payload["n"]), tuple(payload["r"]), str(payload["m"]))

    async def _resolve_metadata_document(self, url: str) -> Client | None:
        now = self._clock()
        cached = self._cimd_cache.get(url)
        if cached and cached[0] > now:
            return cached[1]
        failed = self._cimd_failures.get(url)
        if failed and failed[0] > now:
            return None
        document = PINNED_CLIENT_METADATA.get(url)
        fetched = False
        if document is None:
            if metadata_url_problem(url) is not None:
                return None  # refused as it stands: nothing to fetch
            document = await self._fetch_document(url)
            fetched = True
        if isinstance(document, dict):
            client = _client_from_document(url, document)
        elif isinstance(document, str):  # why the fetch gave no document
            client = document
        else:
            client = "the client's metadata document is not valid (not a JSON object)."
        if isinstance(client, str):
            if fetched:
                _remember(self._cimd_failures, url, (now + CIMD_FAILURE_SECONDS, client), now)
            return None
        # Cached in the isolate only: an anonymous GET /authorize must never spend a KV write.
        _remember(self._cimd_cache, url, (now + CIMD_CACHE_SECONDS, client), now)
        return client

    def metadata_document_problem(self, client_id: str | None) -> str | None:
        """Why the metadata document `client_id` names gave no client, for the error page:
        None when `client_id` is no metadata document URL or nothing is known against it."""
        if not client_id or not client_id.startswith("https://"):
            return None
        refused = metadata_url_problem(client_id)
        if refused:
            return f"the client's metadata document URL is not allowed ({refused})."
        failed = self._cimd_failures.get(client_id)
        if failed and failed[0] > self._clock():
            return failed[1]
        return None

    async def _fetch_document(self, url: str) -> object:
        """The parsed document, or why there is none (a str)."""
        fetched = await self._fetch(url) if self._fetch is not None else None
        if fetched is None or fetched[0] != 200:
            status = f" (HTTP {fetched[0]})" if fetched else ""
            return (
                f"the client's metadata document could not be fetched{status}. "
                "Try again in a minute."
            )
        try:
            return loads_bounded(fetched[1], max_bytes=MAX_METADATA_DOCUMENT_BYTES)
        except JsonInputError as exc:
            return f"the client's metadata document is not valid ({exc})."

    def authenticate(self, client: Client, headers_auth: str | None, form: dict[str, str]) -> bool:
        """Check the client's credentials at the token or revocation endpoint."""
        if not client.is_confidential:
            return True
        secret = form.get("client_secret")
        basic = parse_basic_auth(headers_auth)
        if basic is not None:
            basic_id, secret = basic
            if basic_id != client.client_id:
                return False
        if not secret:
            return False
        return constant_time_equals(secret, self._client_secret(client.client_id))


def _client_from_document(url: str, document: dict) -> Client | str:
    """The client a metadata document describes, or why it describes none."""
    invalid = "the client's metadata document is not valid ({})."
    if document.get("client_id") != url:
        return invalid.format("its client_id is not its own URL")
    try:
        name, uris, method, _grants = _validate_metadata(document, document=True)
    except RegistrationError as exc:
        return invalid.format(exc.description)
    if method != "none":  # metadata-document clients are public (no shared secret exists)
        return invalid.format(f"token_endpoint_auth_method {method} is not supported")
    prefixes = (
        PINNED_LOOPBACK_PREFIXES.get(url, ()) if document is PINNED_CLIENT_METADATA.get(url) else ()
    )
    return Client(url, name, uris, method, prefixes)


def document_host(client_id: str) -> str:
    """The host of a metadata document's URL ("" for a client id that is none)."""
    if not client_id.startswith("https://"):
        return ""
    return client_id[len("https://") :].split("/", 1)[0].lower()


def _signed_name(client_id: str) -> str:
    """The name inside a registered client's id (`cfc.<payload>.<mac>`), unverified."""
    parts = client_id.split(".")
    try:
        payload = json.loads(b64url_decode(parts[1])) if len(parts) == 3 else None
    except ValueError:
        payload = None
    name = payload.get("n") if isinstance(payload, dict) else None
    return name if isinstance(name, str) else "unknown client"


def _remember(cache: dict, key: str, entry: tuple, now: float) -> None:
    """Store `entry` in a bounded in-isolate cache: expired entries go first, then the oldest."""
    cache.pop(key, None)
    if len(cache) >= MAX_CIMD_CACHE_ENTRIES:
        for stale in [k for k, (expires, _) in cache.items() if expires <= now]:
            del cache[stale]
        while len(cache) >= MAX_CIMD_CACHE_ENTRIES:
            del cache[next(iter(cache))]
    cache[key] = entry


def parse_basic_auth(header: str | None) -> tuple[str, str] | None:
    """client_secret_basic credentials (RFC 6749 §2.3.1: form-urlencoded, then base64)."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except ValueError:
        return None
    if ":" not in decoded:
        return None
    client_id, secret = decoded.split(":", 1)
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


def client_id_from_request(header_auth: str | None, form: dict[str, str]) -> str | None:
    basic = parse_basic_auth(header_auth)
    return basic[0] if basic else form.get("client_id")
