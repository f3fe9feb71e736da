"""The one generic write: a fenced by-id UPDATE, shared by every concept's module."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import Table, Update, bindparam, update
from sqlmodel import Session, SQLModel


def update_row(
    session: Session,
    model: type[SQLModel],
    row_id: int | None,
    /,
    *,
    where: Mapping[str, Any] | None = None,
    **values: Any,
) -> int:
    """Set `values` on the row with this id and, with `where`, only while those columns
    hold those values (None: IS NULL); returns how many rows changed (0 or 1), so a
    claim or a fenced write knows whether it won.

    A prebuilt Core statement on the session's connection: built through the ORM, each
    UPDATE cost its building, cache key and bulk-update evaluation, more than running it
    (bench/README.md, bulk introductions). Objects already loaded in the session are not
    refreshed: read after writing.
    """
    where = where or {}
    match = tuple((name, value is None) for name, value in where.items())
    statement = _update_row(model.__table__, tuple(values), match)  # type: ignore[attr-defined]
    params: dict[str, Any] = {"w_id": row_id}
    params |= {f"w_{name}": value for name, value in where.items() if value is not None}
    params |= {f"v_{name}": value for name, value in values.items()}
    return int(session.connection().execute(statement, params).rowcount)  # type: ignore[attr-defined]


@cache
def _update_row(
    table: Table, columns: tuple[str, ...], match: tuple[tuple[str, bool], ...]
) -> Update:
    conditions = [table.c.id == bindparam("w_id")]
    conditions += [
        table.c[name].is_(None) if null else table.c[name] == bindparam(f"w_{name}")
        for name, null in match
    ]
    return update(table).where(*conditions).values({c: bindparam(f"v_{c}") for c in columns})
