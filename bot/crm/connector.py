"""What the rest of the bot needs of a CRM connector (HubSpot, Salesforce): one shape.

A connector reads *what a deal is now* from its CRM; webhooks and polls only say *that*
it changed. Flows see `DealRecord`s and this protocol, never a vendor's client.
"""

from __future__ import annotations

from typing import Protocol

from bot.crm.records import DealRecord


class ConnectorUnavailable(Exception):
    """The CRM cannot answer now: the credential is refused (`credential`), it asked us to
    hold off and nothing was sent (`held`: a used-up API allowance), or it keeps failing
    (5xx, rate limit beyond patience). The work waits and is tried again; it is never
    dropped."""

    def __init__(
        self, connector: str, reason: str, *, credential: bool = False, held: bool = False
    ) -> None:
        super().__init__(f"{connector}: {reason}")
        self.connector = connector
        self.reason = reason
        self.credential = credential
        self.held = held


class CrmConnector(Protocol):
    """The source of truth for the deals it reports."""

    name: str  # "hubspot", "salesforce": the `source` of its deals and its Connector row

    def read_deal(self, crm_id: str) -> DealRecord:
        """The deal as the CRM has it now (company, amount, close date, stage, owner,
        contacts); `deleted=True` when the CRM no longer has it. Raises
        ConnectorUnavailable when the CRM cannot say."""
        ...
