"""One seeded HubSpot account for the tests that need a deal with everything around it:
an owner, a company, a contact and one without an email."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.emulator.hubspot import FakeHubSpot


@dataclass
class Seeded:
    owner: str
    company: str
    contact: str
    contact_no_email: str
    deal: str


def seed_acme(hub: FakeHubSpot, *, owner_email: str = "alex@ours.example", **deal: Any) -> Seeded:
    """Acme Corp's deal (48,000, closing 2025-09-30) with its people; `deal` adds fields
    such as `stage` and `pipeline`."""
    owner = hub.add_owner(owner_email, "Alex", "Account")
    company = hub.add_company("Acme Corp", domain="acme.example")
    contact = hub.add_contact("cto@acme.example", "Cara", "Cole")
    nameless = hub.add_contact(None, "Nora", "Noemail")
    deal_id = hub.add_deal(
        "Acme Corp - platform", amount=48000, closedate="2025-09-30T00:00:00Z",
        owner_id=owner, company_ids=[company], contact_ids=[contact, nameless], **deal,
    )  # fmt: skip
    return Seeded(owner, company, contact, nameless, deal_id)
