"""Running a parsed SOQL query against the org: field checks, filters, order, rendering.

What the integration user cannot see (`hide_field`) does not exist for it, as with
field-level security: the query answers INVALID_FIELD "No such column", the words
Salesforce uses for an unknown field. Text comparisons ignore case and ids match in their
15- or 18-character forms, as in SOQL. Rendered records have `attributes` first, then the
fields in SELECT order; a lookup is a nested object (or null when empty), a child
subquery `{totalSize, done, records}` (or null when it has no rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.emulator.salesforce.ids import canonical
from bot.emulator.salesforce.schema import ChildRelationship, Field, Relationship, SObject, sobject
from bot.emulator.salesforce.soql import Condition, Literal, Path, Select, SoqlError, error_at
from bot.emulator.salesforce.store import Org, parse_datetime

_WSDL = "Please reference your WSDL or the describe call for the appropriate names."
_TEXT = ("string", "textarea", "picklist")
_LITERAL_TYPE = {
    "datetime": "dateTime",
    "date": "date",
    "boolean": "boolean",
    "currency": "double",
    "percent": "double",
}


@dataclass(frozen=True)
class Column:
    keys: tuple[str, ...]  # canonical relationship names then the field name
    hops: tuple[Relationship, ...]
    field: Field


@dataclass(frozen=True)
class Filter:
    column: Column
    op: str
    value: Any


@dataclass
class Plan:
    sobject: SObject
    columns: list[Column | ChildPlan]
    filters: list[Filter]
    order: list[tuple[Column, bool, bool]]
    limit: int | None
    offset: int


@dataclass
class ChildPlan:
    relationship: ChildRelationship
    plan: Plan


class Planner:
    """Checks a parsed query against the schema and what the user may see."""

    def __init__(self, org: Org, text: str) -> None:
        self.org, self.text = org, text

    def fail(self, offset: int, code: str, reason: str) -> SoqlError:
        return error_at(self.text, offset, code, reason)

    def plan(self, query: Select, parent: SObject | None = None) -> Plan:
        if parent is None:
            target = sobject(query.source)
            if target is None or not self.org.object_visible(target.name):
                raise self.fail(
                    query.source_offset,
                    "INVALID_TYPE",
                    f"sObject type '{query.source}' is not supported. If you are "
                    "attempting to use a custom object, be sure to append the '__c' "
                    f"after the entity name. {_WSDL}",
                )
        else:
            target = sobject(self.child(parent, query).child)  # type: ignore[assignment]
            assert target is not None
        columns: list[Column | ChildPlan] = []
        for item in query.fields:
            if isinstance(item, Select):
                if parent is not None:
                    raise self.fail(
                        query.source_offset,
                        "MALFORMED_QUERY",
                        "nested subqueries are not supported",
                    )
                columns.append(ChildPlan(self.child(target, item), self.plan(item, target)))
            else:
                columns.append(self.column(target, item))
        filters = [self.filter(target, c) for c in query.where]
        order = [(self.column(target, o.path), o.descending, o.nulls_last) for o in query.order]
        return Plan(target, columns, filters, order, query.limit, query.offset)

    def child(self, parent: SObject, query: Select) -> ChildRelationship:
        found = parent.child(query.source)
        if found is None or not self.org.object_visible(found.child):
            raise self.fail(
                query.source_offset,
                "INVALID_TYPE",
                f"Didn't understand relationship '{query.source}' in FROM part of "
                "query call. If you are attempting to use a custom relationship, be "
                f"sure to append the '__r' after the custom relationship name. {_WSDL}",
            )
        return found

    def column(self, start: SObject, path: Path) -> Column:
        current, hops, keys = start, [], []
        for part in path.parts[:-1]:
            hop = current.relationship(part)
            if (
                hop is None
                or not self.org.object_visible(hop.target)
                or not self.org.visible(current.name, hop.via)
            ):
                raise self.fail(
                    path.offset,
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{part}' in field path. If you "
                    "are attempting to use a custom relationship, be sure to append "
                    f"the '__r' after the custom relationship name. {_WSDL}",
                )
            hops.append(hop)
            keys.append(hop.name)
            current = sobject(hop.target)  # type: ignore[assignment]
        name = path.parts[-1]
        found = current.field(name)
        if found is None or not self.org.visible(current.name, found.name):
            raise self.fail(
                path.offset,
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{current.name}'. If you are "
                "attempting to use a custom field, be sure to append the '__c' after "
                f"the custom field name. {_WSDL}",
            )
        return Column((*keys, found.name), tuple(hops), found)

    def filter(self, target: SObject, condition: Condition) -> Filter:
        column = self.column(target, condition.path)
        literal = condition.value
        if literal.kind == "list":
            value: Any = [self.value(column.field, item) for item in literal.value]
        else:
            value = self.value(column.field, literal)
            if value is None and condition.op not in ("=", "!="):
                raise self.fail(
                    literal.offset,
                    "MALFORMED_QUERY",
                    f"unexpected token: 'null' for operator {condition.op}",
                )
        return Filter(column, condition.op, value)

    def value(self, spec: Field, literal: Literal) -> Any:
        """The literal as the comparable value the field holds, or Salesforce's complaint."""
        kind, wanted = spec.kind, _LITERAL_TYPE.get(spec.kind)
        if literal.kind == "null":
            return None
        if wanted is not None:
            expected = {"dateTime": "datetime", "double": "number"}.get(wanted, wanted)
            if literal.kind != expected:
                raise self.fail(
                    literal.offset,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"value of filter criterion for field '{spec.name}' must be of "
                    f"type {wanted} and should not be enclosed in quotes",
                )
            return parse_datetime(literal.value) if kind == "datetime" else literal.value
        if literal.kind != "string":
            raise self.fail(
                literal.offset,
                "INVALID_QUERY_FILTER_OPERATOR",
                f"value of filter criterion for field '{spec.name}' must be of type "
                "string and should be enclosed in quotes",
            )
        if kind in ("id", "reference"):
            found = canonical(literal.value)
            if found is None:
                raise self.fail(
                    literal.offset,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"invalid ID field: {literal.value}",
                )
            return found
        return str(literal.value).lower()


