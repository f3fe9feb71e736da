"""`careintro import FILE.csv`: upsert deals from a CRM export, row by row."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from bot.config import Settings
from bot.crm.records import RecordError, parse_record
from bot.db import session_scope
from bot.flows.crm_news import apply_record

COLUMNS = ("deal_id", "company", "stage", "amount", "close_date", "owner_email",
           "engineer_email", "contacts")  # fmt: skip
MAX_ROWS = 100_000


class CsvReadError(Exception):
    """Nothing could be read: the file itself is wrong."""


@dataclass
class ImportReport:
    accepted: int = 0
    introductions: int = 0
    lines: list[str] = field(default_factory=list)


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise CsvReadError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        try:
            reader = csv.DictReader(handle)
            header = [h.strip().lower() for h in (reader.fieldnames or [])]
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CsvReadError(f"{path} is not a UTF-8 CSV file: {exc}") from None
        if "deal_id" not in header:
            raise CsvReadError(f"{path}: the header must name the columns, with at least deal_id "
                               f"(known: {', '.join(COLUMNS)})")  # fmt: skip
        reader.fieldnames = header
        try:
            for number, row in enumerate(reader, start=2):
                if number - 1 > MAX_ROWS:
                    raise CsvReadError(f"{path}: more than {MAX_ROWS} rows; split the file")
                yield number, {k: (v or "").strip() for k, v in row.items() if k in COLUMNS}
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CsvReadError(f"{path}: unreadable after line {reader.line_num}: {exc}") from None


def import_csv(engine: Engine, settings: Settings, path: Path) -> ImportReport:
    """Each good row is applied in its own transaction, exactly as a webhook event would be."""
    report = ImportReport()
    for number, row in read_rows(path):
        if not any(row.values()):
            continue
        try:
            record = parse_record(row, require_stage=False)
        except RecordError as exc:
            report.lines.append(f"line {number}: rejected: {exc}")
            continue
        with session_scope(engine) as session:
            report.introductions += apply_record(
                session, record=record, source="csv", settings=settings
            )
        report.accepted += 1
        notes = f" ({'; '.join(record.warnings)})" if record.warnings else ""
        report.lines.append(f"line {number}: {record.crm_id} accepted{notes}")
    return report
