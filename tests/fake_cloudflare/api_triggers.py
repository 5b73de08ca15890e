"""Handlers: Worker custom domains and zone routes (SDK endpoints and wrangler's variants)."""

from __future__ import annotations

from typing import Any

from .envelope import ApiError, Response, ok
from .model import (
    WORKERS_ROUTES_EDIT,
    WORKERS_ROUTES_READ,
    ZONE_READ,
    CustomDomain,
    WorkerRoute,
    Zone,
)
from .routing import Request, Route


def _reachable_zones(request: Request, account_id: str) -> list[Zone]:
    token = request.token
    assert token is not None
    return [
        z
        for z in request.state.zones.values()
        if z.account_id == account_id and token.reaches_zone(z)
    ]


def _domain_zone(
    request: Request, account_id: str, hostname: str, zone_id: Any = None, zone_name: Any = None
) -> Zone:
    zones = _reachable_zones(request, account_id)
    if zone_id:
        zone = next((z for z in zones if z.id == zone_id), None)
    elif zone_name:
        zone = next((z for z in zones if z.name == zone_name), None)
    else:
        zone = request.state.zone_for_hostname(hostname, zones)
    if zone is None:
        raise ApiError(
            404,
            100109,
            f"No zone found for hostname '{hostname}' "
            "(zone_id/zone_name unknown or not reachable by this token)",
        )
    if not (hostname == zone.name or hostname.endswith("." + zone.name)):
        raise ApiError(400, 100101, f"Hostname '{hostname}' is not in zone '{zone.name}'")
    token = request.token
    assert token is not None
    if not token.allows(ZONE_READ):
        raise ApiError(403, 10000, "Authentication error")
    return zone


def attach_domain(
    request: Request,
    account_id: str,
    hostname: str,
    service: str,
    environment: str = "production",
    zone_id: Any = None,
    zone_name: Any = None,
) -> CustomDomain:
    """Attach (or re-attach, idempotently) ``hostname`` to the Worker ``service``."""
    if not isinstance(hostname, str) or not hostname or "/" in hostname or "*" in hostname:
        raise ApiError(400, 100102, f"Invalid hostname {hostname!r}")
    request.state.script(account_id, service)
    zone = _domain_zone(request, account_id, hostname.lower(), zone_id, zone_name)
    existing = next(
        (
            d
            for d in request.state.domains.values()
            if d.account_id == account_id and d.hostname == hostname.lower()
        ),
        None,
    )
    if existing is not None and existing.service != service:
        raise ApiError(
            409, 100117, f"Hostname '{hostname}' is already attached to Worker '{existing.service}'"
        )
    if existing is not None:
        return existing
    domain = CustomDomain(
        request.state.new_id(),
        account_id,
        hostname.lower(),
        service,
        zone.id,
        zone.name,
        environment,
        request.state.new_id(),
    )
    request.state.domains[domain.id] = domain
    return domain


def put_domain(request: Request, account_id: str) -> Response:
    """PUT /accounts/{id}/workers/domains ``{hostname, service, zone_id | zone_name}``."""
    request.state.account(account_id)
    body = request.json_object()
    service = body.get("service")
    if not isinstance(service, str) or not service:
        raise ApiError(400, 100102, "'service' (the Worker name) is required")
    domain = attach_domain(
        request,
        account_id,
        body.get("hostname"),
        service,
        body.get("environment") or "production",
        body.get("zone_id"),
        body.get("zone_name"),
    )
    return ok(domain.to_api())


def list_domains(request: Request, account_id: str) -> Response:
    """GET /accounts/{id}/workers/domains (filters: hostname, service, zone_id, zone_name,
    environment)."""
    request.state.account(account_id)
    items = [d.to_api() for d in request.state.domains.values() if d.account_id == account_id]
    for key in ("hostname", "service", "zone_id", "zone_name", "environment"):
        if value := request.query.get(key):
            items = [d for d in items if d[key] == value]
    return ok(items)


def _domain(request: Request, account_id: str, domain_id: str) -> CustomDomain:
    domain = request.state.domains.get(domain_id)
    if domain is None or domain.account_id != account_id:
        raise ApiError(404, 100111, "Custom domain not found")
    return domain


def get_domain(request: Request, account_id: str, domain_id: str) -> Response:
    """GET /accounts/{id}/workers/domains/{domain_id}."""
    return ok(_domain(request, account_id, domain_id).to_api())


def delete_domain(request: Request, account_id: str, domain_id: str) -> Response:
    """DELETE /accounts/{id}/workers/domains/{domain_id}."""
    _domain(request, account_id, domain_id)
    del request.state.domains[domain_id]
    return ok(None)


def put_domain_records(request: Request, account_id: str, script_name: str) -> Response:
    """PUT .../scripts/{name}/domains/records (wrangler's custom-domain call)."""
    request.state.account(account_id)
    origins = request.json_object().get("origins")
    if not isinstance(origins, list):
        raise ApiError(400, 100102, "'origins' must be a list")
    attached = [
        attach_domain(
            request,
            account_id,
            o.get("hostname"),
            script_name,
            zone_id=o.get("zone_id"),
            zone_name=o.get("zone_name"),
        ).to_api()
        for o in origins
        if isinstance(o, dict)
    ]
    return ok(attached)


def _route_zone_check(zone: Zone, pattern: Any) -> str:
    if not isinstance(pattern, str) or not pattern:
        raise ApiError(400, 10022, "'pattern' is required")
    host = pattern.split("/", 1)[0].lstrip("*").lstrip(".")
    if not (host == zone.name or host.endswith("." + zone.name)):
        raise ApiError(400, 10022, f"Route pattern '{pattern}' does not match zone '{zone.name}'")
    return pattern


