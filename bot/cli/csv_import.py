"""`careintro import FILE.csv`: upsert deals from a CRM export, all or nothing.

Every row is read and checked before anything is written: one bad row and nothing is
imported (its line number and the reason, one line, exit code 2). The deals are then
applied in one transaction, each as a webhook's record would be (stage rules
included). The formats and their columns: `bot.crm.csv_columns` and README.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bot.config import Settings
from bot.crm.csv_columns import SALESFORCE, HeaderError, Layout, format_name, layout
from bot.crm.csv_values import Row, read_row
from bot.crm.records import RecordError
from bot.db import session_scope
from bot.flows.imports import apply_imported, match_owners
from bot.parsing import MAX_CONTACTS
from bot.templating import terminal_phrase

MAX_ROWS = 100_000
MAX_BYTES = 64 * 1024 * 1024
DELIMITERS = (",", ";", "\t")  # `;`: Excel's CSV where the decimal mark is a comma


class CsvReadError(Exception):
    """Nothing was imported: the file, or one of its rows, is wrong. One line."""


@dataclass
class ImportReport:
    format: str
    new: int = 0
    updated: int = 0
    watched: int = 0
    introductions: Counter[str] = field(default_factory=Counter)

    def summary(self, settings: Settings) -> str:
        return terminal_phrase(
            "cli.import.summary", format=format_name(self.format), new=self.new,
            updated=self.updated, deals=self.new + self.updated, watched=self.watched,
            introduced=self.introductions["queued"], waiting=self.introductions["waiting"],
            earlier=self.introductions["earlier"], auto_watch=settings.auto_watch,
        )  # fmt: skip


def import_csv(
    engine: Engine, settings: Settings, path: Path, *, day_first: bool = False
) -> ImportReport:
    """Read and check every row, then apply them all in one transaction."""
    shape, rows = read_deals(path, day_first=day_first)
    report = ImportReport(shape.format)
    owners: list[str] = []
    with session_scope(engine) as session:
        for crm_id, row in rows.items():
            done = apply_imported(session, record=row.record, watched=row.watched,
                                  settings=settings)  # fmt: skip
            report.new += done.new
            report.updated += not done.new
            report.watched += done.watched
            report.introductions[done.introduction] += 1
            if done.owner:
                owners.append(crm_id)
        match_owners(session, crm_ids=owners)
    return report


def read_deals(path: Path, *, day_first: bool) -> tuple[Layout, dict[str, Row]]:
    """Every deal of the file, by id: rows naming the same deal (a Salesforce report
    has one per contact role) are merged; raises CsvReadError at the first bad row."""
    text = _text(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        shape = layout(next(reader, []))
    except HeaderError as exc:
        reason = terminal_phrase("cli.import.bad_header", path=path, reason=exc)
        raise CsvReadError(reason) from None
    deals: dict[str, tuple[int, Row]] = {}
    for line, cells in _rows(path, reader, shape):
        try:
            row = read_row(cells, kind=shape.format, day_first=day_first)
            key = row.record.crm_id
            deals[key] = (deals[key][0], _merge(deals[key], row)) if key in deals else (line, row)
        except RecordError as exc:
            raise CsvReadError(terminal_phrase("cli.import.bad_row", path=path, line=line,
                                               reason=exc)) from None  # fmt: skip
    return shape, {key: row for key, (_, row) in deals.items()}


def _text(path: Path) -> str:
    try:
        data = path.read_bytes() if path.stat().st_size <= MAX_BYTES else None
    except OSError as exc:
        raise CsvReadError(terminal_phrase("cli.import.unreadable", path=path,
                                           reason=exc.strerror)) from None  # fmt: skip
    if data is None:
        raise CsvReadError(terminal_phrase("cli.import.too_big", path=path,
                                           mb=MAX_BYTES // 2**20))  # fmt: skip
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CsvReadError(terminal_phrase("cli.import.not_utf8", path=path, line=line)) from None


def _delimiter(text: str) -> str:
    """The header line's most frequent of `,` `;` tab (outside quotes); `,` on a tie."""
    header = text.split("\n", 1)[0]
    unquoted = "".join(part for i, part in enumerate(header.split('"')) if i % 2 == 0)
    return max(DELIMITERS, key=unquoted.count)


def _rows(path: Path, reader: Any, shape: Layout
          ) -> Iterator[tuple[int, dict[str, str]]]:  # fmt: skip
    """(line where the row starts, field → cell) for each row with something in it. A
    Salesforce report's footer (after a blank line: the report name, copyright,
    "Generated By") ends the data."""
    width, after_blank, count = max(shape.fields.values()) + 1, False, 0
    line = reader.line_num + 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(c.strip() for c in cells):
                after_blank = True
                continue
            if shape.format == SALESFORCE and after_blank and len(cells) == 1:
                return
            count += 1
            if count > MAX_ROWS:
                too_many = terminal_phrase("cli.import.too_many", path=path, limit=MAX_ROWS)
                raise CsvReadError(too_many)
            cells += [""] * (width - len(cells))
            yield start, {field: cells[i].strip() for field, i in shape.fields.items()}
    except csv.Error as exc:
        raise CsvReadError(terminal_phrase("cli.import.bad_row", path=path, line=line,
                                           reason=exc)) from None  # fmt: skip


def _merge(first: tuple[int, Row], later: Row) -> Row:
    """A later row of the same deal: adds contacts; any other value it gives must be
    the one the deal's first row gave (else which one is meant?)."""
    line, row = first
    old, new = row.record, later.record
    for name in ("stage", "company", "amount", "close_date", "owner_email", "engineer_email",
                 "notes", "probability"):  # fmt: skip
        mine, theirs = getattr(old, name), getattr(new, name)
        if mine is not None and theirs is not None and mine != theirs:
            raise RecordError(terminal_phrase("cli.import.conflict", crm_id=old.crm_id,
                                              column=name, line=line))  # fmt: skip
        if mine is None and theirs is not None:
            old = replace(old, **{name: theirs})
    if None not in (row.watched, later.watched) and row.watched != later.watched:
        raise RecordError(terminal_phrase("cli.import.conflict", crm_id=old.crm_id,
                                          column="watched", line=line))  # fmt: skip
    contacts = tuple(dict.fromkeys(old.contacts + new.contacts))
    people = tuple(dict.fromkeys(old.people + new.people))
    if len(contacts) + len(people) > MAX_CONTACTS:
        raise RecordError(terminal_phrase("cli.import.bad.too_many_contacts", limit=MAX_CONTACTS))
    watched = row.watched if row.watched is not None else later.watched
    return Row(replace(old, contacts=contacts, people=people), watched)