def plan_query(org: Org, text: str, query: Select) -> Plan:
    return Planner(org, text).plan(query)


# evaluation -----------------------------------------------------------------------------


def follow(org: Org, record: dict[str, Any] | None, hops: tuple[Relationship, ...]) -> Any:
    for hop in hops:
        if record is None:
            return None
        record = org.get(hop.target, record.get(hop.via))
    return record


def _comparable(column: Column, value: Any) -> Any:
    if isinstance(value, str) and column.field.kind in _TEXT:
        return value.lower()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _matches(org: Org, record: dict[str, Any], check: Filter) -> bool:
    owner = follow(org, record, check.column.hops)
    raw = None if owner is None else owner.get(check.column.field.name)
    value, wanted = _comparable(check.column, raw), check.value
    if check.op in ("in", "notin"):
        return (value in wanted) == (check.op == "in") if value is not None else check.op == "notin"
    if check.op == "=":
        return value == wanted
    if check.op == "!=":
        return value != wanted
    if value is None or wanted is None:
        return False
    return {"<": value < wanted, "<=": value <= wanted, ">": value > wanted, ">=": value >= wanted}[
        check.op
    ]


def select_records(org: Org, plan: Plan, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows matching every filter, in ORDER BY order, after OFFSET and LIMIT."""
    found = [
        r for r in rows if not r["IsDeleted"] and all(_matches(org, r, f) for f in plan.filters)
    ]
    for column, descending, nulls_last in reversed(plan.order):
        nulls_first_in_final = not nulls_last
        null_rank = (
            (2 if nulls_first_in_final else 0) if descending else (0 if nulls_first_in_final else 2)
        )

        def key(row: dict[str, Any], column: Column = column, null_rank: int = null_rank) -> Any:
            owner = follow(org, row, column.hops)
            value = None if owner is None else _comparable(column, owner.get(column.field.name))
            return (null_rank, 0) if value is None else (1, value)

        found.sort(key=key, reverse=descending)
    found = found[plan.offset :]
    return found if plan.limit is None else found[: plan.limit]