def _new_route(request: Request, zone: Zone, pattern: Any, script: Any) -> WorkerRoute:
    pattern = _route_zone_check(zone, pattern)
    if any(r.zone_id == zone.id and r.pattern == pattern for r in request.state.routes.values()):
        raise ApiError(409, 10020, f"A route with the pattern '{pattern}' already exists")
    if script is not None:
        request.state.script(zone.account_id, script)
    route = WorkerRoute(request.state.new_id(), zone.id, pattern, script)
    request.state.routes[route.id] = route
    return route


def create_route(request: Request, zone_id: str) -> Response:
    """POST /zones/{zone_id}/workers/routes ``{pattern, script}``."""
    zone = request.state.zone(zone_id)
    body = request.json_object()
    return ok(_new_route(request, zone, body.get("pattern"), body.get("script")).to_api())


def list_routes(request: Request, zone_id: str) -> Response:
    """GET /zones/{zone_id}/workers/routes."""
    request.state.zone(zone_id)
    return ok([r.to_api() for r in request.state.routes.values() if r.zone_id == zone_id])


def _route(request: Request, zone_id: str, route_id: str) -> WorkerRoute:
    route = request.state.routes.get(route_id)
    if route is None or route.zone_id != zone_id:
        raise ApiError(404, 10005, "Route not found")
    return route


def get_route(request: Request, zone_id: str, route_id: str) -> Response:
    """GET /zones/{zone_id}/workers/routes/{route_id}."""
    return ok(_route(request, zone_id, route_id).to_api())


def update_route(request: Request, zone_id: str, route_id: str) -> Response:
    """PUT /zones/{zone_id}/workers/routes/{route_id} ``{pattern, script}``."""
    route = _route(request, zone_id, route_id)
    body = request.json_object()
    zone = request.state.zone(zone_id)
    route.pattern = _route_zone_check(zone, body.get("pattern"))
    if body.get("script") is not None:
        request.state.script(zone.account_id, body["script"])
    route.script = body.get("script")
    return ok(route.to_api())


def delete_route(request: Request, zone_id: str, route_id: str) -> Response:
    """DELETE /zones/{zone_id}/workers/routes/{route_id}."""
    _route(request, zone_id, route_id)
    del request.state.routes[route_id]
    return ok({"id": route_id})


def _script_routes(request: Request, account_id: str, script_name: str) -> list[dict]:
    out = []
    for route in request.state.routes.values():
        zone = request.state.zones.get(route.zone_id)
        if zone and zone.account_id == account_id and route.script == script_name:
            out.append({**route.to_api(), "zone_id": zone.id, "zone_name": zone.name})
    return out


def get_script_routes(request: Request, account_id: str, script_name: str) -> Response:
    """GET .../scripts/{name}/routes."""
    request.state.script(account_id, script_name)
    return ok(_script_routes(request, account_id, script_name))


def put_script_routes(request: Request, account_id: str, script_name: str) -> Response:
    """PUT .../scripts/{name}/routes ``[{pattern, zone_name | zone_id}]`` (wrangler): replaces
    the Worker's zone routes."""
    request.state.script(account_id, script_name)
    wanted = request.json()
    if not isinstance(wanted, list):
        raise ApiError(400, 10026, "Request body must be a JSON list of routes")
    zones = _reachable_zones(request, account_id)
    resolved: list[tuple[Zone, str]] = []
    for item in wanted:
        if not isinstance(item, dict):
            raise ApiError(400, 10026, "each route must be an object")
        pattern = item.get("pattern")
        zone = next((z for z in zones if z.id == item.get("zone_id")), None) or next(
            (z for z in zones if z.name == item.get("zone_name")), None
        )
        if zone is None and isinstance(pattern, str):
            zone = request.state.zone_for_hostname(pattern.split("/", 1)[0].lstrip("*."), zones)
        if zone is None:
            raise ApiError(404, 10022, f"No zone found for route '{pattern}'")
        resolved.append((zone, _route_zone_check(zone, pattern)))
    for route_id, route in list(request.state.routes.items()):
        zone = request.state.zones.get(route.zone_id)
        if zone and zone.account_id == account_id and route.script == script_name:
            del request.state.routes[route_id]
    for zone, pattern in resolved:
        _new_route(request, zone, pattern, script_name)
    return ok(_script_routes(request, account_id, script_name))


_D = "/accounts/{account_id}/workers/domains"
_S = "/accounts/{account_id}/workers/scripts/{script_name}"
_R = "/zones/{zone_id}/workers/routes"
ROUTES = [
    Route("PUT", _D, put_domain, WORKERS_ROUTES_EDIT, mutates=True),
    Route("GET", _D, list_domains, WORKERS_ROUTES_READ),
    Route("GET", _D + "/{domain_id}", get_domain, WORKERS_ROUTES_READ),
    Route("DELETE", _D + "/{domain_id}", delete_domain, WORKERS_ROUTES_EDIT, mutates=True),
    Route("PUT", _S + "/domains/records", put_domain_records, WORKERS_ROUTES_EDIT, mutates=True),
    Route("GET", _S + "/routes", get_script_routes, WORKERS_ROUTES_READ),
    Route("PUT", _S + "/routes", put_script_routes, WORKERS_ROUTES_EDIT, mutates=True),
    Route("POST", _R, create_route, WORKERS_ROUTES_EDIT, mutates=True),
    Route("GET", _R, list_routes, WORKERS_ROUTES_READ),
    Route("GET", _R + "/{route_id}", get_route, WORKERS_ROUTES_READ),
    Route("PUT", _R + "/{route_id}", update_route, WORKERS_ROUTES_EDIT, mutates=True),
    Route("DELETE", _R + "/{route_id}", delete_route, WORKERS_ROUTES_EDIT, mutates=True),
]
