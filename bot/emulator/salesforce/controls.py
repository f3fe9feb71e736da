"""What a test scripts on a running `FakeSalesforce`: sessions, visibility, limits, time
and faults."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from bot.emulator.common.faults import FaultScripting
from bot.emulator.salesforce.auth import TokenDesk
from bot.emulator.salesforce.cursors import Cursors
from bot.emulator.salesforce.faults import FaultPlan, SalesforceFault
from bot.emulator.salesforce.limits import DailyAllowance
from bot.emulator.salesforce.schema import sobject
from bot.emulator.salesforce.store import Org, parse_datetime

NO_RUN_AS_USER = "no client credentials user enabled"


class FakeControls(FaultScripting[SalesforceFault]):
    """Mixed into `FakeSalesforce`, which sets these attributes; `drop_next`, `delay_next`
    and `clear_faults` come from `FaultScripting`."""

    _org: Org
    _desk: TokenDesk
    _allowance: DailyAllowance
    _faults: FaultPlan
    _cursors: Cursors
    _fault_type = SalesforceFault

    # sessions ---------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (session timeout, or an admin revoked
        them): REST calls answer 401 INVALID_SESSION_ID until a new token is fetched."""
        self._desk.expire_all()

    def refuse_grant(self, description: str = NO_RUN_AS_USER) -> None:
        """The token endpoint answers 400 invalid_grant with `description` (the flow was
        disabled, or its run-as user removed or deactivated); issued tokens keep working."""
        self._desk.grant_refusal = description

    def allow_grant(self) -> None:
        self._desk.grant_refusal = None

    def rotate_secret(self, client_secret: str) -> None:
        """The app's consumer secret changed: the old one answers invalid_client."""
        self._desk.client_secret = client_secret

    # what the integration user may see --------------------------------------------------

    def hide_field(self, object_name: str, field_name: str) -> None:
        """Field-level security hides the field: queries naming it answer INVALID_FIELD."""
        spec = sobject(object_name)
        if spec is None or spec.field(field_name) is None:
            raise KeyError(f"unknown field {object_name}.{field_name}")
        with self._org.lock:
            self._org.hidden.add((object_name.lower(), field_name.lower()))

    def show_field(self, object_name: str, field_name: str) -> None:
        with self._org.lock:
            self._org.hidden.discard((object_name.lower(), field_name.lower()))

    def hide_object(self, object_name: str) -> None:
        """No read access to the object at all: INVALID_TYPE, in FROM or a subquery."""
        with self._org.lock:
            self._org.hidden_objects.add(object_name.lower())

    def show_object(self, object_name: str) -> None:
        with self._org.lock:
            self._org.hidden_objects.discard(object_name.lower())

    # limits and cursors -----------------------------------------------------------------

    @property
    def api_usage(self) -> tuple[int, int]:
        """(calls counted in the last 24 hours, the daily allowance)."""
        return self._allowance.used(), self._allowance.allowance

    def set_allowance(self, allowance: int) -> None:
        self._allowance.allowance = allowance

    def use_api_calls(self, count: int) -> None:
        """Spend `count` calls of the allowance, as other integrations on the org would."""
        self._allowance.use(count)

    def reset_limits(self) -> None:
        self._allowance.reset()

    def expire_query_locators(self) -> None:
        """Close every open cursor: the next nextRecordsUrl answers INVALID_QUERY_LOCATOR."""
        self._cursors.close_all()

    # time -------------------------------------------------------------------------------

    def set_time(self, at: str | datetime | float | None) -> None:
        """Freeze the org's clock at `at` (ISO text, datetime, epoch seconds); None: real."""
        with self._org.lock:
            self._org.set_time(None if at is None else parse_datetime(at))

    def advance_time(self, seconds: float) -> None:
        with self._org.lock:
            self._org.advance(seconds)

    @contextmanager
    def same_second(self) -> Iterator[None]:
        """Every save inside the block gets the same SystemModstamp (the clock stops)."""
        with self._org.lock:
            previous = self._org.frozen_at
            self._org.set_time(float(int(self._org.now())))
        try:
            yield
        finally:
            with self._org.lock:
                self._org.set_time(previous)

    # faults -----------------------------------------------------------------------------

    def fail_next(
        self,
        pattern: str,
        status: int = 503,
        *,
        count: int = 1,
        after_effect: bool = False,
        retry_after: float | None = None,
    ) -> None:
        """The next `count` matching calls answer `status` (503 SERVER_UNAVAILABLE, 500
        UNKNOWN_EXCEPTION...), untouched unless `after_effect`."""
        fault = SalesforceFault(
            kind="status",
            label=f"http_{status}",
            status=status,
            after_effect=after_effect,
            remaining=count,
            retry_after=retry_after,
        )
        self._faults.add(pattern, fault)

    def hang_next(self, pattern: str, *, after_effect: bool = False) -> threading.Event:
        """The next matching call waits (after its effect, if asked) until the returned
        event is set or `clear_faults()` runs."""
        fault = SalesforceFault(kind="hang", label="hang", after_effect=after_effect)
        self._faults.add(pattern, fault)
        return fault.release
