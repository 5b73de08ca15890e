"""The fake's whole state: seeded records, lookups, and JSON persistence across restarts."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .envelope import ApiError
from .kvstore import KvStore, MemoryKvStore
from .model import (
    ALL_PERMISSIONS,
    Account,
    CustomDomain,
    DurableObjectNamespace,
    KvNamespace,
    Script,
    Token,
    WorkerRoute,
    Zone,
)

# Obviously fake identifiers and credentials used by the default seed.
ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
OTHER_ACCOUNT_ID = "fedcba9876543210fedcba9876543210"
ZONE_ID = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0"
ZONE_NAME = "example.com"
WORKERS_SUBDOMAIN = "fake-subdomain"
TOKEN = "FAKE-cf-token-full-access-000000000000000"


@dataclass
class Seed:
    """What a fresh fake contains."""

    accounts: list[Account]
    zones: list[Zone]
    tokens: list[Token]
    workers_subdomains: dict[str, str]  # account id -> workers.dev subdomain
    kv_namespaces: list[KvNamespace] = field(default_factory=list)


def default_seed() -> Seed:
    """One account with zone ``example.com``, a workers.dev subdomain and a full-access token.

    A second account exists that the default token cannot reach (cross-account checks).
    """
    return Seed(
        accounts=[
            Account(ACCOUNT_ID, "Fake Account"),
            Account(OTHER_ACCOUNT_ID, "Someone Else's Fake Account"),
        ],
        zones=[Zone(ZONE_ID, ZONE_NAME, ACCOUNT_ID)],
        tokens=[Token(TOKEN, "fake-token-id-full", set(ALL_PERMISSIONS), account_ids=[ACCOUNT_ID])],
        workers_subdomains={ACCOUNT_ID: WORKERS_SUBDOMAIN},
    )


_RECORD_TYPES = {
    cls.__name__: cls
    for cls in (
        Account,
        Zone,
        Token,
        KvNamespace,
        Script,
        CustomDomain,
        WorkerRoute,
        DurableObjectNamespace,
    )
}


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"__record__": type(value).__name__, **fields}
    if isinstance(value, bytes):
        return {"__b64__": base64.b64encode(value).decode()}
    if isinstance(value, set):
        return {"__set__": sorted(value)}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__b64__" in value:
        return base64.b64decode(value["__b64__"])
    if "__set__" in value:
        return set(value["__set__"])
    decoded = {k: _decode(v) for k, v in value.items() if k != "__record__"}
    if "__record__" in value:
        from . import model

        cls = _RECORD_TYPES.get(value["__record__"]) or getattr(model, value["__record__"])
        return cls(**decoded)
    return decoded


class FakeState:
    """Everything the fake API knows. Guard reads and writes with ``state.lock``."""

    def __init__(self, seed: Seed | None = None) -> None:
        seed = seed or default_seed()
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {a.id: a for a in seed.accounts}
        self.zones: dict[str, Zone] = {z.id: z for z in seed.zones}
        self.tokens: dict[str, Token] = {t.value: t for t in seed.tokens}
        self.workers_subdomains: dict[str, str] = dict(seed.workers_subdomains)
        self.kv_namespaces: dict[str, KvNamespace] = {n.id: n for n in seed.kv_namespaces}
        self.scripts: dict[str, Script] = {}  # "account_id/name" -> Script
        self.domains: dict[str, CustomDomain] = {}
        self.routes: dict[str, WorkerRoute] = {}
        self.staged_versions: dict[str, Script] = {}  # uploaded, not yet deployed
        self.durable_object_namespaces: dict[str, DurableObjectNamespace] = {}  # by id
        self.kv: KvStore = MemoryKvStore()  # where KV entries live (not persisted itself)

    # -- ids ---------------------------------------------------------------------------
    @staticmethod
    def new_id() -> str:
        """A fresh 32-hex identifier, shaped like Cloudflare's."""
        return uuid.uuid4().hex

    # -- lookups -------------------------------------------------------------------------
    def account(self, account_id: str) -> Account:
        """The account, or Cloudflare's error for an unknown one."""
        account = self.accounts.get(account_id)
        if account is None:
            raise ApiError(403, 10000, "Authentication error")
        return account

    def namespace(self, account_id: str, namespace_id: str) -> KvNamespace:
        """The KV namespace in this account, or a 404."""
        ns = self.kv_namespaces.get(namespace_id)
        if ns is None or ns.account_id != account_id:
            raise ApiError(404, 10013, "namespace not found")
        return ns

    def namespaces_in(self, account_id: str) -> list[KvNamespace]:
        """The account's KV namespaces, in creation order."""
        return [ns for ns in self.kv_namespaces.values() if ns.account_id == account_id]

    def script(self, account_id: str, name: str) -> Script:
        """The Worker, or Cloudflare's "does not exist" 404."""
        script = self.scripts.get(f"{account_id}/{name}")
        if script is None:
            raise ApiError(404, 10007, "This Worker does not exist on your account.")
        return script

    def find_script(self, account_id: str, name: str) -> Script | None:
        """The Worker or None."""
        return self.scripts.get(f"{account_id}/{name}")

    def put_script(self, script: Script) -> None:
        """Store (create or replace) a Worker."""
        self.scripts[f"{script.account_id}/{script.name}"] = script

    def delete_script(self, account_id: str, name: str) -> None:
        """Remove a Worker, the triggers pointing at it and the Durable Object namespaces it
        implements (their objects and storage go with them)."""
        self.scripts.pop(f"{account_id}/{name}", None)
        for ns in self.durable_objects_of(account_id, name):
            del self.durable_object_namespaces[ns.id]
        for domain_id, domain in list(self.domains.items()):
            if domain.account_id == account_id and domain.service == name:
                del self.domains[domain_id]
        for route_id, route in list(self.routes.items()):
            zone = self.zones.get(route.zone_id)
            if zone and zone.account_id == account_id and route.script == name:
                del self.routes[route_id]

    def durable_objects_of(self, account_id: str, script: str) -> list[DurableObjectNamespace]:
        """The Durable Object namespaces implemented by ``script``."""
        return [
            ns
            for ns in self.durable_object_namespaces.values()
            if ns.account_id == account_id and ns.script == script
        ]

    def durable_object_namespace(
        self, account_id: str, script: str, class_name: str
    ) -> DurableObjectNamespace | None:
        """The namespace of ``class_name`` implemented by ``script``, if it exists."""
        return next(
            (
                ns
                for ns in self.durable_objects_of(account_id, script)
                if ns.class_name == class_name
            ),
            None,
        )

    def scripts_in(self, account_id: str) -> list[Script]:
        """The account's Workers."""
        return [s for s in self.scripts.values() if s.account_id == account_id]

    def zone(self, zone_id: str) -> Zone:
        """The zone, or a 404 like Cloudflare's for an unknown zone id."""
        zone = self.zones.get(zone_id)
        if zone is None:
            raise ApiError(
                404,
                7003,
                f"Could not route to /zones/{zone_id}, perhaps your object identifier is invalid?",
            )
        return zone

    def zone_for_hostname(self, hostname: str, zones: Iterable[Zone]) -> Zone | None:
        """The zone whose name is the longest suffix of ``hostname``."""
        matches = [z for z in zones if hostname == z.name or hostname.endswith("." + z.name)]
        return max(matches, key=lambda z: len(z.name), default=None)

    # -- persistence -------------------------------------------------------------------
    def to_json(self) -> str:
        """Serialise everything (including stored secrets: fake values only)."""
        with self.lock:
            data = {
                name: _encode(getattr(self, name))
                for name in (
                    "accounts",
                    "zones",
                    "tokens",
                    "workers_subdomains",
                    "scripts",
                    "domains",
                    "routes",
                    "staged_versions",
                    "durable_object_namespaces",
                )
            }
            data["kv_namespaces"] = _encode(
                {
                    ns_id: dataclasses.replace(ns, entries=self.kv.entries(ns))
                    for ns_id, ns in self.kv_namespaces.items()
                }
            )
        return json.dumps(data, indent=1, sort_keys=True)

    def save(self, path: Path) -> None:
        """Write the state atomically to ``path``."""
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.to_json())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> FakeState:
        """Read a state written by :meth:`save`."""
        state = cls(Seed([], [], [], {}))
        data = json.loads(path.read_text())
        for name, value in data.items():
            setattr(state, name, _decode(value))
        return state
