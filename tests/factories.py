"""Factories for rows the tests start from."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from bot.models import CareMember, Deal
from bot.store.contacts import add_contacts
from bot.store.deals import upsert_deal
from bot.store.roster import add_member


def make_deal(engine: Engine, crm_id: str = "D-1", **fields: Any) -> Deal:
    defaults: dict[str, Any] = {
        "company": "Acme Corp",
        "amount": Decimal("48000"),
        "registered_by": "U_AE",
    }
    contacts = fields.pop("contacts", ())
    with Session(engine, expire_on_commit=False) as session:
        deal = upsert_deal(session, crm_id=crm_id, **(defaults | fields))
        add_contacts(session, deal=deal, emails=contacts)
        session.commit()
        return deal


def make_member(
    engine: Engine, user_id: str = "U_ENG", backup: str | None = "U_BACKUP"
) -> CareMember:
    with Session(engine, expire_on_commit=False) as session:
        member, _ = add_member(session, user_id=user_id, backup_id=backup, added_by="U_ADMIN")
        session.commit()
        return member
