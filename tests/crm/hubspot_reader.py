"""A small CrmConnector for tests: reads a deal from the HubSpot fake over HTTP (urllib).

It stands in for the real connector (`bot/crm/hubspot/`, written elsewhere) so the CRM
news flow is tested against the protocol, with HubSpot's documented CRM v3 calls:
GET /crm/v3/objects/deals/{id} (with `associations`), the pipelines, the company, the
contacts and the owner. 401/403/429/5xx and a dropped connection are
ConnectorUnavailable; 404 is a deleted deal.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from decimal import Decimal
from typing import Any

from bot.crm.connector import ConnectorUnavailable
from bot.crm.records import ContactPerson, DealRecord

DEAL_PROPERTIES = "dealname,amount,closedate,dealstage,pipeline,hubspot_owner_id"


class NotFound(Exception):
    pass


class HubSpotReader:
    name = "hubspot"

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.reads: list[str] = []
        self.hold: threading.Event | None = None  # set: each read waits for it
        self.reading = threading.Event()  # set while a read is under way

    def _get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        request = urllib.request.Request(self.url + path + query)
        request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise NotFound(path) from None
            raise ConnectorUnavailable(
                "hubspot", f"HTTP {error.code}", credential=error.code in (401, 403)
            ) from None
        except OSError as error:
            raise ConnectorUnavailable("hubspot", str(error)) from None

    def read_deal(self, crm_id: str) -> DealRecord:
        self.reads.append(crm_id)
        self.reading.set()
        if self.hold is not None:
            assert self.hold.wait(20), "the test never released the read"
        try:
            deal = self._get(f"/crm/v3/objects/deals/{crm_id}", properties=DEAL_PROPERTIES,
                             associations="companies,contacts")  # fmt: skip
        except NotFound:
            return DealRecord(crm_id=crm_id, source="hubspot", deleted=True)
        finally:
            self.reading.clear()
        props, links = deal["properties"], deal.get("associations") or {}
        label, status, probability = self._stage(props.get("pipeline"), props.get("dealstage"))
        companies = [c["id"] for c in links.get("companies", {}).get("results", [])]
        company = props.get("dealname")
        if companies:
            company = self._get(f"/crm/v3/objects/companies/{companies[0]}",
                                properties="name")["properties"].get("name") or company  # fmt: skip
        people = tuple(self._person(c["id"]) for c in links.get("contacts", {}).get("results", []))
        owner = props.get("hubspot_owner_id")
        return DealRecord(
            crm_id=crm_id, stage=label, company=company, source="hubspot",
            amount=Decimal(props["amount"]) if props.get("amount") else None,
            close_date=_date(props.get("closedate")),
            stage_id=props.get("dealstage"), pipeline=props.get("pipeline"),
            stage_status=status, probability=probability, people=people,
            contacts=tuple(p.email for p in people if p.email),
            owner_email=self._get(f"/crm/v3/owners/{owner}")["email"] if owner else None,
        )  # fmt: skip

    def _stage(self, pipeline: str | None, stage_id: str | None) -> tuple[str, str, float | None]:
        for found in self._get("/crm/v3/pipelines/deals")["results"]:
            for stage in found["stages"] if found["id"] == pipeline else ():
                if stage["id"] == stage_id:
                    meta = stage["metadata"]
                    probability = float(meta["probability"])
                    closed = meta.get("isClosed") == "true"
                    status = ("won" if probability == 1 else "lost") if closed else "open"
                    return stage["label"], status, probability
        return stage_id or "", "", None

    def _person(self, contact_id: str) -> ContactPerson:
        props = self._get(f"/crm/v3/objects/contacts/{contact_id}",
                          properties="email,firstname,lastname")["properties"]  # fmt: skip
        return ContactPerson(props.get("email") or None, props.get("firstname") or "",
                             props.get("lastname") or "", crm_id=contact_id)  # fmt: skip


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None
