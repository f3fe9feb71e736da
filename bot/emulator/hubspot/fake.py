"""`FakeHubSpot`: start a fake portal, seed it, script faults, and inspect what happened."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from bot.emulator.common.calls import CallInspection, CallRecord
from bot.emulator.common.faults import FaultPlan
from bot.emulator.hubspot.controls import FakeControls
from bot.emulator.hubspot.dispatch import Dispatcher, Tokens
from bot.emulator.hubspot.limits import HubSpotLimiter
from bot.emulator.hubspot.routes import ALL_SCOPES
from bot.emulator.hubspot.server import HubSpotHTTPServer
from bot.emulator.hubspot.shapes import iso_ms, stage_json
from bot.emulator.hubspot.store import Portal, object_json
from bot.emulator.hubspot.webhooks import WebhookEvents
from bot.emulator.serving import ServedFake

DEFAULT_TOKEN = "pat-na1-fake-0000"  # noqa: S105 - the fake's own token, valid nowhere else
DEFAULT_SECRET = "fake-client-secret"  # noqa: S105


class FakeHubSpot(FakeControls, CallInspection[CallRecord], ServedFake):
    """A HubSpot CRM API stand-in on 127.0.0.1 for `HubSpot(access_token=..., host=hub.url)`.

    Seeding and inspection go through the portal lock, so they are safe while the app
    calls the server from other threads. Rate limits are counted (and reported in the
    headers) always, enforced only with `rate_limits=True`, as in `FakeSlack`.
    `search_lag_ms` makes search trail writes like HubSpot's eventually consistent index;
    `monotonic` (limits) and `clock_ms` (record timestamps) replace the clocks in tests.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        client_secret: str = DEFAULT_SECRET,
        portal_id: int = 62515,
        scopes: Iterable[str] | None = None,
        rate_limits: bool = False,
        burst_max: int = 100,
        window_seconds: float = 10.0,
        daily_max: int = 250_000,
        search_per_second: int = 5,
        time_scale: float = 1.0,
        clock_ms: Callable[[], int] | None = None,
        monotonic: Callable[[], float] | None = None,
        search_lag_ms: int = 0,
    ) -> None:
        self.token, self.client_secret = token, client_secret
        self._portal = Portal(portal_id=portal_id, **({"clock": clock_ms} if clock_ms else {}))
        self._portal.index_lag_ms = search_lag_ms
        self._limiter = HubSpotLimiter(
            burst_max=burst_max,
            window_seconds=window_seconds,
            daily_max=daily_max,
            search_per_second=search_per_second,
            time_scale=time_scale,
            **({"clock": monotonic} if monotonic else {}),
        )
        self._limiter.enforce = rate_limits
        self._faults = FaultPlan()
        self._tokens = Tokens(token, set(ALL_SCOPES if scopes is None else scopes))
        self._dispatcher = Dispatcher(self._portal, self._tokens, self._limiter, self._faults)
        self._call_log = self._dispatcher.log
        self.events = WebhookEvents(portal_id, clock=self._portal.now_ms)

    # lifecycle ------------------------------------------------------------------------

    def _make_server(self) -> HubSpotHTTPServer:
        return HubSpotHTTPServer(self._dispatcher)

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`: the `host` for hubspot-api-client, and HUBSPOT_API_URL."""
        return self._origin()

    @property
    def portal_id(self) -> int:
        return self._portal.portal_id

    # seeding --------------------------------------------------------------------------

    def add_owner(
        self,
        email: str,
        first_name: str = "",
        last_name: str = "",
        *,
        owner_id: str | None = None,
        user_id: int | None = None,
    ) -> str:
        """An owner as GET /crm/v3/owners/{id} returns it (PublicOwner); returns its id."""
        portal = self._portal
        with portal.lock:
            owner_id = owner_id or str(41_000_000 + len(portal.owners) + 1)
            user_id = user_id or 7_100_000 + len(portal.owners) + 1
            stamp = iso_ms(portal.now_ms())
            portal.owners[owner_id] = {
                "id": owner_id,
                "email": email,
                "type": "PERSON",
                "firstName": first_name,
                "lastName": last_name,
                "userId": user_id,
                "userIdIncludingInactive": user_id,
                "createdAt": stamp,
                "updatedAt": stamp,
                "archived": False,
                "teams": [],
            }
        return owner_id

    def add_company(self, name: str | None, *, company_id: str | None = None, **props: Any) -> str:
        with self._portal.lock:
            fields = {"name": name, **props} if name is not None else props
            return self._portal.add("companies", fields, object_id=company_id).id

    def add_contact(
        self,
        email: str | None,
        firstname: str = "",
        lastname: str = "",
        *,
        contact_id: str | None = None,
        **props: Any,
    ) -> str:
        fields = {"email": email, "firstname": firstname, "lastname": lastname, **props}
        with self._portal.lock:
            return self._portal.add("contacts", fields, object_id=contact_id).id

    def add_deal(
        self,
        dealname: str,
        *,
        stage: str = "appointmentscheduled",
        pipeline: str = "default",
        amount: str | int | None = None,
        closedate: str | None = None,
        owner_id: str | None = None,
        company_ids: Iterable[str] = (),
        contact_ids: Iterable[str] = (),
        deal_id: str | None = None,
        modified_ms: int | None = None,
        **props: Any,
    ) -> str:
        """A deal; the first company is its primary one, as the HubSpot UI makes it."""
        fields = {
            "dealname": dealname,
            "dealstage": stage,
            "pipeline": pipeline,
            "amount": amount,
            "closedate": closedate,
            "hubspot_owner_id": owner_id,
            **props,
        }
        portal = self._portal
        with portal.lock:
            deal = portal.add("deals", fields, object_id=deal_id, modified_ms=modified_ms)
            for index, company in enumerate(company_ids):
                portal.associate_default("deals", deal.id, "companies", company, primary=not index)
            for contact in contact_ids:
                portal.associate_default("deals", deal.id, "contacts", contact)
            return deal.id

    def associate(
        self, from_type: str, from_id: str, to_type: str, to_id: str, *, primary: bool = False
    ) -> None:
        with self._portal.lock:
            self._portal.associate_default(from_type, from_id, to_type, to_id, primary=primary)

    def dissociate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        with self._portal.lock:
            self._portal.dissociate(from_type, from_id, to_type, to_id)

    def add_stage(
        self,
        pipeline_id: str,
        stage_id: str,
        label: str,
        *,
        closed: bool = False,
        probability: str = "0.5",
    ) -> None:
        """An admin adds a stage to a deal pipeline (POST /crm/v3/pipelines/deals/{id}/stages)."""
        with self._portal.lock:
            pipeline = next(p for p in self._portal.pipelines if p["id"] == pipeline_id)
            stage = (stage_id, label, "true" if closed else "false", probability)
            pipeline["stages"].append(stage_json(stage, len(pipeline["stages"])))

    # what people do in HubSpot --------------------------------------------------------

    def update_deal(self, deal_id: str, **props: Any) -> list[dict[str, Any]]:
        """Change deal properties (bumping hs_lastmodifieddate); returns the
        `deal.propertyChange` events HubSpot would send, one per property."""
        with self._portal.lock:
            deal = self._portal.update("deals", deal_id, props)
            return [
                self.events.deal_property_change(deal.id, name, str(deal.properties[name]))
                for name in props
            ]

    def move_stage(self, deal_id: str, stage: str) -> dict[str, Any]:
        """Move a deal to `stage`; returns the `deal.propertyChange` event for dealstage."""
        return self.update_deal(deal_id, dealstage=stage)[0]

    def delete_deal(self, deal_id: str) -> dict[str, Any]:
        with self._portal.lock:
            self._portal.archive("deals", deal_id)
            return self.events.deal_deletion(deal_id)

    # inspection -----------------------------------------------------------------------

    def _all_props(self, kind: str, object_id: str) -> dict[str, Any]:
        obj = self._portal.objects[kind][object_id]
        return object_json(obj, list(obj.properties))

    def deal(self, deal_id: str) -> dict[str, Any]:
        with self._portal.lock:
            return self._all_props("deals", deal_id)

    def notes(self) -> list[dict[str, Any]]:
        """Every note created through the API, oldest first, with all its properties."""
        with self._portal.lock:
            return [self._all_props("notes", i) for i in self._portal.objects["notes"]]

    def notes_for_deal(self, deal_id: str) -> list[dict[str, Any]]:
        with self._portal.lock:
            found = self._portal.associated("deals", deal_id, "notes")
            return [self._all_props("notes", note_id) for note_id, _ in found]

    def associations(self, from_type: str, from_id: str, to_type: str) -> list[str]:
        with self._portal.lock:
            return [i for i, _ in self._portal.associated(from_type, from_id, to_type)]

    def snapshot(self) -> dict[str, Any]:
        """Deep copy of the raw store, for debugging a failing test."""
        with self._portal.lock:
            return copy.deepcopy({"objects": self._portal.objects, "edges": self._portal.edges})
