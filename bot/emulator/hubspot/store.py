"""The fake portal's state: CRM records, their associations, owners and pipelines.

Record shapes follow HubSpot's CRM objects guide (v3): every property value is a string
(or null), `createdAt`/`updatedAt` are ISO timestamps mirrored by `createdate` and
`hs_lastmodifieddate` (`lastmodifieddate` for contacts), and `hs_object_id` repeats the
id. Association type ids are HubSpot-defined ones from the associations v4 guide's
"Association type id values" table (note→deal 214, deal→company 341, primary 5, ...).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.emulator.hubspot.shapes import default_pipelines, iso_ms

# Path segment -> (objectTypeId, singular). Paths accept any of the three spellings.
OBJECT_TYPES: dict[str, tuple[str, str]] = {
    "contacts": ("0-1", "contact"),
    "companies": ("0-2", "company"),
    "deals": ("0-3", "deal"),
    "notes": ("0-46", "note"),
}
_ALIASES = {
    alias: plural
    for plural, (type_id, singular) in OBJECT_TYPES.items()
    for alias in (plural, type_id, singular)
}

# What GET and search return when no `properties` are asked for (the CRM objects guide).
DEFAULT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "contacts": (
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ),
    "notes": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
}

# (from, to) -> (unlabeled typeId, v3 name, primary typeId or None, primary v3 name).
_PAIRS: dict[tuple[str, str], tuple[int, str, int | None, str]] = {
    ("deals", "companies"): (341, "deal_to_company_unlabeled", 5, "deal_to_company"),
    ("companies", "deals"): (342, "company_to_deal_unlabeled", 6, "company_to_deal"),
    ("deals", "contacts"): (3, "deal_to_contact", None, ""),
    ("contacts", "deals"): (4, "contact_to_deal", None, ""),
    ("contacts", "companies"): (279, "contact_to_company_unlabeled", 1, "contact_to_company"),
    ("companies", "contacts"): (280, "company_to_contact_unlabeled", 2, "company_to_contact"),
    ("notes", "deals"): (214, "note_to_deal", None, ""),
    ("deals", "notes"): (213, "deal_to_note", None, ""),
    ("notes", "contacts"): (202, "note_to_contact", None, ""),
    ("contacts", "notes"): (201, "contact_to_note", None, ""),
    ("notes", "companies"): (190, "note_to_company", None, ""),
    ("companies", "notes"): (189, "company_to_note", None, ""),
}


@dataclass(frozen=True)
class AssocType:
    type_id: int
    from_type: str
    to_type: str
    v3_name: str
    label: str | None  # the v4 label: "Primary" for primary associations, else null


def _assoc_types() -> dict[int, AssocType]:
    table: dict[int, AssocType] = {}
    for (src, dst), (plain, plain_name, primary, primary_name) in _PAIRS.items():
        table[plain] = AssocType(plain, src, dst, plain_name, None)
        if primary is not None:
            table[primary] = AssocType(primary, src, dst, primary_name, "Primary")
    return table


ASSOC_TYPES = _assoc_types()


def inverse_type(type_id: int) -> int:
    """The same association seen from the other side (214 note→deal is 213 deal→note)."""
    kind = ASSOC_TYPES[type_id]
    plain, _, primary, _ = _PAIRS[(kind.to_type, kind.from_type)]
    return primary if kind.label == "Primary" and primary is not None else plain


def object_type(segment: str) -> str | None:
    """`deals`, `deal` or `0-3` -> `deals`; None for types the fake does not hold."""
    return _ALIASES.get(segment.lower() if not segment[:1].isdigit() else segment)


@dataclass
class CrmObject:
    id: str
    type: str
    properties: dict[str, str | None]
    created_ms: int
    updated_ms: int
    archived: bool = False


@dataclass
class Portal:
    """One HubSpot account. `clock` returns epoch milliseconds; modification times are
    made strictly increasing so `hs_lastmodifieddate > cursor` polls never miss a write."""

    portal_id: int = 62515
    clock: Callable[[], int] = field(default=lambda: int(time.time() * 1000))
    lock: threading.RLock = field(default_factory=threading.RLock)
    objects: dict[str, dict[str, CrmObject]] = field(
        default_factory=lambda: {t: {} for t in OBJECT_TYPES}
    )
    # (from_type, from_id, to_type) -> {to_id: {typeId, ...}}, in association order
    edges: dict[tuple[str, str, str], dict[str, set[int]]] = field(default_factory=dict)
    owners: dict[str, dict[str, Any]] = field(default_factory=dict)
    pipelines: list[dict[str, Any]] = field(default_factory=default_pipelines)
    # Search reads an index that trails writes by `index_lag_ms` (HubSpot's is eventually
    # consistent: a record just written may be missing, or stale, in search for seconds).
    index_lag_ms: int = 0
    _index: dict[tuple[str, str], list[tuple[int, CrmObject]]] = field(default_factory=dict)
    _next_id: int = 10_000_000_001
    _last_ms: int = 0

    def now_ms(self) -> int:
        now = max(self.clock(), self._last_ms + 1)
        self._last_ms = now
        return now

    def new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    # records ---------------------------------------------------------------------------

    def add(
        self,
        kind: str,
        properties: dict[str, Any],
        *,
        object_id: str | None = None,
        created_ms: int | None = None,
        modified_ms: int | None = None,
    ) -> CrmObject:
        object_id = object_id or self.new_id()
        created = created_ms if created_ms is not None else self.now_ms()
        modified = modified_ms if modified_ms is not None else created
        self._last_ms = max(self._last_ms, modified)
        props = {k: None if v is None else str(v) for k, v in properties.items()}
        obj = CrmObject(object_id, kind, props, created, modified)
        obj.properties.update(self._stamps(obj))
        self.objects[kind][object_id] = obj
        self._reindex(obj)
        return obj

    def update(
        self, kind: str, object_id: str, properties: dict[str, Any], *, at_ms: int | None = None
    ) -> CrmObject:
        obj = self.objects[kind][object_id]
        obj.properties.update({k: None if v is None else str(v) for k, v in properties.items()})
        obj.updated_ms = at_ms if at_ms is not None else self.now_ms()
        self._last_ms = max(self._last_ms, obj.updated_ms)
        obj.properties.update(self._stamps(obj))
        self._reindex(obj)
        return obj

    def archive(self, kind: str, object_id: str) -> None:
        self.objects[kind][object_id].archived = True
        self._reindex(self.objects[kind][object_id])

    def _reindex(self, obj: CrmObject) -> None:
        if self.index_lag_ms:
            visible_at = self.clock() + self.index_lag_ms
            self._index.setdefault((obj.type, obj.id), []).append((visible_at, copy.deepcopy(obj)))

    def searchable(self, kind: str) -> list[CrmObject]:
        """What search sees: the live records, or with a lag the last version indexed."""
        if not self.index_lag_ms:
            return self.live(kind)
        now, found = self.clock(), []
        for (index_kind, _), versions in self._index.items():
            seen = [obj for visible_at, obj in versions if visible_at <= now]
            if index_kind == kind and seen and not seen[-1].archived:
                found.append(seen[-1])
        return found

    @staticmethod
    def _stamps(obj: CrmObject) -> dict[str, str]:
        created, modified = iso_ms(obj.created_ms), iso_ms(obj.updated_ms)
        stamps = {"hs_object_id": obj.id, "hs_lastmodifieddate": modified}
        if obj.type == "notes":
            stamps["hs_createdate"] = created
        else:
            stamps["createdate"] = created
        if obj.type == "contacts":
            stamps["lastmodifieddate"] = modified
        return stamps

    def get(self, kind: str, object_id: str) -> CrmObject | None:
        obj = self.objects[kind].get(object_id)
        return obj if obj is not None and not obj.archived else None

    def live(self, kind: str) -> list[CrmObject]:
        return [o for o in self.objects[kind].values() if not o.archived]

    # associations ----------------------------------------------------------------------

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int):
        """Add one typed association and its inverse, as HubSpot stores both directions."""
        kind = ASSOC_TYPES[type_id]
        if (kind.from_type, kind.to_type) != (from_type, to_type):
            raise ValueError(f"association type {type_id} is not {from_type}->{to_type}")
        forward = self.edges.setdefault((from_type, from_id, to_type), {})
        forward.setdefault(to_id, set()).add(type_id)
        backward = self.edges.setdefault((to_type, to_id, from_type), {})
        backward.setdefault(from_id, set()).add(inverse_type(type_id))

    def associate_default(
        self, from_type: str, from_id: str, to_type: str, to_id: str, *, primary: bool = False
    ) -> None:
        plain, _, primary_id, _ = _PAIRS[(from_type, to_type)]
        self.associate(from_type, from_id, to_type, to_id, plain)
        if primary and primary_id is not None:
            self.associate(from_type, from_id, to_type, to_id, primary_id)

    def dissociate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        self.edges.get((from_type, from_id, to_type), {}).pop(to_id, None)
        self.edges.get((to_type, to_id, from_type), {}).pop(from_id, None)

    def associated(self, from_type: str, from_id: str, to_type: str) -> list[tuple[str, set[int]]]:
        """(to_id, typeIds) for live targets, in the order they were associated."""
        found = self.edges.get((from_type, from_id, to_type), {})
        return [(to_id, set(types)) for to_id, types in found.items() if self.get(to_type, to_id)]


# Properties the fake's schema defines: asked for but unset, they come back as null.
KNOWN_PROPERTIES: dict[str, frozenset[str]] = {
    "deals": frozenset(
        {*DEFAULT_PROPERTIES["deals"], "hubspot_owner_id", "description", "hs_is_closed_won"}
    ),
    "companies": frozenset({*DEFAULT_PROPERTIES["companies"], "hubspot_owner_id"}),
    "contacts": frozenset({*DEFAULT_PROPERTIES["contacts"], "hs_lastmodifieddate", "phone"}),
    "notes": frozenset(
        {*DEFAULT_PROPERTIES["notes"], "hs_note_body", "hs_timestamp", "hubspot_owner_id"}
    ),
}


def _always(kind: str) -> tuple[str, ...]:
    if kind == "notes":
        return ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")
    if kind == "contacts":
        return ("createdate", "lastmodifieddate", "hs_object_id")
    return ("createdate", "hs_lastmodifieddate", "hs_object_id")


def object_json(
    obj: CrmObject,
    properties: Iterable[str] | None = None,
    *,
    associations: dict[str, list[dict[str, str]]] | None = None,
) -> dict[str, Any]:
    """SimplePublicObject(WithAssociations): the asked-for properties (null when defined but
    empty, left out when unknown) plus the creation/modification/id ones HubSpot always adds."""
    names = list(properties) if properties else list(DEFAULT_PROPERTIES[obj.type])
    known = KNOWN_PROPERTIES[obj.type]
    props = {
        name: obj.properties.get(name)
        for name in dict.fromkeys([*names, *_always(obj.type)])
        if name in obj.properties or name in known
    }
    body: dict[str, Any] = {
        "id": obj.id,
        "properties": copy.deepcopy(props),
        "createdAt": iso_ms(obj.created_ms),
        "updatedAt": iso_ms(obj.updated_ms),
        "archived": obj.archived,
    }
    found = {k: {"results": v} for k, v in (associations or {}).items() if v}
    if found:  # HubSpot leaves `associations` out when there are none
        body["associations"] = found
    return body
