"""Handlers: token verification, accounts and zones."""

from __future__ import annotations

from typing import Any

from .envelope import ApiError, Response, ok, paginate
from .model import ZONE_READ, Account, Zone
from .routing import Request, Route


def _verify_result(request: Request) -> Response:
    token = request.token
    assert token is not None
    if token.status != "active":
        return ok({"id": token.id, "status": token.status})
    return ok(
        {"id": token.id, "status": "active"},
        messages=[{"code": 10000, "message": "This API Token is valid and active", "type": None}],
    )


def verify_user_token(request: Request) -> Response:
    """GET /user/tokens/verify (user-owned tokens)."""
    return _verify_result(request)


def verify_account_token(request: Request, account_id: str) -> Response:
    """GET /accounts/{account_id}/tokens/verify (account-owned tokens)."""
    return _verify_result(request)


def account_to_api(account: Account) -> dict[str, Any]:
    """An account as ``GET /accounts`` describes it."""
    return {
        "id": account.id,
        "name": account.name,
        "type": account.type,
        "created_on": "2026-01-01T00:00:00Z",
        "settings": {"enforce_twofactor": False},
    }


def list_accounts(request: Request) -> Response:
    """GET /accounts: the accounts the token reaches (optionally filtered by ``name``)."""
    token = request.token
    assert token is not None
    accounts = [a for a in request.state.accounts.values() if token.reaches_account(a.id)]
    if name := request.query.get("name"):
        accounts = [a for a in accounts if a.name == name]
    items = [account_to_api(a) for a in accounts]
    return paginate(items, request.query, default_per_page=20, max_per_page=50)


def get_account(request: Request, account_id: str) -> Response:
    """GET /accounts/{account_id}."""
    return ok(account_to_api(request.state.account(account_id)))


def zone_to_api(zone: Zone, account_name: str) -> dict[str, Any]:
    """A zone as ``GET /zones`` describes it (all the fields the SDK requires)."""
    return {
        "id": zone.id,
        "name": zone.name,
        "status": zone.status,
        "paused": False,
        "type": "full",
        "development_mode": 0,
        "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
        "original_name_servers": [],
        "created_on": "2026-01-01T00:00:00Z",
        "modified_on": "2026-01-01T00:00:00Z",
        "activated_on": "2026-01-01T00:00:00Z",
        "account": {"id": zone.account_id, "name": account_name},
        "owner": {"id": None, "type": "user", "email": None},
        "meta": {"step": 2, "phishing_detected": False},
        "plan": {
            "id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
            "name": "Free Website",
            "price": 0,
            "currency": "USD",
            "frequency": "",
            "is_subscribed": False,
            "can_subscribe": False,
            "legacy_id": "free",
            "legacy_discount": False,
            "externally_managed": False,
        },
        "permissions": ["#worker:edit", "#zone:read"],
    }


def _name_filter(value: str, name: str) -> bool:
    for op in ("contains", "starts_with", "ends_with", "equal"):
        if value.startswith(op + ":"):
            needle = value[len(op) + 1 :]
            return {
                "contains": needle in name,
                "starts_with": name.startswith(needle),
                "ends_with": name.endswith(needle),
                "equal": name == needle,
            }[op]
    return name == value


def list_zones(request: Request) -> Response:
    """GET /zones?name=&account.id=: zones the token can read, filtered like Cloudflare."""
    token = request.token
    assert token is not None
    zones = [z for z in request.state.zones.values() if token.reaches_zone(z)]
    if not token.allows(ZONE_READ):
        zones = []
    if name := request.query.get("name"):
        zones = [z for z in zones if _name_filter(name, z.name)]
    if account_id := request.query.get("account.id"):
        zones = [z for z in zones if z.account_id == account_id]
    if status := request.query.get("status"):
        zones = [z for z in zones if z.status == status]
    items = [
        zone_to_api(
            z,
            request.state.accounts[z.account_id].name
            if z.account_id in request.state.accounts
            else "",
        )
        for z in zones
    ]
    return paginate(items, request.query, default_per_page=20, max_per_page=50)


def get_zone(request: Request, zone_id: str) -> Response:
    """GET /zones/{zone_id}."""
    zone = request.state.zone(zone_id)
    token = request.token
    assert token is not None
    if not token.reaches_zone(zone):
        raise ApiError(403, 10000, "Authentication error")
    account = request.state.accounts.get(zone.account_id)
    return ok(zone_to_api(zone, account.name if account else ""))


ROUTES = [
    Route("GET", "/user/tokens/verify", verify_user_token, auth="verify"),
    Route("GET", "/accounts/{account_id}/tokens/verify", verify_account_token, auth="verify"),
    Route("GET", "/accounts", list_accounts),
    Route("GET", "/accounts/{account_id}", get_account),
    Route("GET", "/zones", list_zones),
    Route("GET", "/zones/{zone_id}", get_zone, permission=ZONE_READ),
]
