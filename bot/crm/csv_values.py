"""One CSV row's cells → a `DealRecord` (and whether the row watches the deal), the way
exports write them: amounts with currency signs and thousands separators, dates in ISO
or the US report format, yes/no flags, HubSpot's "Name (email)" contact lists and
Salesforce's 15-character record ids. Validation ends in `parse_record`, the one the
webhooks use; a value that cannot be read raises `RecordError` naming its column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation

from bot.crm.csv_columns import HUBSPOT, SALESFORCE
from bot.crm.records import ContactPerson, DealRecord, RecordError, parse_record
from bot.exceptions import UserError
from bot.parsing import MAX_CONTACTS, normalise_email
from bot.templating import terminal_phrase
from bot.text import clean_value

YES, NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0"}
_CURRENCY = re.compile(r"^(?:[A-Z]{3}|[$€£¥₹])|(?:[A-Z]{3}|[$€£¥₹])$")
_SLASH = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")
_NAMED_EMAIL = re.compile(r"^(.*?)\s*[(<]\s*([^()<>\s]+@[^()<>\s]+)\s*[)>]$")


def _bad(key: str, **values: object) -> RecordError:
    return RecordError(terminal_phrase(f"cli.import.bad.{key}", **values))


@dataclass(frozen=True)
class Row:
    """A row read: the deal as the CSV says it, and its `watched` cell (None: empty)."""

    record: DealRecord
    watched: bool | None


def read_row(cells: dict[str, str], *, kind: str, day_first: bool) -> Row:
    """`cells`: field → the cell's text, for the fields the header has (csv_columns)."""
    raw = {k: v for k, v in cells.items() if v}
    if kind == SALESFORCE and "deal_id" in raw:
        raw["deal_id"] = salesforce_id(raw["deal_id"])
    if "amount" in raw:
        raw["amount"] = amount_text(raw["amount"])
    if "close_date" in raw:
        raw["close_date"] = read_date(raw["close_date"], day_first=day_first).isoformat()
    owner = raw.pop("owner", "")
    if "owner_email" not in raw and "@" in owner:  # a name (HubSpot, Salesforce) is left out
        raw["owner_email"] = _named_email(owner)[1]
    if kind == HUBSPOT and ";" in raw.get("company", ""):
        raw["company"] = raw["company"].split(";")[0]  # several associated: the first
    if kind == HUBSPOT and not raw.get("company", "").strip() and raw.get("deal_name"):
        raw["company"] = raw["deal_name"]  # as the connector does for a deal with no company
    record = parse_record(raw, require_stage=False)
    if record.warnings:
        raise RecordError(record.warnings[0])
    people = _people(raw, kind)
    if len(record.contacts) + len(people) > MAX_CONTACTS:
        raise _bad("too_many_contacts", limit=MAX_CONTACTS)
    probability = _probability(raw.get("probability"), percent=kind == SALESFORCE)
    return Row(replace(record, people=people, probability=probability),
               watched_flag(raw.get("watched")))  # fmt: skip


def amount_text(value: str) -> str:
    """`$48,000.00`, `48.000,00 €`, `USD 1 500` → `48000.00`, `48000.00`, `1500`.

    The last `.` or `,` is the decimal mark when both appear; a lone one followed by
    exactly three digits groups thousands (`48,000`, `48.000`); otherwise it is the
    decimal mark (`1,5`, `99.90`)."""
    text = _CURRENCY.sub("", value.strip()).strip()
    text = re.sub(r"[\s\u00a0\u202f']", "", text)
    if not re.fullmatch(r"-?\d[\d.,]*", text):
        raise _bad("amount", value=clean_value(value, limit=40))
    marks = {c for c in text if c in ".,"}
    if len(marks) == 2:
        decimal_mark = text[max(text.rfind("."), text.rfind(","))]
        whole, _, cents = text.rpartition(decimal_mark)
        return _grouped(whole, "," if decimal_mark == "." else ".", value) + "." + cents
    if not marks:
        return text
    (mark,) = marks
    parts = text.split(mark)
    if len(parts) > 2 or len(parts[-1]) == 3:
        return _grouped(text, mark, value)
    return text.replace(mark, ".")


def _grouped(text: str, mark: str, value: str) -> str:
    """`48,000,000` → `48000000`; groups not of three digits are refused."""
    head, *groups = text.split(mark)
    if not head.lstrip("-") or (len(head.lstrip("-")) > 3 and groups):
        raise _bad("amount", value=clean_value(value, limit=40))
    if any(len(g) != 3 or not g.isdigit() for g in groups):
        raise _bad("amount", value=clean_value(value, limit=40))
    return head + "".join(groups)


