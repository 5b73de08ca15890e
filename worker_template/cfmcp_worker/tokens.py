"""Authorization codes, access tokens, refresh tokens and grants.

- Codes are self-contained and signed (client, redirect URI, PKCE challenge, resource, scope,
  expiry ≤ code_ttl); single use is enforced best-effort with a KV marker keyed by their hash.
  Redeeming one needs no cross-location read-after-write.
- Access tokens are signed (grant id, client, audience, scope, expiry) and work on first use at
  any location; revocation writes `revoked:<grant>` which every check consults.
- Refresh tokens are opaque (`<grant id>.<random>`); the grant record in KV keeps only the
  SHA-256 of the current one and of the previous one (valid for a short grace window, so a
  client that lost the response to a refresh can retry).
KV never holds a raw token, code or secret.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable

from cfmcp_worker.crypto import Signer, random_token, sha256_hex
from cfmcp_worker.kv import MIN_TTL_SECONDS, KvStore

CODE_PREFIX = "cfcode"
ACCESS_PREFIX = "cfat"
REFRESH_PREFIX = "cfrt"
REVOCATION_CACHE_SECONDS = 10.0


class GrantError(Exception):
    """A refresh the token endpoint refuses, with its RFC 6749 §5.2 error code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class CodeGrant:
    """What a signed authorization code carries."""

    __slots__ = ("client_id", "code_challenge", "redirect_uri", "resource", "scope")

    def __init__(
        self, client_id: str, redirect_uri: str, code_challenge: str, resource: str, scope: str
    ) -> None:
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.code_challenge = code_challenge
        self.resource = resource
        self.scope = scope


class AccessClaims:
    """What a signed access token carries."""

    __slots__ = ("audience", "client_id", "expires_at", "grant_id", "scope")

    def __init__(
        self, grant_id: str, client_id: str, audience: str, scope: str, expires_at: int
    ) -> None:
        self.grant_id = grant_id
        self.client_id = client_id
        self.audience = audience
        self.scope = scope
        self.expires_at = expires_at


GRANT_FIELDS = (
    "grant_id",
    "client_id",
    "client_name",
    "scope",
    "resource",
    "created_at",
    "refresh_hash",
    "previous_refresh_hash",
    "previous_valid_until",
)


class Grant:
    """What KV holds per authorization: who, what, and hashes of the refresh tokens."""

    __slots__ = GRANT_FIELDS

    def __init__(
        self,
        grant_id: str,
        client_id: str,
        client_name: str,
        scope: str,
        resource: str,
        created_at: int,
        refresh_hash: str,
        previous_refresh_hash: str = "",
        previous_valid_until: int = 0,
    ) -> None:
        self.grant_id = grant_id
        self.client_id = client_id
        self.client_name = client_name
        self.scope = scope
        self.resource = resource
        self.created_at = created_at
        self.refresh_hash = refresh_hash
        self.previous_refresh_hash = previous_refresh_hash
        self.previous_valid_until = previous_valid_until

    def matches_refresh(self, token: str) -> bool:
        """Whether `token` is this grant's current or previous refresh token."""
        presented = sha256_hex(token)
        return presented in (self.refresh_hash, self.previous_refresh_hash)

    def to_json(self) -> str:
        data = {name: getattr(self, name) for name in GRANT_FIELDS}
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Grant:
        data = json.loads(text)
        return cls(**{name: data[name] for name in GRANT_FIELDS if name in data})


class IssuedTokens:
    """A token response: a new access token and refresh token for one grant."""

    __slots__ = ("access_token", "expires_in", "refresh_token", "scope")

    def __init__(self, access_token: str, refresh_token: str, expires_in: int, scope: str) -> None:
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.expires_in = expires_in
        self.scope = scope

    def __repr__(self) -> str:  # tokens are credentials
        return f"IssuedTokens(<redacted>, expires_in={self.expires_in})"

    def response_body(self) -> dict:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
        }


def grant_key(grant_id: str) -> str:
    return f"grant:{grant_id}"


def revoked_key(grant_id: str) -> str:
    return f"revoked:{grant_id}"


