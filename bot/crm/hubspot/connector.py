"""`HubSpotConnector`: what a HubSpot deal is now, read from the CRM API v3.

One deal costs three calls once the caches are warm: the deal with its associations
(`GET /crm/v3/objects/deals/{id}?associations=companies,contacts`), its company
(`GET .../companies/{id}`) and its contacts in one batch read (`POST
.../contacts/batch/read`, 100 a call). Owners' emails (`/crm/v3/owners/{id}`) and the
pipelines are cached for the process.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from bot.crm.hubspot import mapping, notes
from bot.crm.hubspot.client import NAME, HubSpotClient, NotFound
from bot.crm.hubspot.pacing import Pacer
from bot.crm.hubspot.pipelines import Pipelines
from bot.crm.records import ContactPerson, DealRecord
from bot.exceptions import UserError
from bot.parsing import normalise_email

BATCH_MAX = 100


class HubSpotConnector:
    """The `CrmConnector` for HubSpot; thread-safe, one per process."""

    name = NAME

    def __init__(
        self, *, token: str, base_url: str, engine: Engine, time_scale: float = 1.0
    ) -> None:
        self.client = HubSpotClient(
            token=token, base_url=base_url, engine=engine, pacer=Pacer(time_scale=time_scale)
        )
        self.pipelines = Pipelines(self._read_pipelines)
        self._owners: dict[str, str | None] = {}
        self._lock = threading.Lock()

    # reading ---------------------------------------------------------------------------

    def read_deal(self, crm_id: str) -> DealRecord:
        api = self.client.api("crm.deals.basic_api")
        try:
            deal = self.client.call(
                api.get_by_id,
                crm_id,
                properties=list(mapping.DEAL_PROPERTIES),
                associations=["companies", "contacts"],
            ).to_dict()
        except NotFound:
            return DealRecord(crm_id=crm_id, deleted=True, source=mapping.SOURCE)
        props = deal.get("properties") or {}
        stage_id = props.get("dealstage")
        return mapping.deal_record(
            deal,
            company=self._company(mapping.associated_ids(deal, "companies")),
            people=self._people(mapping.associated_ids(deal, "contacts")),
            owner_email=self._owner_email(props.get("hubspot_owner_id")),
            stage=self.pipelines.stage(stage_id, props.get("pipeline")) if stage_id else None,
        )

    def _company(self, ids: list[str]) -> str | None:
        """The primary company's name; "" for a company without one, None for no company
        (the deal then waits for one: SPEC "What a deal needs")."""
        if not ids:
            return None
        api = self.client.api("crm.companies.basic_api")
        try:
            company = self.client.call(api.get_by_id, ids[0], properties=["name"]).to_dict()
        except NotFound:  # deleted since the deal listed it
            return None
        return (company.get("properties") or {}).get("name") or ""

    def _people(self, ids: list[str]) -> list[ContactPerson]:
        found: list[ContactPerson] = []
        api = self.client.api("crm.contacts.batch_api")
        for start in range(0, len(ids), BATCH_MAX):
            body = {
                "inputs": [{"id": i} for i in ids[start : start + BATCH_MAX]],
                "properties": list(mapping.CONTACT_PROPERTIES),
            }
            answer = self.client.call(api.read, batch_read_input_simple_public_object_id=body)
            found += [mapping.person(c) for c in answer.to_dict().get("results") or []]
        order = {contact_id: index for index, contact_id in enumerate(ids)}
        return sorted(found, key=lambda p: order.get(p.crm_id or "", len(order)))

    def _owner_email(self, owner_id: str | None) -> str | None:
        if not owner_id:
            return None
        with self._lock:
            if owner_id in self._owners:
                return self._owners[owner_id]
        api = self.client.api("crm.owners.owners_api")
        try:
            owner = self.client.call(api.get_by_id, int(owner_id)).to_dict()
        except (NotFound, ValueError):
            return None  # not cached: the owner may be added (or reactivated) later
        try:
            email = normalise_email(owner.get("email") or "")
        except UserError:
            email = None
        with self._lock:
            self._owners[owner_id] = email
        return email

    # writing back ----------------------------------------------------------------------

    def find_note(self, crm_deal_id: str, marker: str) -> str | None:
        return notes.find_note(self.client, crm_deal_id, marker)

    def create_note(self, crm_deal_id: str, *, body: str, at: datetime) -> str:
        return notes.create_note(self.client, crm_deal_id, body=body, at=at)

    def _read_pipelines(self) -> list[dict[str, Any]]:
        api = self.client.api("crm.pipelines.pipelines_api")
        return self.client.call(api.get_all, "deals").to_dict().get("results") or []
