"""Authorization codes, access tokens, refresh tokens and grants.

- Codes are self-contained and signed (issuer, client, redirect URI, PKCE challenge, resource,
  scope, expiry ≤ code_ttl). Single use is decided by the exact state (`exact.py`); the grant
  id is derived from the code, so a retried redemption names the same grant.
- Access tokens are signed (grant id, client, audience, scope — which names the connection's
  policy —, expiry) and work on first use at any location. `revoked:<grant>` in KV, which
  `/mcp` consults (cached), is the grant's status: `1` revoked, `policy:<name>` narrowed to
  that policy by `cfmcp clients set-policy` (the next refresh makes that the grant's scope).
- Refresh tokens are `cfrt.<grant id>.<generation>.<mac>`: the exact state holds each grant's
  current generation and rotates it by compare-and-swap, so concurrent refreshes with one token
  make one rotation and get the same new token. KV-era tokens (`cfrt.<grant id>.<random>`,
  checked against the hash in the KV grant record) are adopted on first use.
- KV keeps the grant index (`grant:<id>`, no secrets) that `cfmcp clients` lists.
KV never holds a raw token, code or secret; the exact state holds only hashes and numbers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from cfmcp_worker import exact, log_lines
from cfmcp_worker.crypto import Signer, random_token, sha256_hex
from cfmcp_worker.exact import ExactClient
from cfmcp_worker.kv import MIN_TTL_SECONDS, KvStore

CODE_PREFIX = "cfcode"
ACCESS_PREFIX = "cfat"
REFRESH_PREFIX = "cfrt"
REVOCATION_CACHE_SECONDS = 10.0
SIGNED_ACCESS_CACHE_SIZE = 256  # access tokens per isolate whose signature is known good
# A client that redeems one code twice this soon after (ChatGPT may send two /token POSTs)
# gets the same grant again; later, a replay revokes the grant (RFC 6749 §4.1.2).
CODE_RETRY_SECONDS = 10
INVALID_REFRESH = "the refresh token is invalid or expired"
REVOKED = "revoked"  # a grant status; any other status is the name of a narrowing policy
NARROWED_PREFIX = "policy:"
# Turns a grant's scope and a narrowing policy's name into the narrowed scope, or None when the
# policy is unknown or not narrower (the grant is then refused): `Policies.narrowed_scope`.
Narrow = Callable[[str, str], "str | None"]


class GrantError(Exception):
    """A grant the token endpoint refuses, with its RFC 6749 §5.2 error code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class CodeGrant:
    """What a signed authorization code carries."""

    __slots__ = ("client_id", "code_challenge", "expires_at", "redirect_uri", "resource", "scope")

    def __init__(
        self,
        client_id: str,
        redirect_uri: str,
        code_challenge: str,
        resource: str,
        scope: str,
        expires_at: int = 0,
    ) -> None:
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.code_challenge = code_challenge
        self.resource = resource
        self.scope = scope
        self.expires_at = expires_at


class AccessClaims:
    """What a signed access token carries."""

    __slots__ = ("audience", "client_id", "expires_at", "grant_id", "narrowed_to", "scope")

    def __init__(
        self, grant_id: str, client_id: str, audience: str, scope: str, expires_at: int
    ) -> None:
        self.grant_id = grant_id
        self.client_id = client_id
        self.audience = audience
        self.scope = scope
        self.expires_at = expires_at
        self.narrowed_to: str | None = None  # set from the grant's status (proxy.authorize)


INDEX_FIELDS = ("grant_id", "client_id", "client_name", "scope", "resource", "created_at")
# KV-era records also hold the hashes of the current and previous refresh token.
GRANT_FIELDS = (*INDEX_FIELDS, "refresh_hash", "previous_refresh_hash", "previous_valid_until")


