"""`FakeSalesforce`: start a fake org over HTTPS, seed it, script faults, inspect calls."""

from __future__ import annotations

import copy
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.emulator.common.calls import CallInspection
from bot.emulator.salesforce import tls as tls_files
from bot.emulator.salesforce.auth import TokenDesk
from bot.emulator.salesforce.controls import FakeControls
from bot.emulator.salesforce.cursors import Cursors
from bot.emulator.salesforce.dispatch import CallRecord, Dispatcher
from bot.emulator.salesforce.faults import FaultPlan
from bot.emulator.salesforce.handlers import Context
from bot.emulator.salesforce.limits import DailyAllowance
from bot.emulator.salesforce.outbound import Delivery, deliver, notifications_body
from bot.emulator.salesforce.render import render_value
from bot.emulator.salesforce.schema import SCHEMA
from bot.emulator.salesforce.seeding import FakeSeeding
from bot.emulator.salesforce.server import SalesforceHTTPServer
from bot.emulator.salesforce.store import ORG_ID, Org
from bot.emulator.serving import ServedFake

DEFAULT_CLIENT_ID = "3MVG9fake.consumer.key"
DEFAULT_CLIENT_SECRET = "fake-consumer-secret"  # noqa: S105 - the fake's own, valid nowhere else


class FakeSalesforce(FakeSeeding, FakeControls, CallInspection[CallRecord], ServedFake):
    """A Salesforce org on https://127.0.0.1:PORT for the client credentials flow and REST.

    `tls`: True makes a CA with `cryptography`; a `trustme.CA()` issues the certificate
    instead; False serves plain HTTP (for raw clients only: simple-salesforce always
    builds https URLs). `daily_allowance` is the API request limit; `session_seconds`
    makes tokens time out on the org clock (None: only `expire_tokens()` ends them);
    `max_batch` caps query batches below the 2,000 Salesforce allows (it may return
    fewer than asked); `clock` replaces time.time for record stamps, sessions and limits.
    """

    def __init__(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        tls: Any = True,
        daily_allowance: int = 100_000,
        session_seconds: float | None = None,
        max_batch: int = 2000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._org = Org(clock)
        self._desk = TokenDesk(client_id, client_secret, session_seconds=session_seconds)
        self._allowance = DailyAllowance(daily_allowance, self._org.now)
        self._faults = FaultPlan()
        self._cursors = Cursors(self._org.now)
        context = Context(self._org, self._cursors, lambda: self.api_usage, max_batch)
        self._dispatcher = Dispatcher(
            context, self._desk, self._allowance, self._faults, lambda: self.instance_url
        )
        self._call_log = self._dispatcher.log
        self._tls_option = tls
        self._tls: tls_files.ServerTLS | None = None
        self._dir: Path | None = None

    # lifecycle (start / stop / `with` from ServedFake) ---------------------------------

    def _make_server(self) -> SalesforceHTTPServer:
        """The server, behind a fresh test CA's certificate unless `tls=False`."""
        if self._tls_option is not False:
            self._dir = Path(tempfile.mkdtemp(prefix="fake-salesforce-"))
            self._tls = (
                tls_files.generate(self._dir)
                if self._tls_option is True
                else tls_files.from_trustme(self._tls_option, self._dir)
            )
        return SalesforceHTTPServer(
            self._dispatcher, self._tls and self._tls.context, clock=self._org.now
        )

    def _before_stop(self) -> None:
        self._faults.clear()  # release hung calls so their threads end

    def stop(self) -> None:
        """Stop serving and remove the certificate files; the fake can start again."""
        super().stop()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        self._server = self._thread = self._dir = None

    @property
    def instance_url(self) -> str:
        """`https://127.0.0.1:PORT`: SALESFORCE_INSTANCE_URL and the token's instance_url."""
        return self._origin("https" if self._tls else "http")

    @property
    def token_url(self) -> str:
        return f"{self.instance_url}/services/oauth2/token"

    @property
    def ca_pem_path(self) -> str:
        """The CA to trust (requests' `verify=`, REQUESTS_CA_BUNDLE or SSL_CERT_FILE)."""
        if self._tls is None:
            raise RuntimeError("FakeSalesforce runs without TLS (tls=False) or is not started")
        return str(self._tls.ca_pem_path)

    @property
    def client_id(self) -> str:
        return self._desk.client_id

    @property
    def client_secret(self) -> str:
        return self._desk.client_secret

    @property
    def integration_user_id(self) -> str:
        return self._org.integration_user

    # what the org sends ------------------------------------------------------------------

    def send_outbound_message(
        self, url: str, record_ids: list[str], *, object_name: str = "Opportunity",
        org_id: str | None = None, serial: int = 1,
    ) -> Delivery:  # fmt: skip
        """An Outbound Message about these records, as a record-triggered Flow sends it
        (the Id and the stage, for an Opportunity), and whether Salesforce would count it
        delivered. `org_id` stands in for another org's message."""
        sent = ("Id", "StageName") if object_name == "Opportunity" else ("Id",)
        with self._org.lock:
            found = [self._org.get(object_name, i) or {"Id": i} for i in record_ids]
            records = [{name: each[name] for name in sent if name in each} for each in found]
        body = notifications_body(
            org_id=org_id or ORG_ID, instance_url=self.instance_url, records=records,
            object_name=object_name, serial=serial,
        )  # fmt: skip
        return deliver(url, body)

    # inspection -------------------------------------------------------------------------

    def record(self, object_name: str, record_id: str) -> dict[str, Any]:
        """Every field of a record as the REST API renders it."""
        spec = SCHEMA[object_name.lower()]
        with self._org.lock:
            found = self._org.get(spec.name, record_id)
            if found is None:
                raise KeyError(f"no {spec.name} {record_id}")
            return {f.name: render_value(f, found.get(f.name)) for f in spec.fields.values()}

    def opportunity(self, opportunity_id: str) -> dict[str, Any]:
        return self.record("Opportunity", opportunity_id)

    def tasks(self, what_id: str | None = None) -> list[dict[str, Any]]:
        """Tasks created through the API, oldest first (those on `what_id` only, if given)."""
        with self._org.lock:
            ids = list(self._org.records["Task"])
        found = [self.record("Task", i) for i in ids]
        return [t for t in found if what_id is None or t["WhatId"] == self._canonical(what_id)]

    def _canonical(self, record_id: str) -> str | None:
        located = self._org.find(record_id)
        return located[1]["Id"] if located else None

    def call_counts(self) -> dict[str, int]:
        """`{"GET /services/data/v59.0/query": 3, ...}`; query-more calls are counted under
        `.../query/<locator>` without the row offset."""
        return dict(Counter(_counted(c.endpoint) for c in self.calls))

    def snapshot(self) -> dict[str, Any]:
        """Deep copy of the raw records, for debugging a failing test."""
        with self._org.lock:
            return copy.deepcopy(self._org.records)


def _counted(endpoint: str) -> str:
    head, _, tail = endpoint.rpartition("/query/")
    return f"{head}/query/{tail.rsplit('-', 1)[0]}" if head else endpoint
