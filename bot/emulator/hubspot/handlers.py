"""Endpoint handlers: one function per route, each taking the portal and a `Request`.

Shapes per endpoint (HubSpot API reference, CRM v3/v4, as the official client's models
read them): GET an object -> `SimplePublicObjectWithAssociations`; batch read ->
`BatchResponseSimplePublicObject` (207 `...WithErrors` when some ids are unknown);
create -> 201 `SimplePublicObject`; v3 associations -> `{results: [{id, type}]}`; v4
associations -> `{results: [{toObjectId, associationTypes: [{category, typeId, label}]}]}`;
owners -> `PublicOwner`; pipelines -> `CollectionResponsePipelineNoPaging`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.emulator.hubspot.search import SearchError, search
from bot.emulator.hubspot.shapes import iso_ms, not_found, parse_time_ms, validation_error
from bot.emulator.hubspot.store import ASSOC_TYPES, CrmObject, Portal, object_json, object_type

Answer = tuple[int, dict[str, Any] | None]
BATCH_MAX = 100
V4_PAGE = 500


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]  # path parameters from the route
    query: dict[str, list[str]] = field(default_factory=dict)
    body: Any = None

    def list_param(self, name: str) -> list[str]:
        """`?properties=a,b&properties=c`: HubSpot takes repeated and comma-separated."""
        return [v for raw in self.query.get(name, []) for v in raw.split(",") if v]

    def param(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[-1] if values else default


class HandlerError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message"))
        self.status, self.body = status, body


def _kind(segment: str) -> str:
    kind = object_type(segment)
    if kind is None:
        raise HandlerError(400, validation_error(f"Unable to infer object type from: {segment}"))
    return kind


def _record(portal: Portal, kind: str, object_id: str) -> CrmObject:
    obj = portal.get(kind, object_id)
    if obj is None:
        raise HandlerError(404, not_found(context={"id": [object_id]}))
    return obj


def _v3_associations(portal: Portal, obj: CrmObject, targets: list[str]) -> dict[str, list]:
    """`associations` on a GET: one `{id, type}` per association type, as HubSpot lists
    a primary company twice (`deal_to_company` and `deal_to_company_unlabeled`)."""
    found: dict[str, list[dict[str, str]]] = {}
    for segment in targets:
        kind = object_type(segment)
        if kind is None:
            continue  # unknown association types are ignored, per the API reference
        found[kind] = [
            {"id": to_id, "type": ASSOC_TYPES[t].v3_name}
            for to_id, types in portal.associated(obj.type, obj.id, kind)
            for t in sorted(types)
        ]
    return found


def get_object(portal: Portal, req: Request) -> Answer:
    kind = _kind(req.params["type"])
    obj = _record(portal, kind, req.params["id"])
    assoc = _v3_associations(portal, obj, req.list_param("associations"))
    return 200, object_json(obj, req.list_param("properties"), associations=assoc)


def batch_read(portal: Portal, req: Request) -> Answer:
    kind = _kind(req.params["type"])
    body = req.body if isinstance(req.body, dict) else {}
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or len(inputs) > BATCH_MAX:
        raise HandlerError(400, validation_error(f"inputs must be a list of at most {BATCH_MAX}"))
    started = iso_ms(portal.now_ms())
    ids = [str(i.get("id")) for i in inputs if isinstance(i, dict)]
    found = [o for o in (portal.get(kind, i) for i in ids) if o is not None]
    answer: dict[str, Any] = {
        "status": "COMPLETE",
        "results": [object_json(o, body.get("properties")) for o in found],
        "startedAt": started,
        "completedAt": iso_ms(portal.now_ms()),
    }
    missing = [i for i in ids if portal.get(kind, i) is None]
    if not missing:
        return 200, answer
    singular = {"companies": "COMPANY", "contacts": "CONTACT"}.get(kind, kind.upper()[:-1])
    answer["numErrors"] = 1
    answer["errors"] = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": f"Could not get some {singular} objects, they may be deleted or not "
            "exist. Check that ids are valid.",
            "context": {"ids": missing},
        }
    ]
    return 207, answer


def _spec_type(obj: CrmObject, spec: Any) -> int:
    """The association type id of one `{associationCategory, associationTypeId}`."""
    try:
        type_id = int(spec.get("associationTypeId"))
        category = spec.get("associationCategory")
    except (AttributeError, TypeError, ValueError):
        type_id, category = -1, None
    kind = ASSOC_TYPES.get(type_id)
    if kind is None or kind.from_type != obj.type or category != "HUBSPOT_DEFINED":
        raise HandlerError(400, validation_error(f"invalid association type {spec!r}"))
    return type_id


def _create_associations(portal: Portal, obj: CrmObject, items: Any) -> list[tuple]:
    """Check the v3 create shape `[{to: {id}, types: [{associationCategory,
    associationTypeId}]}]` fully before anything is stored."""
    links: list[tuple[str, str, int]] = []
    for item in items or []:
        if not isinstance(item, dict) or not isinstance(item.get("to"), dict):
            raise HandlerError(400, validation_error("an association needs to.id and types"))
        to_id = str(item["to"].get("id", ""))
        for spec in item.get("types") or []:
            kind = ASSOC_TYPES[_spec_type(obj, spec)]
            if portal.get(kind.to_type, to_id) is None:
                raise HandlerError(
                    400, validation_error(f"{kind.to_type[:-1]} {to_id} does not exist")
                )
            links.append((kind.to_type, to_id, kind.type_id))
    return links


def create_object(portal: Portal, req: Request) -> Answer:
    kind = _kind(req.params["type"])
    body = req.body if isinstance(req.body, dict) else {}
    props = dict(body.get("properties") or {})
    if kind == "notes":
        if not props.get("hs_timestamp"):
            raise HandlerError(400, validation_error("Property hs_timestamp is required"))
        try:
            props["hs_timestamp"] = iso_ms(parse_time_ms(props["hs_timestamp"]))
        except ValueError as exc:
            raise HandlerError(400, validation_error("hs_timestamp is not a date")) from exc
    draft = CrmObject("pending", kind, props, 0, 0)
    links = _create_associations(portal, draft, body.get("associations"))
    obj = portal.add(kind, props)
    for to_type, to_id, type_id in links:
        portal.associate(kind, obj.id, to_type, to_id, type_id)
    return 201, object_json(obj, list(props))


def update_object(portal: Portal, req: Request) -> Answer:
    kind = _kind(req.params["type"])
    _record(portal, kind, req.params["id"])
    props = (req.body or {}).get("properties") if isinstance(req.body, dict) else None
    obj = portal.update(kind, req.params["id"], dict(props or {}))
    return 200, object_json(obj, list(props or {}))


def archive_object(portal: Portal, req: Request) -> Answer:
    kind = _kind(req.params["type"])
    portal.archive(kind, _record(portal, kind, req.params["id"]).id)
    return 204, None


def _page(items: list[Any], req: Request, default: int) -> tuple[list[Any], dict | None]:
    try:
        offset = int(req.param("after", "0") or 0)
        limit = int(req.param("limit", str(default)) or default)
    except ValueError as exc:
        raise HandlerError(400, validation_error("after and limit must be integers")) from exc
    paging = None
    if offset + limit < len(items):
        paging = {"next": {"after": str(offset + limit), "link": f"?after={offset + limit}"}}
    return items[offset : offset + limit], paging


def list_associations_v3(portal: Portal, req: Request) -> Answer:
    kind = _kind(req.params["type"])
    obj = _record(portal, kind, req.params["id"])
    results = _v3_associations(portal, obj, [req.params["to"]]).get(_kind(req.params["to"]), [])
    page, paging = _page(results, req, V4_PAGE)
    return 200, {"results": page, **({"paging": paging} if paging else {})}


def list_associations_v4(portal: Portal, req: Request) -> Answer:
    kind, to_kind = _kind(req.params["type"]), _kind(req.params["to"])
    obj = _record(portal, kind, req.params["id"])
    results = [
        {
            "toObjectId": int(to_id) if to_id.isdigit() else to_id,
            "associationTypes": [
                {"category": "HUBSPOT_DEFINED", "typeId": t, "label": ASSOC_TYPES[t].label}
                for t in sorted(types)
            ],
        }
        for to_id, types in portal.associated(kind, obj.id, to_kind)
    ]
    page, paging = _page(results, req, V4_PAGE)
    return 200, {"results": page, **({"paging": paging} if paging else {})}


def search_objects(portal: Portal, req: Request) -> Answer:
    kind = _kind(req.params["type"])
    if not isinstance(req.body, dict):
        raise HandlerError(400, validation_error("the search request must be a JSON object"))
    try:
        return 200, search(portal, kind, req.body)
    except SearchError as exc:
        raise HandlerError(400, exc.body) from exc


def get_owner(portal: Portal, req: Request) -> Answer:
    wanted, by = req.params["id"], req.param("idProperty", "id")
    for owner in portal.owners.values():
        if str(owner.get("userId" if by == "userId" else "id")) == wanted:
            return 200, copy.deepcopy(owner)
    raise HandlerError(404, not_found(f"Owner {wanted} not found"))


def list_owners(portal: Portal, req: Request) -> Answer:
    email = req.param("email").lower()
    owners = [o for o in portal.owners.values() if not email or o["email"].lower() == email]
    page, paging = _page(owners, req, 100)
    return 200, {"results": copy.deepcopy(page), **({"paging": paging} if paging else {})}


def list_pipelines(portal: Portal, req: Request) -> Answer:
    if _kind(req.params["type"]) != "deals":
        return 200, {"results": []}
    return 200, {"results": copy.deepcopy(portal.pipelines)}


def get_pipeline(portal: Portal, req: Request) -> Answer:
    _kind(req.params["type"])
    for pipeline in portal.pipelines:
        if pipeline["id"] == req.params["pipeline"]:
            return 200, copy.deepcopy(pipeline)
    raise HandlerError(404, not_found(f"Pipeline {req.params['pipeline']} not found"))


Handler = Callable[[Portal, Request], Answer]
