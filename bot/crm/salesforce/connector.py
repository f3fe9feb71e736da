"""`SalesforceConnector`: what a Salesforce Opportunity is now, and its write-back.

The poll (`poller.py`) reads whole Opportunities, so its news needs no second read;
`read_deal` is the same query for one Id, for anything that only knows the deal's id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from bot.crm.records import DealRecord
from bot.crm.salesforce import mapping, notes
from bot.crm.salesforce.client import LIMIT_WAIT_SECONDS, NAME, SalesforceClient


class SalesforceConnector:
    """The `CrmConnector` (and `NoteWriter`) for Salesforce; thread-safe, one per process."""

    name = NAME

    def __init__(
        self, *, instance_url: str, client_id: str, client_secret: str, version: str,
        engine: Engine, limit_wait_seconds: float = LIMIT_WAIT_SECONDS,
    ) -> None:  # fmt: skip
        self.client = SalesforceClient(
            instance_url=instance_url, client_id=client_id, client_secret=client_secret,
            version=version, engine=engine, limit_wait_seconds=limit_wait_seconds,
        )  # fmt: skip

    def read_deal(self, crm_id: str) -> DealRecord:
        """One SOQL query by Id; `deleted=True` when Salesforce no longer has it."""
        soql = mapping.select(where=f"Id = '{mapping.soql_id(crm_id)}'")
        for page in self.client.pages(soql):
            for opportunity in page.records:
                return mapping.deal_record(opportunity)
        return DealRecord(crm_id=crm_id, deleted=True, source=mapping.SOURCE)

    # writing back ----------------------------------------------------------------------

    def find_note(self, crm_deal_id: str, marker: str) -> str | None:
        return notes.find_task(self.client, crm_deal_id, marker)

    def create_note(self, crm_deal_id: str, *, body: str, at: datetime) -> str:
        return notes.create_task(self.client, crm_deal_id, body=body, at=at)
