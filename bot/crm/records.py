"""One deal record as a CRM describes it, validated the same way for webhooks and CSV."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.exceptions import UserError
from bot.parsing import MAX_CONTACTS, MAX_DEAL_ID, MAX_NOTES, is_deal_id, normalise_email
from bot.text import clean_value

MAX_AMOUNT = Decimal("1e13")


class RecordError(ValueError):
    """A field a machine or a person must fix; the message names it."""


@dataclass(frozen=True)
class ContactPerson:
    """A prospect contact as a CRM lists it; one without an email is listed, not invited."""

    email: str | None
    first_name: str = ""
    last_name: str = ""
    crm_id: str | None = None


@dataclass(frozen=True)
class DealRecord:
    """A deal as one source describes it, whichever CRM or route it came from.

    `stage` is the stage's name (a label, or an id where that is all a source has);
    `stage_id` the CRM's own key for it; `stage_status` what the CRM says of it ("open",
    "won", "lost", or "" when it does not say); `probability` its win probability (0..1).
    `contacts` are emails a webhook or CSV gave; `people` contacts a CRM listed with names.
    """

    crm_id: str
    stage: str | None = None
    company: str | None = None
    amount: Decimal | None = None
    close_date: date | None = None
    owner_email: str | None = None
    engineer_email: str | None = None
    contacts: tuple[str, ...] = ()
    notes: str | None = None
    source: str = ""
    stage_id: str | None = None
    pipeline: str | None = None
    stage_status: str = ""
    probability: float | None = None
    people: tuple[ContactPerson, ...] = ()
    deleted: bool = False
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("warnings")
        data["amount"] = str(self.amount) if self.amount is not None else None
        data["close_date"] = self.close_date.isoformat() if self.close_date else None
        data["contacts"] = list(self.contacts)
        data["people"] = [asdict(p) for p in self.people]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DealRecord:
        return cls(
            crm_id=data["crm_id"],
            stage=data.get("stage"),
            company=data.get("company"),
            amount=Decimal(data["amount"]) if data.get("amount") is not None else None,
            close_date=date.fromisoformat(data["close_date"]) if data.get("close_date") else None,
            owner_email=data.get("owner_email"),
            engineer_email=data.get("engineer_email"),
            contacts=tuple(data.get("contacts") or ()),
            notes=data.get("notes"),
            source=data.get("source") or "",
            stage_id=data.get("stage_id"),
            pipeline=data.get("pipeline"),
            stage_status=data.get("stage_status") or "",
            probability=data.get("probability"),
            people=tuple(ContactPerson(**p) for p in data.get("people") or ()),
            deleted=bool(data.get("deleted")),
        )


def parse_record(raw: Any, *, require_stage: bool, where: str = "") -> DealRecord:
    """Validate one webhook object (or CSV row, all strings); raise RecordError naming the field.

    Bad contact emails don't reject the record: they are dropped and reported as warnings.
    """
    prefix = f"{where}." if where else ""
    if not isinstance(raw, Mapping):
        raise RecordError(f"{where or 'body'}: must be a JSON object")
    crm_id = _text(raw, "deal_id", prefix, required=True, limit=MAX_DEAL_ID, numbers=True)
    assert crm_id is not None
    if not is_deal_id(crm_id):
        raise RecordError(
            f"{prefix}deal_id: letters, digits and -_.:/# only, up to {MAX_DEAL_ID} characters"
        )
    stage = _text(raw, "stage", prefix, required=require_stage, limit=100)
    warnings: list[str] = []
    contacts: list[str] = []
    for email in _contacts(raw.get("contacts"), prefix):
        try:
            address = normalise_email(email)
        except UserError:
            warnings.append(
                f"{prefix}contacts: {clean_value(email, limit=80)!r} is not a valid email"
            )
            continue
        if address not in contacts:
            contacts.append(address)
    if len(contacts) > MAX_CONTACTS:
        raise RecordError(f"{prefix}contacts: at most {MAX_CONTACTS}")
    return DealRecord(
        crm_id=crm_id,
        stage=stage,
        company=_text(raw, "company", prefix, limit=200),
        amount=_amount(raw.get("amount"), prefix),
        close_date=_date(raw.get("close_date"), prefix),
        owner_email=_email(raw, "owner_email", prefix),
        engineer_email=_email(raw, "engineer_email", prefix),
        contacts=tuple(contacts),
        notes=_text(raw, "notes", prefix, limit=MAX_NOTES, keep_lines=True),
        warnings=tuple(warnings),
    )


def _text(raw: Mapping[str, Any], name: str, prefix: str, *, required: bool = False,
          limit: int, numbers: bool = False, keep_lines: bool = False) -> str | None:  # fmt: skip
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise RecordError(f"{prefix}{name}: required")
        return None
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise RecordError(f"{prefix}{name}: must be a string")
    cleaned = value.strip()[:limit] if keep_lines else clean_value(value, limit=limit)
    if not cleaned and required:
        raise RecordError(f"{prefix}{name}: required")
    return cleaned or None


def _amount(value: Any, prefix: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RecordError(f"{prefix}amount: must be a number")
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise RecordError(f"{prefix}amount: must be a number") from None
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise RecordError(f"{prefix}amount: must be a finite number below 10^13")
    return amount.quantize(Decimal("0.01"))


def _date(value: Any, prefix: str) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RecordError(f"{prefix}close_date: must be a date string (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise RecordError(f"{prefix}close_date: must be a date (YYYY-MM-DD)") from None


def _email(raw: Mapping[str, Any], name: str, prefix: str) -> str | None:
    value = _text(raw, name, prefix, limit=254)
    if value is None:
        return None
    try:
        return normalise_email(value)
    except UserError:
        raise RecordError(f"{prefix}{name}: not a valid email") from None


def _contacts(value: Any, prefix: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[;,]", value) if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise RecordError(f"{prefix}contacts: must be a list of email strings")
