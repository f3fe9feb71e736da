"""`FakeSalesforce`: start a fake org over HTTPS, seed it, script faults, inspect calls."""

from __future__ import annotations

import copy
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any

from bot.emulator.salesforce import tls as tls_files
from bot.emulator.salesforce.auth import TokenDesk
from bot.emulator.salesforce.controls import FakeControls
from bot.emulator.salesforce.cursors import Cursors
from bot.emulator.salesforce.dispatch import CallRecord, Dispatcher
from bot.emulator.salesforce.faults import FaultPlan
from bot.emulator.salesforce.handlers import Context
from bot.emulator.salesforce.limits import DailyAllowance
from bot.emulator.salesforce.query import render_value
from bot.emulator.salesforce.schema import SCHEMA, Stage
from bot.emulator.salesforce.server import SalesforceHTTPServer
from bot.emulator.salesforce.store import Org, format_date, format_datetime, parse_datetime

DEFAULT_CLIENT_ID = "3MVG9fake.consumer.key"
DEFAULT_CLIENT_SECRET = "fake-consumer-secret"  # noqa: S105 - the fake's own, valid nowhere else
Moment = str | float | None


class FakeSalesforce(FakeControls):
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
        self._tls_option = tls
        self._tls: tls_files.ServerTLS | None = None
        self._dir: Path | None = None
        self._server: SalesforceHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeSalesforce:
        if self._server is not None:
            raise RuntimeError("FakeSalesforce is already started")
        if self._tls_option is not False:
            self._dir = Path(tempfile.mkdtemp(prefix="fake-salesforce-"))
            self._tls = (
                tls_files.generate(self._dir)
                if self._tls_option is True
                else tls_files.from_trustme(self._tls_option, self._dir)
            )
        self._server = SalesforceHTTPServer(self._dispatcher, self._tls and self._tls.context)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="fake-salesforce",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._faults.clear()  # release hung calls so their threads end
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        self._server = self._thread = self._dir = None

    def __enter__(self) -> FakeSalesforce:
        return self if self._server is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def instance_url(self) -> str:
        """`https://127.0.0.1:PORT`: SALESFORCE_INSTANCE_URL and the token's instance_url."""
        if self._server is None:
            raise RuntimeError("call FakeSalesforce.start() first")
        host, port = self._server.server_address[:2]
        return f"{'https' if self._tls else 'http'}://{host}:{port}"

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

    # seeding ----------------------------------------------------------------------------

    def _add(self, object_name: str, values: dict[str, Any], at: Moment = None) -> str:
        with self._org.lock:
            return self._org.add(object_name, values, at=_moment(at))

    def add_user(self, email: str, first_name: str = "", last_name: str = "") -> str:
        name = f"{first_name} {last_name}".strip() or email
        values = {
            "Email": email,
            "FirstName": first_name or None,
            "LastName": last_name,
            "Name": name,
            "Username": email,
            "IsActive": True,
        }
        return self._add("User", values)

    def add_account(self, name: str) -> str:
        return self._add("Account", {"Name": name})

    def add_contact(
        self,
        email: str | None,
        first_name: str = "",
        last_name: str = "",
        *,
        account_id: str | None = None,
    ) -> str:
        name = f"{first_name} {last_name}".strip()
        values = {
            "Email": email,
            "FirstName": first_name or None,
            "LastName": last_name,
            "Name": name,
            "AccountId": account_id,
        }
        return self._add("Contact", values)

    def add_stage(
        self, name: str, probability: float, *, closed: bool = False, won: bool = False
    ) -> None:
        """A custom opportunity stage (Setup → Opportunity Stages)."""
        with self._org.lock:
            self._org.stages[name.lower()] = Stage(name, probability, closed, won)

    def add_opportunity(
        self,
        name: str,
        *,
        stage: str = "Prospecting",
        amount: float | None = None,
        close_date: str | date = "2026-06-30",
        account_id: str | None = None,
        owner_id: str | None = None,
        probability: float | None = None,
        contact_ids: Iterable[str] = (),
        primary_contact_id: str | None = None,
        modstamp: Moment = None,
    ) -> str:
        """An Opportunity, with a contact role per contact (`primary_contact_id` primary;
        the first one when not given). `modstamp` sets its SystemModstamp."""
        values: dict[str, Any] = {
            "Name": name,
            "StageName": stage,
            "CloseDate": format_date(close_date),
            "Amount": None if amount is None else float(amount),
            "AccountId": account_id,
            "OwnerId": owner_id or self._org.integration_user,
        }
        if probability is not None:
            values["Probability"] = float(probability)
        contacts = list(contact_ids)
        primary = primary_contact_id or (contacts[0] if contacts else None)
        with self._org.lock:
            opportunity = self._add("Opportunity", values, modstamp)
            for contact in contacts:
                self.add_contact_role(opportunity, contact, primary=contact == primary)
            return opportunity

    def add_contact_role(
        self,
        opportunity_id: str,
        contact_id: str,
        *,
        primary: bool = False,
        role: str | None = "Decision Maker",
    ) -> str:
        values = {
            "OpportunityId": opportunity_id,
            "ContactId": contact_id,
            "IsPrimary": primary,
            "Role": role,
        }
        return self._add("OpportunityContactRole", values)

    # what people do in Salesforce -------------------------------------------------------

    def update_opportunity(
        self, opportunity_id: str, *, modstamp: Moment = None, **fields: Any
    ) -> str:
        """Save the Opportunity with `fields` (API names: StageName, Amount, ...); a stage
        change moves IsClosed/IsWon/Probability. Returns the new SystemModstamp."""
        if "CloseDate" in fields:
            fields["CloseDate"] = format_date(fields["CloseDate"])
        for name in ("Amount", "Probability"):
            if fields.get(name) is not None:
                fields[name] = float(fields[name])
        with self._org.lock:
            record = self._org.update("Opportunity", opportunity_id, fields, at=_moment(modstamp))
            return format_datetime(record["SystemModstamp"])

    def touch(self, opportunity_id: str, *, modstamp: Moment = None) -> str:
        """A save that changes nothing visible (a workflow, a rollup) but bumps the stamp."""
        return self.update_opportunity(opportunity_id, modstamp=modstamp)

    def delete_opportunity(self, opportunity_id: str) -> None:
        with self._org.lock:
            self._org.update("Opportunity", opportunity_id, {"IsDeleted": True})

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

    @property
    def calls(self) -> list[CallRecord]:
        return self._dispatcher.calls()

    def calls_to(self, pattern: str) -> list[CallRecord]:
        """Calls whose `"METHOD /path"` matches the glob (a bare path: any method)."""
        return self._dispatcher.calls(pattern)

    def call_count(self, pattern: str) -> int:
        return len(self._dispatcher.calls(pattern))

    def call_counts(self) -> dict[str, int]:
        """`{"GET /services/data/v59.0/query": 3, ...}`; query-more calls are counted under
        `.../query/<locator>` without the row offset."""
        return dict(Counter(_counted(c.endpoint) for c in self._dispatcher.calls()))

    def reset_calls(self) -> None:
        self._dispatcher.reset_calls()

    def snapshot(self) -> dict[str, Any]:
        """Deep copy of the raw records, for debugging a failing test."""
        with self._org.lock:
            return copy.deepcopy(self._org.records)


def _moment(at: Moment) -> float | None:
    return None if at is None else parse_datetime(at)


def _counted(endpoint: str) -> str:
    head, _, tail = endpoint.rpartition("/query/")
    return f"{head}/query/{tail.rsplit('-', 1)[0]}" if head else endpoint
