"""`POST /crm/v3/objects/{type}/search`: filterGroups, sorts, query, properties, paging.

Limits are the ones HubSpot's "Search the CRM" guide lists: at most 200 records a page
(more is a 400, not a silent cap), up to 10,000 results reachable through paging (asking
for a page beyond that is a 400), 5 filterGroups, 10 filters a group and 25 in all (the
August 2024 changelog), and one sort. Filters in a group are ANDed, groups are ORed.
Datetime values may be epoch milliseconds or ISO 8601, as HubSpot accepts both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.emulator.hubspot.shapes import parse_time_ms, validation_error
from bot.emulator.hubspot.store import CrmObject, Portal, object_json

DEFAULT_LIMIT = 10
MAX_LIMIT = 200
MAX_RESULTS = 10_000
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 10
MAX_FILTERS = 25

DATE_PROPERTIES = frozenset(
    {"createdate", "closedate", "hs_lastmodifieddate", "lastmodifieddate", "hs_createdate"}
    | {"hs_timestamp"}
)
NUMBER_PROPERTIES = frozenset({"amount", "hs_object_id", "hubspot_owner_id"})
QUERY_PROPERTIES = {
    "deals": ("dealname",),
    "companies": ("name", "domain", "website"),
    "contacts": ("firstname", "lastname", "email", "phone", "company"),
    "notes": ("hs_note_body",),
}


class SearchError(Exception):
    """A request HubSpot answers with 400 VALIDATION_ERROR."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.body = validation_error(message)


def _key(name: str, value: Any) -> Any:
    """Comparable form of a property value: millis for dates, floats for numbers."""
    if value is None or value == "":
        return None
    try:
        if name in DATE_PROPERTIES:
            return parse_time_ms(value)
        if name in NUMBER_PROPERTIES:
            return float(value)
    except ValueError as exc:
        raise SearchError(f"{value!r} is not a valid value for {name}") from exc
    return str(value).lower()


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda actual, wanted: actual is not None and op(actual, wanted)


_BINARY: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": lambda a, w: a == w,
    "NEQ": lambda a, w: a != w,
    "LT": _ordered(lambda a, w: a < w),
    "LTE": _ordered(lambda a, w: a <= w),
    "GT": _ordered(lambda a, w: a > w),
    "GTE": _ordered(lambda a, w: a >= w),
}
OPERATORS = frozenset(
    {*_BINARY, "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY"}
    | {"CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
)


def _matches(obj: CrmObject, flt: dict[str, Any]) -> bool:
    name, op = flt.get("propertyName"), flt.get("operator")
    if not isinstance(name, str) or op not in OPERATORS:
        raise SearchError(f"filter needs a propertyName and one of {sorted(OPERATORS)}")
    actual = _key(name, obj.properties.get(name))
    if op in _BINARY:
        return _BINARY[op](actual, _key(name, flt.get("value")))
    if op == "BETWEEN":
        low, high = _key(name, flt.get("value")), _key(name, flt.get("highValue"))
        return actual is not None and low <= actual <= high
    if op in ("IN", "NOT_IN"):
        found = actual in {_key(name, v) for v in flt.get("values") or []}
        return found if op == "IN" else not found
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        return (actual is not None) == (op == "HAS_PROPERTY")
    token = str(flt.get("value") or "").lower().strip("*")
    has = actual is not None and token in str(actual).split()
    return has if op == "CONTAINS_TOKEN" else not has


def _check_groups(groups: Any) -> list[list[dict[str, Any]]]:
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise SearchError("filterGroups must be a list of objects")
    filters = [g.get("filters") or [] for g in groups]
    if len(groups) > MAX_GROUPS:
        raise SearchError(f"at most {MAX_GROUPS} filterGroups are allowed")
    if any(len(f) > MAX_FILTERS_PER_GROUP for f in filters):
        raise SearchError(f"at most {MAX_FILTERS_PER_GROUP} filters per filterGroup are allowed")
    if sum(len(f) for f in filters) > MAX_FILTERS:
        raise SearchError(f"at most {MAX_FILTERS} filters are allowed in total")
    return filters


def _page_bounds(request: dict[str, Any]) -> tuple[int, int]:
    try:
        limit = int(request.get("limit", DEFAULT_LIMIT))
        offset = int(request.get("after") or 0)
    except (TypeError, ValueError) as exc:
        raise SearchError("limit and after must be integers") from exc
    if limit < 0 or limit > MAX_LIMIT:
        raise SearchError(f"limit must be between 0 and {MAX_LIMIT}, was {limit}")
    if offset < 0 or offset >= MAX_RESULTS:
        raise SearchError(f"after must be below {MAX_RESULTS}: search results are capped there")
    return limit, offset


def _sort_key(sorts: Any) -> tuple[str, bool] | None:
    if not sorts:
        return None
    if not isinstance(sorts, list) or len(sorts) > 1:
        raise SearchError("sorts takes at most one sort")
    sort = sorts[0]
    if isinstance(sort, str):
        return sort.lstrip("-"), sort.startswith("-")
    if isinstance(sort, dict) and isinstance(sort.get("propertyName"), str):
        return sort["propertyName"], str(sort.get("direction", "ASCENDING")) == "DESCENDING"
    raise SearchError("a sort is a propertyName and a direction")


def _order(found: list[CrmObject], sort: tuple[str, bool] | None) -> list[CrmObject]:
    found.sort(key=lambda o: int(o.id) if o.id.isdigit() else o.id)
    if sort is None:
        return found
    name, descending = sort
    present = [o for o in found if _key(name, o.properties.get(name)) is not None]
    missing = [o for o in found if _key(name, o.properties.get(name)) is None]
    present.sort(key=lambda o: _key(name, o.properties.get(name)), reverse=descending)
    return present + missing


def _query_match(obj: CrmObject, query: str) -> bool:
    words = query.lower().split()
    fields = " ".join(str(obj.properties.get(p) or "") for p in QUERY_PROPERTIES[obj.type])
    return all(w in fields.lower() for w in words)


def search(portal: Portal, kind: str, request: dict[str, Any]) -> dict[str, Any]:
    """Run one search against the portal (the caller holds its lock)."""
    groups = _check_groups(request.get("filterGroups") or [])
    limit, offset = _page_bounds(request)
    sort = _sort_key(request.get("sorts"))
    query = str(request.get("query") or "")
    found = [
        o
        for o in portal.searchable(kind)
        if (not groups or any(all(_matches(o, f) for f in g) for g in groups))
        and (not query or _query_match(o, query))
    ]
    ordered = _order(found, sort)
    page = ordered[offset : offset + limit]
    body: dict[str, Any] = {
        "total": len(ordered),
        "results": [object_json(o, request.get("properties")) for o in page],
    }
    if offset + limit < len(ordered) and offset + limit < MAX_RESULTS:
        body["paging"] = {"next": {"after": str(offset + limit)}}
    return body
