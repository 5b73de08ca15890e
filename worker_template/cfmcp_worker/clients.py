"""OAuth clients: dynamic registration (RFC 7591), metadata documents, client authentication.

Registered clients are stateless: the `client_id` is a signed document holding the client's
name, redirect URIs and auth method, and a confidential client's secret is an HMAC of its id.
Nothing is written to KV, so a client registered at one edge location is known at every other
one at once (KV would take up to 60 s). A `client_id` that is an https URL is a Client ID
Metadata Document: pinned copies of well-known ones, otherwise fetched (https, public hosts,
size-capped by the host) and cached.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from cfmcp_worker.crypto import Signer, constant_time_equals, random_token, sha256_hex
from cfmcp_worker.kv import KvStore
from cfmcp_worker.pinned_clients import PINNED_CLIENT_METADATA
from cfmcp_worker.urls import is_public_https_url, redirect_uri_matches, redirect_uri_problem

CLIENT_ID_PREFIX = "cfc"
AUTH_METHODS = ("none", "client_secret_post", "client_secret_basic")
MAX_REGISTRATION_BYTES = 16 * 1024
MAX_REDIRECT_URIS = 8
MAX_NAME_LENGTH = 120
CIMD_CACHE_SECONDS = 3600
MetadataFetcher = Callable[[str], Awaitable[tuple[int, bytes] | None]]


class RegistrationError(ValueError):
    """A registration request the server refuses (RFC 7591 §3.2.2)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class Client:
    """A client the server knows: registered (signed id) or a metadata document."""

    __slots__ = ("auth_method", "client_id", "name", "redirect_uris")

    def __init__(
        self, client_id: str, name: str, redirect_uris: tuple[str, ...], auth_method: str
    ) -> None:
        self.client_id = client_id
        self.name = name
        self.redirect_uris = redirect_uris
        self.auth_method = auth_method

    @property
    def is_confidential(self) -> bool:
        return self.auth_method != "none"

    def allows_redirect(self, uri: str) -> bool:
        return any(redirect_uri_matches(registered, uri) for registered in self.redirect_uris)


def _clean_name(value: object, fallback: str) -> str:
    if not isinstance(value, str) or not value.strip():
        return fallback
    name = "".join(ch for ch in value.strip() if ch.isprintable())
    return name[:MAX_NAME_LENGTH]


def _validate_metadata(data: object) -> tuple[str, tuple[str, ...], str, list[str]]:
    """Check client metadata; return (name, redirect_uris, auth_method, grant_types)."""
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
    if method not in AUTH_METHODS:
        raise RegistrationError(
            "invalid_client_metadata", f"token_endpoint_auth_method must be one of {AUTH_METHODS}"
        )
    grants = data.get("grant_types", ["authorization_code"])
    if not isinstance(grants, list) or not set(grants) <= {"authorization_code", "refresh_token"}:
        raise RegistrationError(
            "invalid_client_metadata", "grant_types may hold authorization_code and refresh_token"
        )
    responses = data.get("response_types", ["code"])
    if not isinstance(responses, list) or set(responses) - {"code"}:
        raise RegistrationError("invalid_client_metadata", "response_types may only hold code")
    name = _clean_name(data.get("client_name"), "Unnamed client")
    return name, tuple(uris), method, grants


class ClientRegistry:
    """Registers, resolves and authenticates clients."""

    def __init__(
        self,
        signer: Signer,
        kv: KvStore,
        fetch_metadata: MetadataFetcher | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._signer = signer
        self._kv = kv
        self._fetch = fetch_metadata
        self._clock = clock
        self._cimd_cache: dict[str, tuple[float, Client]] = {}

    def register(self, body: bytes) -> dict:
        """Validate a DCR request and return the registration response body."""
        if len(body) > MAX_REGISTRATION_BYTES:
            raise RegistrationError("invalid_client_metadata", "registration request too large")
        try:
            data = json.loads(body or b"null")
        except ValueError:
            raise RegistrationError("invalid_client_metadata", "body is not valid JSON") from None
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
        cached = self._cimd_cache.get(url)
        now = self._clock()
        if cached and cached[0] > now:
            return cached[1]
        key = f"cimd:{sha256_hex(url)}"
        document = PINNED_CLIENT_METADATA.get(url)
        fetched = False
        if document is None:
            stored = await self._kv.get(key)
            document = json.loads(stored) if stored else None
        if document is None:
            document = await self._fetch_document(url)
            fetched = True
        client = _client_from_document(url, document) if document else None
        if client is None:
            return None
        if fetched:  # only documents that passed validation are cached
            await self._kv.put(key, json.dumps(document), ttl=CIMD_CACHE_SECONDS)
        self._cimd_cache[url] = (now + CIMD_CACHE_SECONDS, client)
        return client

    async def _fetch_document(self, url: str) -> object | None:
        if self._fetch is None or not is_public_https_url(url):
            return None
        fetched = await self._fetch(url)
        if fetched is None or fetched[0] != 200:
            return None
        try:
            return json.loads(fetched[1])
        except ValueError:
            return None

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


def _client_from_document(url: str, document: object) -> Client | None:
    if not isinstance(document, dict) or document.get("client_id") != url:
        return None
    try:
        name, uris, method, _grants = _validate_metadata(document)
    except RegistrationError:
        return None
    if method != "none":  # metadata-document clients are public (no shared secret exists)
        return None
    return Client(url, name, uris, method)


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
