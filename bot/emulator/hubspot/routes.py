"""URL routing: which handler serves a request, and which scopes its token needs.

Scopes are the private-app scope names from HubSpot's scopes reference
(`crm.objects.deals.read`, ...). Notes, like other engagements, are guarded by the
contacts scopes there; owners by `crm.objects.owners.read`; deal pipelines by the deals
read scope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.emulator.hubspot import handlers as h
from bot.emulator.hubspot.store import object_type

_SCOPE_OBJECT = {"deals": "deals", "companies": "companies", "contacts": "contacts"}


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: h.Handler
    write: bool = False
    search: bool = False
    scope_from: str = "type"  # path parameter naming the object type; "" for fixed scopes
    fixed_scope: str = ""

    def scope(self, params: dict[str, str]) -> str:
        if self.fixed_scope:
            return self.fixed_scope
        kind = object_type(params.get(self.scope_from, "")) or "deals"
        target = _SCOPE_OBJECT.get(kind, "contacts")  # notes: the engagement scopes
        return f"crm.objects.{target}.{'write' if self.write else 'read'}"


def _r(method: str, path: str, handler: h.Handler, **kwargs: object) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
    return Route(method, re.compile(f"^{regex}/?$"), handler, **kwargs)  # type: ignore[arg-type]


OBJECTS = "/crm/v3/objects/{type}"
ROUTES: tuple[Route, ...] = (
    _r("POST", f"{OBJECTS}/search", h.search_objects, search=True),
    _r("POST", f"{OBJECTS}/batch/read", h.batch_read),
    _r("GET", f"{OBJECTS}/{{id}}/associations/{{to}}", h.list_associations_v3),
    _r("GET", "/crm/v4/objects/{type}/{id}/associations/{to}", h.list_associations_v4),
    _r("GET", f"{OBJECTS}/{{id}}", h.get_object),
    _r("PATCH", f"{OBJECTS}/{{id}}", h.update_object, write=True),
    _r("DELETE", f"{OBJECTS}/{{id}}", h.archive_object, write=True),
    _r("POST", OBJECTS, h.create_object, write=True),
    _r("GET", "/crm/v3/owners", h.list_owners, fixed_scope="crm.objects.owners.read"),
    _r("GET", "/crm/v3/owners/{id}", h.get_owner, fixed_scope="crm.objects.owners.read"),
    _r("GET", "/crm/v3/pipelines/{type}", h.list_pipelines),
    _r("GET", "/crm/v3/pipelines/{type}/{pipeline}", h.get_pipeline),
)

ALL_SCOPES = frozenset(
    {f"crm.objects.{o}.{rw}" for o in _SCOPE_OBJECT for rw in ("read", "write")}
    | {"crm.objects.owners.read"}
)


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        found = route.pattern.match(path)
        if found and route.method == method:
            return route, found.groupdict()
    return None


def path_known(path: str) -> bool:
    """True when some route serves this path with another method (a 405, not a 404)."""
    return any(route.pattern.match(path) for route in ROUTES)
