"""Records as the REST API writes them: `attributes` first, then the fields in SELECT
order; a lookup a nested object with its own `attributes` (null when empty), a child
subquery `{totalSize, done, records}` (null when it has no rows), dateTimes as
`2026-01-05T10:00:00.000+0000`.
"""

from __future__ import annotations

from typing import Any

from bot.emulator.salesforce.query import ChildPlan, Column, Plan, select_records
from bot.emulator.salesforce.schema import Field
from bot.emulator.salesforce.store import Org, format_datetime


def attributes(name: str, record_id: str, version: str) -> dict[str, str]:
    return {"type": name, "url": f"/services/data/v{version}/sobjects/{name}/{record_id}"}


def render_value(spec: Field, value: Any) -> Any:
    if value is not None and spec.kind == "datetime":
        return format_datetime(value)
    return value


def render(org: Org, plan: Plan, record: dict[str, Any], version: str) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": attributes(plan.sobject.name, record["Id"], version)}
    for column in plan.columns:
        if isinstance(column, ChildPlan):
            out[column.relationship.name] = _children(org, column, record, version)
        else:
            _place(org, out, record, column, 0, version)
    return out


def _place(
    org: Org,
    out: dict[str, Any],
    record: dict[str, Any] | None,
    column: Column,
    depth: int,
    version: str,
) -> None:
    if depth == len(column.hops):
        assert record is not None
        out[column.field.name] = render_value(column.field, record.get(column.field.name))
        return
    hop, key = column.hops[depth], column.keys[depth]
    target = org.get(hop.target, record.get(hop.via)) if record is not None else None
    if target is None:
        out.setdefault(key, None)
        return
    nested = out.get(key) or {"attributes": attributes(hop.target, target["Id"], version)}
    out[key] = nested
    _place(org, nested, target, column, depth + 1, version)


def _children(org: Org, child: ChildPlan, parent: dict[str, Any], version: str) -> Any:
    rel = child.relationship
    rows = org.children(child.plan.sobject.name, rel.via, parent["Id"])
    found = select_records(org, child.plan, rows)
    if not found:
        return None
    records = [render(org, child.plan, r, version) for r in found]
    return {"totalSize": len(records), "done": True, "records": records}