class TokenService:
    """Issues and checks codes and tokens; the only module writing grants to KV."""

    def __init__(
        self,
        signer: Signer,
        kv: KvStore,
        *,
        code_ttl: int,
        access_ttl: int,
        refresh_ttl: int,
        refresh_grace: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._signer = signer
        self._kv = kv
        self._code_ttl = code_ttl
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        self._refresh_grace = refresh_grace
        self._clock = clock
        self._not_revoked_until: dict[str, float] = {}

    def now(self) -> int:
        return int(self._clock())

    # -- authorization codes -------------------------------------------------------------

    def issue_code(self, grant: CodeGrant) -> str:
        payload = {
            "c": grant.client_id,
            "r": grant.redirect_uri,
            "pc": grant.code_challenge,
            "res": grant.resource,
            "s": grant.scope,
            "exp": self.now() + self._code_ttl,
            "n": random_token(16),
        }
        return self._signer.sign(CODE_PREFIX, payload)

    def read_code(self, code: str) -> CodeGrant | None:
        """The grant inside a valid, unexpired code (single use is checked separately)."""
        payload = self._signer.verify(CODE_PREFIX, code)
        if payload is None or payload.get("exp", 0) < self.now():
            return None
        return CodeGrant(payload["c"], payload["r"], payload["pc"], payload["res"], payload["s"])

    async def consume_code(self, code: str) -> bool:
        """Mark a code used; False if it was used before (best effort across locations)."""
        key = f"used-code:{sha256_hex(code)}"
        if await self._kv.get(key) is not None:
            return False
        await self._kv.put(key, "1", ttl=max(MIN_TTL_SECONDS, self._code_ttl + 60))
        return True

    # -- grants and tokens ---------------------------------------------------------------

    async def create_grant(
        self, client_id: str, client_name: str, scope: str, resource: str
    ) -> IssuedTokens:
        grant_id = secrets.token_hex(16)  # hex: never starts with "-" on a command line
        refresh = self._new_refresh_token(grant_id)
        grant = Grant(
            grant_id, client_id, client_name, scope, resource, self.now(), sha256_hex(refresh)
        )
        await self._save_grant(grant)
        return self._tokens_for(grant, refresh)

    async def refresh(
        self, refresh_token: str, client_id: str, requested_scope: str | None = None
    ) -> IssuedTokens:
        """Rotate a refresh token; GrantError if it is unknown, foreign, revoked, past its
        grace window, or asks for more scope than was granted (nothing rotates then)."""
        invalid = GrantError("invalid_grant", "the refresh token is invalid or expired")
        grant_id = refresh_token_grant_id(refresh_token)
        grant = await self.load_grant(grant_id) if grant_id else None
        if grant is None or grant.client_id != client_id:
            raise invalid
        if await self.is_revoked(grant.grant_id, use_cache=False):
            raise invalid
        presented = sha256_hex(refresh_token)
        if presented == grant.refresh_hash:
            grant.previous_refresh_hash = grant.refresh_hash
            grant.previous_valid_until = self.now() + self._refresh_grace
        elif not (
            presented == grant.previous_refresh_hash and self.now() <= grant.previous_valid_until
        ):
            raise invalid
        if requested_scope and not set(requested_scope.split()) <= set(grant.scope.split()):
            raise GrantError("invalid_scope", "scope exceeds what was granted")
        # Retried with the previous token inside the grace window: the response carrying the
        # current one was lost, so replace the current one and keep the previous one as it is.
        new_refresh = self._new_refresh_token(grant.grant_id)
        grant.refresh_hash = sha256_hex(new_refresh)
        await self._save_grant(grant)
        return self._tokens_for(grant, new_refresh)

    def _new_refresh_token(self, grant_id: str) -> str:
        return f"{REFRESH_PREFIX}.{grant_id}.{random_token(32)}"

    def _tokens_for(self, grant: Grant, refresh: str) -> IssuedTokens:
        access = self._signer.sign(
            ACCESS_PREFIX,
            {
                "g": grant.grant_id,
                "c": grant.client_id,
                "aud": grant.resource,
                "s": grant.scope,
                "iat": self.now(),
                "exp": self.now() + self._access_ttl,
            },
        )
        return IssuedTokens(access, refresh, self._access_ttl, grant.scope)

    async def _save_grant(self, grant: Grant) -> None:
        await self._kv.put(
            grant_key(grant.grant_id), grant.to_json(), ttl=max(MIN_TTL_SECONDS, self._refresh_ttl)
        )

    async def load_grant(self, grant_id: str) -> Grant | None:
        stored = await self._kv.get(grant_key(grant_id))
        return Grant.from_json(stored) if stored else None

    def read_access_token(self, token: str) -> AccessClaims | None:
        """Claims of a validly signed, unexpired access token (revocation checked separately)."""
        payload = self._signer.verify(ACCESS_PREFIX, token)
        if payload is None or payload.get("exp", 0) < self.now():
            return None
        return AccessClaims(
            payload["g"], payload["c"], payload["aud"], payload["s"], payload["exp"]
        )

    async def is_revoked(self, grant_id: str, *, use_cache: bool = True) -> bool:
        """One KV read, saved for a few seconds per isolate when the answer is 'not revoked'."""
        now = self._clock()
        if use_cache and self._not_revoked_until.get(grant_id, 0) > now:
            return False
        revoked = await self._kv.get(revoked_key(grant_id)) is not None
        if not revoked:
            if len(self._not_revoked_until) > 1000:
                self._not_revoked_until.clear()
            self._not_revoked_until[grant_id] = now + REVOCATION_CACHE_SECONDS
        return revoked

    async def revoke_grant(self, grant_id: str) -> None:
        """Revoke every token of a grant: mark it revoked for the access tokens' lifetime."""
        self._not_revoked_until.pop(grant_id, None)
        await self._kv.put(revoked_key(grant_id), "1", ttl=max(MIN_TTL_SECONDS, self._access_ttl))
        await self._kv.delete(grant_key(grant_id))


def refresh_token_grant_id(token: str) -> str | None:
    parts = token.split(".") if isinstance(token, str) and len(token) < 512 else []
    if len(parts) != 3 or parts[0] != REFRESH_PREFIX or not parts[1]:
        return None
    return parts[1]
