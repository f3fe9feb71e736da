"""Salesforce's SOQL and JSON → `DealRecord`: the one query shape the connector sends, and
what each Opportunity becomes.

One query reads everything a deal needs (SPEC "CRM connectors" → Salesforce): the
Opportunity's own fields, its Account's name (the company), its Owner's email (the AE)
and its contact roles with each Contact's name and email, as a parent-to-child
subquery. Won and lost are Salesforce's own `IsWon`/`IsClosed`; `Probability` is a
percent (90), a `DealRecord` holds a fraction (0.9).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.crm.records import MAX_AMOUNT, ContactPerson, DealRecord
from bot.exceptions import UserError
from bot.parsing import MAX_CONTACTS, normalise_email
from bot.text import clean_value

SOURCE = "salesforce"
OPPORTUNITY_FIELDS = (
    "Id", "Name", "StageName", "Amount", "CloseDate", "IsClosed", "IsWon", "Probability",
    "SystemModstamp", "Account.Name", "Owner.Email",
)  # fmt: skip
CONTACT_ROLES = (
    "SELECT ContactId, Contact.Email, Contact.FirstName, Contact.LastName, IsPrimary "
    "FROM OpportunityContactRoles"
)
_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


def select(*, where: str, order_by: str = "") -> str:
    """The Opportunity query with its contact roles, filtered by `where`."""
    fields = ", ".join(OPPORTUNITY_FIELDS)
    order = f" ORDER BY {order_by}" if order_by else ""
    return f"SELECT {fields}, ({CONTACT_ROLES}) FROM Opportunity WHERE {where}{order}"  # noqa: S608


def soql_id(value: str) -> str:
    """A record id safe to put in a SOQL literal (15 or 18 letters and digits)."""
    if not _ID.fullmatch(value):
        raise ValueError(f"not a Salesforce record id: {value[:40]!r}")
    return value


def soql_datetime(moment: datetime) -> str:
    """A SOQL dateTime literal, whole seconds (SystemModstamp has no finer ones)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def modstamp(opportunity: dict[str, Any]) -> datetime | None:
    """`2026-01-05T10:00:00.000+0000`, as the REST API writes a dateTime."""
    raw = opportunity.get("SystemModstamp")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)


def deal_record(opportunity: dict[str, Any]) -> DealRecord:
    """An Opportunity as the query renders it; no Account: no company (the deal waits)."""
    account = opportunity.get("Account") or None
    owner = opportunity.get("Owner") or {}
    name = clean_value(opportunity.get("Name") or "", limit=200) or None
    company = None
    if account is not None:
        company = clean_value(account.get("Name") or "", limit=200) or name
    probability = _number(opportunity.get("Probability"))
    return DealRecord(
        crm_id=str(opportunity["Id"]),
        stage=clean_value(opportunity.get("StageName") or "", limit=100) or None,
        company=company,
        amount=_amount(opportunity.get("Amount")),
        close_date=_date(opportunity.get("CloseDate")),
        owner_email=_email(owner.get("Email")),
        source=SOURCE,
        stage_status=_status(opportunity),
        probability=None if probability is None else min(max(probability / 100, 0.0), 1.0),
        people=tuple(_people(opportunity.get("OpportunityContactRoles"))),
    )


def _status(opportunity: dict[str, Any]) -> str:
    if opportunity.get("IsWon") is True:
        return "won"
    if opportunity.get("IsClosed") is True:
        return "lost"
    if opportunity.get("IsClosed") is False:
        return "open"
    return ""  # not said: the stage names decide


def _people(roles: Any) -> list[ContactPerson]:
    """The contact roles' contacts, the primary one first, each once; one without an
    email is listed, not invited."""
    records = (roles.get("records") or []) if isinstance(roles, dict) else []
    ordered = sorted(records, key=lambda r: r.get("IsPrimary") is not True)
    people: dict[str, ContactPerson] = {}
    for role in ordered:
        contact = role.get("Contact") or {}
        key = str(role.get("ContactId") or contact.get("Email") or "")
        if not key or key in people:
            continue
        people[key] = ContactPerson(
            email=_email(contact.get("Email")),
            first_name=clean_value(contact.get("FirstName") or "", limit=100),
            last_name=clean_value(contact.get("LastName") or "", limit=100),
            crm_id=str(role["ContactId"]) if role.get("ContactId") else None,
        )
    return list(people.values())[:MAX_CONTACTS]


def _email(value: Any) -> str | None:
    try:
        return normalise_email(str(value)) if value else None
    except UserError:
        return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _amount(value: Any) -> Decimal | None:
    if not isinstance(value, int | float | str) or isinstance(value, bool) or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        return None
    return amount.quantize(Decimal("0.01"))


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
