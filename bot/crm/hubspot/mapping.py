"""HubSpot's JSON (as the official client's models' `to_dict()` give it) → `DealRecord`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.crm.hubspot.pipelines import StageInfo
from bot.crm.records import MAX_AMOUNT, ContactPerson, DealRecord
from bot.exceptions import UserError
from bot.parsing import normalise_email
from bot.text import clean_value

SOURCE = "hubspot"
DEAL_PROPERTIES = (
    "dealname", "amount", "closedate", "dealstage", "pipeline", "hubspot_owner_id",
    "hs_lastmodifieddate",
)  # fmt: skip
CONTACT_PROPERTIES = ("email", "firstname", "lastname")
PRIMARY_COMPANY = "deal_to_company"  # the v3 name of the primary association (type 5)


def associated_ids(deal: dict[str, Any], kind: str) -> list[str]:
    """Ids of the deal's associated `kind`, each once; the primary company first."""
    results = ((deal.get("associations") or {}).get(kind) or {}).get("results") or []
    ordered = sorted(results, key=lambda r: r.get("type") != PRIMARY_COMPANY)
    return list(dict.fromkeys(str(r["id"]) for r in ordered if r.get("id") is not None))


def person(contact: dict[str, Any]) -> ContactPerson:
    """A contact; one whose email is missing (or not an email) is listed, not invited."""
    props = contact.get("properties") or {}
    try:
        email = normalise_email(props["email"]) if props.get("email") else None
    except UserError:
        email = None
    return ContactPerson(
        email=email,
        first_name=clean_value(props.get("firstname") or "", limit=100),
        last_name=clean_value(props.get("lastname") or "", limit=100),
        crm_id=str(contact.get("id")),
    )


def deal_record(
    deal: dict[str, Any],
    *,
    company: str | None,
    people: list[ContactPerson],
    owner_email: str | None,
    stage: StageInfo | None,
) -> DealRecord:
    """`company`: None when the deal has none (it waits for one), "" when its company has
    no name (the deal's name stands in)."""
    props = deal.get("properties") or {}
    name = clean_value(props.get("dealname") or "", limit=200) or None
    stage_id = props.get("dealstage") or None
    return DealRecord(
        crm_id=str(deal["id"]),
        stage=stage.label if stage else stage_id,
        company=None if company is None else clean_value(company, limit=200) or name,
        amount=_amount(props.get("amount")),
        close_date=_date(props.get("closedate")),
        owner_email=owner_email,
        source=SOURCE,
        stage_id=stage_id,
        pipeline=props.get("pipeline") or (stage.pipeline if stage else None),
        stage_status=stage.status if stage else "",
        probability=stage.probability if stage else None,
        people=tuple(people),
    )


def _amount(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None
    if amount is None or not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        return None
    return amount.quantize(Decimal("0.01"))


def _date(value: Any) -> date | None:
    if not value:
        return None
    text = str(value)
    if text.isdigit():  # epoch milliseconds, as HubSpot also writes dates
        return datetime.fromtimestamp(int(text) / 1000, UTC).date()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None
