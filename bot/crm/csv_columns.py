"""Which CSV export a file is, and which of its columns mean what (README, "Importing a
CSV export"): CareIntro's own columns, HubSpot's deal export (property labels) and a
Salesforce Opportunity report (its column labels).

Headers are compared normalised: lower-case, only letters and digits kept
(`Probability (%)` → `probability`, `Contact: Email` → `contactemail`, `deal_id` and
`Deal ID` → `dealid`); the tables below are written readably and normalised the same.
Our own column names are recognised in every format, so `notes`, `watched`,
`owner_email` or `engineer_email` can be added to a CRM's export as extra columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.templating import terminal_phrase

CAREINTRO, HUBSPOT, SALESFORCE = "careintro", "hubspot", "salesforce"


def normalise_header(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", name.lower())


# The fields a row is read into (`bot.crm.csv_values`): ours, and a few that exist
# only in an export: `deal_name` (HubSpot's company when it has none), `owner` (a
# name or an email), `people` and `people_ids` (HubSpot's "Associated Contact" list
# and their ids), `person_*` (one contact role per row in Salesforce), `probability`.
OURS = {
    "deal id": "deal_id", "company": "company", "stage": "stage", "amount": "amount",
    "close date": "close_date", "owner email": "owner_email",
    "engineer email": "engineer_email", "contacts": "contacts", "notes": "notes",
    "watched": "watched",
}  # fmt: skip
HUBSPOT_COLUMNS = {
    "record id": "deal_id", "deal name": "deal_name", "associated company": "company",
    "deal stage": "stage", "amount": "amount", "close date": "close_date",
    "deal owner": "owner", "associated contact": "people",
    "associated contact ids": "people_ids", "deal probability": "probability",
}  # fmt: skip
SALESFORCE_COLUMNS = {
    "opportunity id": "deal_id", "opportunity name": "deal_name", "account name": "company",
    "stage": "stage", "amount": "amount", "close date": "close_date",
    "opportunity owner": "owner", "owner email": "owner_email",
    "probability": "probability",
    "contact id": "person_id", "email": "person_email", "contact email": "person_email",
    "first name": "person_first", "contact first name": "person_first",
    "last name": "person_last", "contact last name": "person_last",
    "contact name": "person_name", "contact full name": "person_name",
    "full name": "person_name",
}  # fmt: skip
COLUMNS = {
    kind: {normalise_header(name): field for name, field in table.items()}
    for kind, table in ((CAREINTRO, OURS), (HUBSPOT, HUBSPOT_COLUMNS),
                        (SALESFORCE, SALESFORCE_COLUMNS))
}  # fmt: skip
# What a format's export needs for its deals to be known (the CRM's own deal id).
ID_COLUMN = {CAREINTRO: "deal_id", HUBSPOT: "Record ID", SALESFORCE: "Opportunity ID"}


class HeaderError(ValueError):
    """The header row says no format we read, or lacks the deal id column."""


@dataclass(frozen=True)
class Layout:
    """A file's format and, for each field, the index of the column holding it."""

    format: str
    fields: dict[str, int]  # a column that means nothing to us is in none


def format_of(headers: set[str]) -> str:
    """HubSpot and Salesforce by the columns only their exports have; else ours."""
    if headers & {"opportunityid", "opportunityname", "opportunityowner"}:
        return SALESFORCE
    if headers & {"recordid", "dealname", "dealstage", "associatedcompany"}:
        return HUBSPOT
    return CAREINTRO


def layout(header: Sequence[str]) -> Layout:
    """Map the header row to fields; the first column of a field wins."""
    names = [normalise_header(h) for h in header]
    kind = format_of(set(names))
    ours, known = COLUMNS[CAREINTRO], COLUMNS[CAREINTRO] | COLUMNS[kind]
    fields: dict[str, int] = {}
    for index, name in enumerate(names):
        field = ours.get(name) or known.get(name)
        if field is not None and field not in fields:
            fields[field] = index
    if "deal_id" not in fields:
        raise HeaderError(_missing_id(kind))
    return Layout(kind, fields)


def format_name(kind: str) -> str:
    return terminal_phrase(f"cli.import.format.{kind}")


def _missing_id(kind: str) -> str:
    if kind == CAREINTRO:
        known = ", ".join(OURS.values())
        return terminal_phrase("cli.import.no_deal_id", known=known)
    return terminal_phrase("cli.import.no_crm_id", format=format_name(kind), column=ID_COLUMN[kind])