def read_date(value: str, *, day_first: bool) -> date:
    """ISO (`2026-12-15`, with a time as HubSpot writes it), `12/15/2026` (month first,
    as US exports; `--day-first`: `15/12/2026`) and `15.12.2026`."""
    text = value.strip()
    try:
        if iso := _ISO.match(text):
            return date.fromisoformat(iso[1])
        if slash := _SLASH.match(text):
            first, second, year = (int(p) for p in slash.groups())
            month, day = (second, first) if day_first else (first, second)
            return date(year, month, day)
        if dotted := _DOTTED.match(text):
            day, month, year = (int(p) for p in dotted.groups())
            return date(year, month, day)
    except ValueError:
        pass
    order = "DD/MM/YYYY" if day_first else "MM/DD/YYYY"
    raise _bad("date", value=clean_value(value, limit=40), order=order)


def watched_flag(value: str | None) -> bool | None:
    if value is None or not value.strip():
        return None
    word = value.strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    raise _bad("watched", value=clean_value(value, limit=40))


def salesforce_id(value: str) -> str:
    """A report's 15-character id → the 18-character one the API answers, so a deal
    imported from a report and the same deal read by the connector are one deal."""
    text = value.strip()
    if len(text) == 15 and text.isalnum() and text.isascii():
        suffix = ""
        for start in (0, 5, 10):
            bits = sum(1 << i for i, ch in enumerate(text[start : start + 5]) if ch.isupper())
            suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
        return text + suffix
    return text


def _probability(value: str | None, *, percent: bool) -> float | None:
    """Salesforce's "Probability (%)" is a percent (`90`); HubSpot's "Deal probability"
    a fraction (`0.9`) unless written with `%`."""
    if not value:
        return None
    text = value.strip().replace(",", ".")
    as_percent = percent or text.endswith("%")
    try:
        number = Decimal(text.rstrip("%").strip())
    except InvalidOperation:
        raise _bad("probability", value=clean_value(value, limit=40)) from None
    fraction = number / 100 if as_percent else number
    if not fraction.is_finite() or not 0 <= fraction <= 1:
        raise _bad("probability", value=clean_value(value, limit=40))
    return float(fraction)


def _people(raw: dict[str, str], kind: str) -> tuple[ContactPerson, ...]:
    """HubSpot: "Associated Contact" lists `First Last (email)` entries, `;` between
    them, and "Associated Contact IDs" their ids in the same order. Salesforce: a
    contact role per row (its id, email, first, last or full name). A contact with a
    name but no email is listed, not invited, as the connectors do; the CRM's contact id
    (else the name) keeps it one contact when the file is imported again."""
    if kind == HUBSPOT and raw.get("people"):
        entries = [e.strip() for e in raw["people"].split(";") if e.strip()]
        ids = [i.strip() for i in raw.get("people_ids", "").split(";") if i.strip()]
        ids = ids if len(ids) == len(entries) else [""] * len(entries)
        return tuple(_person(*_named_email(e), crm_id=i) for e, i in zip(entries, ids, strict=True))
    if kind == SALESFORCE:
        email, crm_id = raw.get("person_email", ""), salesforce_id(raw.get("person_id", ""))
        first, last = raw.get("person_first", ""), raw.get("person_last", "")
        if not (first or last) and raw.get("person_name"):
            first, _, last = raw["person_name"].strip().partition(" ")
        if email or first or last:
            return (_person(f"{first} {last}", email, first=first, last=last, crm_id=crm_id),)
    return ()


def _named_email(entry: str) -> tuple[str, str]:
    """`Jane Doe (jane@acme.example)` → (name, email); a bare email or a bare name too."""
    text = entry.strip()
    if match := _NAMED_EMAIL.match(text):
        return match[1], match[2]
    return ("", text) if "@" in text else (text, "")


def _person(name: str, email: str, *, first: str = "", last: str = "", crm_id: str = ""
            ) -> ContactPerson:  # fmt: skip
    if not (first or last):
        first, _, last = name.strip().partition(" ")
    first, last = clean_value(first, limit=100), clean_value(last, limit=100)
    address = None
    if email:
        try:
            address = normalise_email(email)
        except UserError:
            raise _bad("contact", value=clean_value(email, limit=80)) from None
    if not crm_id and address is None:  # known again by name only
        crm_id = f"csv:{first} {last}".lower()
    return ContactPerson(address, first, last, clean_value(crm_id, limit=64) or None)