class Grant:
    """The grant index entry KV holds per authorization (what `cfmcp clients` lists)."""

    __slots__ = GRANT_FIELDS

    def __init__(
        self,
        grant_id: str,
        client_id: str,
        client_name: str,
        scope: str,
        resource: str,
        created_at: int,
        refresh_hash: str = "",
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

    def matches_legacy_refresh(self, token: str, now: int) -> bool:
        """Whether `token` is this KV-era grant's current (or, in its grace, previous) token."""
        presented = sha256_hex(token)
        if self.refresh_hash and presented == self.refresh_hash:
            return True
        return bool(self.previous_refresh_hash) and (
            presented == self.previous_refresh_hash and now <= self.previous_valid_until
        )

    def to_json(self) -> str:
        data = {name: getattr(self, name) for name in INDEX_FIELDS}
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Grant:
        data = json.loads(text)
        return cls(**{name: data[name] for name in GRANT_FIELDS if name in data})


class IssuedTokens:
    """A token response: a new access token and refresh token for one grant."""

    __slots__ = ("access_token", "expires_in", "grant_id", "refresh_token", "scope")

    def __init__(
        self,
        access_token: str,
        refresh_token: str,
        expires_in: int,
        scope: str,
        grant_id: str = "",
    ) -> None:
        self.grant_id = grant_id  # not in the response: for the request's log line
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


class RefreshToken:
    """A parsed refresh token: its grant, and its generation (0 for a KV-era token)."""

    __slots__ = ("generation", "grant_id", "raw")

    def __init__(self, raw: str, grant_id: str, generation: int) -> None:
        self.raw = raw
        self.grant_id = grant_id
        self.generation = generation


def grant_key(grant_id: str) -> str:
    return f"grant:{grant_id}"


def revoked_key(grant_id: str) -> str:
    return f"revoked:{grant_id}"


class TokenService:
    """Issues and checks codes and tokens; the only module writing grants."""

    def __init__(
        self,
        signer: Signer,
        kv: KvStore,
        exact_state: ExactClient,
        *,
        code_ttl: int,
        access_ttl: int,
        refresh_ttl: int,
        refresh_grace: int,
        narrow: Narrow,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._signer = signer
        self._narrow = narrow
        self._kv = kv
        self._exact = exact_state
        self._code_ttl = code_ttl
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        self._refresh_grace = refresh_grace
        self._clock = clock
        self._status_cache: dict[str, tuple[str | None, float]] = {}
        # Access tokens whose signature this isolate has checked, with their payload: a client
        # sends the same token on every request, and its signature cannot stop being valid
        # (the expiry and the revocation are still checked on every request).
        self._signed_access: dict[str, dict] = {}

    def now(self) -> int:
        return int(self._clock())

    # -- authorization codes -------------------------------------------------------------

    def issue_code(self, grant: CodeGrant, issuer: str) -> str:
        payload = {
            "iss": issuer,  # a code is only good at the deployment that issued it
            "client_id": grant.client_id,
            "redirect_uri": grant.redirect_uri,
            "code_challenge": grant.code_challenge,
            "resource": grant.resource,
            "scope": grant.scope,
            "exp": self.now() + self._code_ttl,
            "nonce": random_token(16),
        }
        return self._signer.sign(CODE_PREFIX, payload)

    def read_code(self, code: str, issuer: str) -> CodeGrant | None:
        """The grant inside a valid, unexpired code of this issuer (single use is separate)."""
        payload = self._signer.verify(CODE_PREFIX, code)
        if payload is None or payload.get("exp", 0) < self.now():
            return None
        if payload.get("iss") != issuer:
            return None
        return CodeGrant(
            payload["client_id"],
            payload["redirect_uri"],
            payload["code_challenge"],
            payload["resource"],
            payload["scope"],
            payload["exp"],
        )

    async def redeem_code(self, code: str, grant: CodeGrant, client_name: str) -> IssuedTokens:
        """Turn a checked code into a grant, exactly once (a quick retry gets the same one)."""
        code_hash = sha256_hex(code)
        grant_id = self._signer.derive_hex("grant", code_hash)
        answer = await self._exact.redeem_code(
            code_key=f"code:{code_hash}",
            code_expires=grant.expires_at,
            grant_id=grant_id,
            client_id=grant.client_id,
            client_name=client_name,
            scope=grant.scope,
            resource=grant.resource,
            now=self.now(),
            retry_seconds=CODE_RETRY_SECONDS,
            refresh_ttl=self._refresh_ttl,
        )
        if answer["result"] == exact.CODE_REPLAYED:
            if answer.get("newly_revoked"):  # later replays cost no KV write
                await self._forget(grant_id)
            raise GrantError("invalid_grant", "the code was already used")
        if answer["result"] == exact.CODE_NEW or (  # a retry redoes a write that failed
            answer["result"] == exact.CODE_RETRY and await self.load_grant(grant_id) is None
        ):
            record = Grant(
                grant_id, grant.client_id, client_name, grant.scope, grant.resource, self.now()
            )
            await self._kv.put(grant_key(grant_id), record.to_json(), ttl=self._index_ttl())
        return self._tokens_for(grant_id, grant.client_id, grant.resource, grant.scope, 1)

    # -- refresh -------------------------------------------------------------------------

    async def refresh(
        self, refresh_token: str, client_id: str, requested_scope: str | None = None
    ) -> IssuedTokens:
        """Rotate a refresh token; GrantError if it is unknown, foreign, revoked, reused after
        its grace window (which revokes the grant), or asks for more scope than was granted."""
        invalid = GrantError("invalid_grant", INVALID_REFRESH)
        parsed = self.parse_refresh_token(refresh_token)
        if parsed is None:
            raise invalid
        status = await self.grant_status(parsed.grant_id, use_cache=False)
        if status == REVOKED:
            # Revoked through KV alone (`cfmcp clients revoke`): make it permanent here.
            await self._exact.revoke(parsed.grant_id)
            raise invalid
        legacy_hash = ""
        if parsed.generation == 0:  # the exact state checks it against the hash it adopted
            legacy_hash = sha256_hex(refresh_token)
            await self._adopt_legacy(parsed, client_id)
        answer = await self._exact.rotate_refresh(
            grant_id=parsed.grant_id,
            client_id=client_id,
            generation=parsed.generation,
            legacy_hash=legacy_hash,
            requested_scope=requested_scope or "",
            now=self.now(),
            grace_seconds=self._refresh_grace,
            refresh_ttl=self._refresh_ttl,
        )
        if status is not None and answer["result"] in (exact.REFRESH_ROTATED, exact.REFRESH_RETRY):
            # Narrowed through KV (`cfmcp clients set-policy`): that becomes the grant's scope.
            narrowed = self._narrow(answer["scope"], status)
            if narrowed is None:
                log_lines.note(
                    f"grant {log_lines.short_grant(parsed.grant_id)} names an unknown or "
                    "wider policy: refused"
                )
                raise invalid
            if narrowed != answer["scope"]:
                await self._exact.set_scope(parsed.grant_id, narrowed)
                answer["scope"] = narrowed
        if answer["result"] == exact.REFRESH_REUSED:
            if answer.get("newly_revoked"):
                await self._forget(parsed.grant_id)
            raise invalid
        if answer["result"] == exact.REFRESH_TOO_MUCH_SCOPE:
            raise GrantError("invalid_scope", "scope exceeds what was granted")
        if answer["result"] not in (exact.REFRESH_ROTATED, exact.REFRESH_RETRY):
            raise invalid
        record = Grant(
            parsed.grant_id,
            client_id,
            answer["client_name"],
            answer["scope"],
            answer["resource"],
            answer["created_at"],
        )
        if answer["result"] == exact.REFRESH_ROTATED:  # keep the index entry alive with it
            await self._kv.put(grant_key(record.grant_id), record.to_json(), ttl=self._index_ttl())
        return self._tokens_for(
            record.grant_id, client_id, record.resource, record.scope, answer["generation"]
        )

    async def _adopt_legacy(self, parsed: RefreshToken, client_id: str) -> None:
        """A KV-era refresh token still matching its KV grant record gets a row in the exact
        state (once; the exact state then checks the token against the adopted hash)."""
        record = await self.load_grant(parsed.grant_id)
        if record is None or record.client_id != client_id:
            return
        if not record.matches_legacy_refresh(parsed.raw, self.now()):
            return
        await self._exact.adopt_legacy(
            grant_id=parsed.grant_id,
            client_id=client_id,
            client_name=record.client_name,
            scope=record.scope,
            resource=record.resource,
            created_at=record.created_at,
            legacy_hash=sha256_hex(parsed.raw),
            now=self.now(),
            refresh_ttl=self._refresh_ttl,
        )

    def refresh_token_for(self, grant_id: str, generation: int) -> str:
        """The one refresh token of a grant's generation (the same for every caller)."""
        mac = self._signer.mac(REFRESH_PREFIX, f"{grant_id}.{generation}")
        return f"{REFRESH_PREFIX}.{grant_id}.{generation}.{mac}"

    def parse_refresh_token(self, token: str) -> RefreshToken | None:
        """The grant and generation of a refresh token this deployment issued, else None."""
        if not isinstance(token, str) or len(token) > 512:
            return None
        parts = token.split(".")
        if len(parts) not in (3, 4) or parts[0] != REFRESH_PREFIX or not _is_grant_id(parts[1]):
            return None
        if len(parts) == 3:  # KV-era
            return RefreshToken(token, parts[1], 0)
        if not (parts[2].isascii() and parts[2].isdigit()):
            return None
        grant_id, generation = parts[1], int(parts[2])
        if generation < 1 or self.refresh_token_for(grant_id, generation) != token:
            return None
        return RefreshToken(token, grant_id, generation)

    def _tokens_for(
        self, grant_id: str, client_id: str, resource: str, scope: str, generation: int
    ) -> IssuedTokens:
        access = self._signer.sign(
            ACCESS_PREFIX,
            {
                "g": grant_id,
                "c": client_id,
                "aud": resource,
                "s": scope,
                "iat": self.now(),
                "exp": self.now() + self._access_ttl,
            },
        )
        refresh = self.refresh_token_for(grant_id, generation)
        return IssuedTokens(access, refresh, self._access_ttl, scope, grant_id)

    def _index_ttl(self) -> int:
        return max(MIN_TTL_SECONDS, self._refresh_ttl)

    async def load_grant(self, grant_id: str) -> Grant | None:
        stored = await self._kv.get(grant_key(grant_id))
        return Grant.from_json(stored) if stored else None

    # -- access tokens and revocation ----------------------------------------------------

    def read_access_token(self, token: str) -> AccessClaims | None:
        """Claims of a validly signed, unexpired access token (revocation checked separately)."""
        payload = self._signed_access.get(token)
        if payload is None:
            payload = self._signer.verify(ACCESS_PREFIX, token)
            if payload is None:
                return None
            if len(self._signed_access) >= SIGNED_ACCESS_CACHE_SIZE:
                self._signed_access.clear()
            self._signed_access[token] = payload
        if payload.get("exp", 0) < self.now():
            return None
        return AccessClaims(
            payload["g"], payload["c"], payload["aud"], payload["s"], payload["exp"]
        )

    async def grant_status(self, grant_id: str, *, use_cache: bool = True) -> str | None:
        """None (in force), REVOKED, or the name of the policy the grant was narrowed to. One
        KV read, saved for a few seconds per isolate unless the grant is revoked."""
        now = self._clock()
        cached = self._status_cache.get(grant_id)
        if use_cache and cached is not None and cached[1] > now:
            return cached[0]
        stored = await self._kv.get(revoked_key(grant_id))
        status = read_status(stored)
        if status != REVOKED:
            if len(self._status_cache) > 1000:
                self._status_cache.clear()
            self._status_cache[grant_id] = (status, now + REVOCATION_CACHE_SECONDS)
        return status

    async def grant_owner(self, token: str) -> tuple[str | None, str | None]:
        """(grant id, client id) of an access or refresh token, or (None, None)."""
        claims = self.read_access_token(token)
        if claims is not None:
            return claims.grant_id, claims.client_id
        parsed = self.parse_refresh_token(token)
        if parsed is None:
            return None, None
        if parsed.generation == 0:
            record = await self.load_grant(parsed.grant_id)
            if record is None or not record.matches_legacy_refresh(token, self.now()):
                return None, None
            return record.grant_id, record.client_id
        owner = await self._exact.grant_owner(parsed.grant_id)
        return (parsed.grant_id, owner) if owner else (None, None)

    async def revoke_grant(self, grant_id: str) -> None:
        """Revoke every token of a grant: exactly for refresh, via KV for access tokens."""
        await self._exact.revoke(grant_id)
        await self._forget(grant_id)

    async def _forget(self, grant_id: str) -> None:
        """After the exact state revoked a grant: the KV marker `/mcp` reads (kept for the
        access tokens' lifetime) and the grant's index entry goes."""
        self._status_cache.pop(grant_id, None)
        await self._kv.put(revoked_key(grant_id), "1", ttl=max(MIN_TTL_SECONDS, self._access_ttl))
        await self._kv.delete(grant_key(grant_id))


def read_status(stored: str | None) -> str | None:
    """A grant status from its KV value: a narrowing policy's name, else revoked (any other
    value, as every Worker before policies read it)."""
    if stored is None:
        return None
    if stored.startswith(NARROWED_PREFIX) and len(stored) > len(NARROWED_PREFIX):
        return stored[len(NARROWED_PREFIX) :]
    return REVOKED


def _is_grant_id(value: str) -> bool:
    """Grant ids are 32 lower-case hex digits (KV-era ones too)."""
    return len(value) == 32 and all(ch in "0123456789abcdef" for ch in value)
