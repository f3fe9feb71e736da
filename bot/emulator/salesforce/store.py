"""The fake org's records, its clock and what the integration user may see.

Values are kept as the API reports them: text as str, currency and percent as float,
dates as `YYYY-MM-DD`, booleans as bool. Datetimes are whole epoch seconds, because
Salesforce stores `SystemModstamp` to the second: two saves in the same second carry the
same stamp, which is what a cursor on `SystemModstamp` has to survive. Stamps never go
backwards; `set_time`/`advance_time` freeze and move the clock so tests can make
same-second records on purpose.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from bot.emulator.salesforce.ids import canonical, make_id
from bot.emulator.salesforce.schema import DEFAULT_STAGES, PREFIXES, SCHEMA, Stage, sobject

ORG_ID = "00DDn0000FakeOrgAA"  # 18 characters, as the API gives org ids
INTEGRATION_USER = "integration@careintro.fake"


def parse_datetime(value: str | datetime | float) -> float:
    """Epoch seconds from a datetime, epoch seconds, or ISO 8601 text (`Z` or offsets)."""
    if isinstance(value, int | float):
        return float(value)
    moment = (
        value
        if isinstance(value, datetime)
        else datetime.fromisoformat(value.replace("Z", "+00:00"))
    )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def format_datetime(seconds: float) -> str:
    """`2026-01-05T10:00:00.000+0000`: how the REST API writes a dateTime."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(seconds * 1000) % 1000:03d}+0000"


def format_date(value: str | date) -> str:
    return value.isoformat() if isinstance(value, date) else date.fromisoformat(value).isoformat()


class Org:
    """Records by object name and id; all access goes through `lock` (an RLock)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, dict[str, Any]]] = {o.name: {} for o in SCHEMA.values()}
        self.hidden: set[tuple[str, str]] = set()  # (object, field), lower-cased
        self.hidden_objects: set[str] = set()
        self.stages: dict[str, Stage] = {s.name.lower(): s for s in DEFAULT_STAGES}
        self._clock = clock
        self._frozen: float | None = None
        self._last_stamp = 0
        self._counter = 0
        self._children: dict[tuple[str, str], dict[Any, list[dict[str, Any]]]] = {}
        self.integration_user = self.add("User", {"Email": INTEGRATION_USER, "Name": "Integration"})

    # time -------------------------------------------------------------------------------

    def now(self) -> float:
        return self._frozen if self._frozen is not None else self._clock()

    @property
    def frozen_at(self) -> float | None:
        return self._frozen

    def set_time(self, at: float | None) -> None:
        """Freeze the clock at `at` (None: real time again). Stamps follow it, even back in
        time: only saves made without an explicit time are kept from going backwards."""
        self._frozen = at
        self._last_stamp = min(self._last_stamp, int(self.now()))

    def advance(self, seconds: float) -> None:
        self._frozen = self.now() + seconds

    def stamp(self, at: float | None = None) -> int:
        """A SystemModstamp: whole seconds, never before the last one handed out."""
        second = int(self.now() if at is None else at)
        if at is None:
            second = max(second, self._last_stamp)
        self._last_stamp = max(self._last_stamp, second)
        return second

    # records ----------------------------------------------------------------------------

    def new_id(self, object_name: str) -> str:
        self._counter += 1
        return make_id(SCHEMA[object_name.lower()].prefix, self._counter)

    def add(self, object_name: str, values: dict[str, Any], *, at: float | None = None) -> str:
        spec = SCHEMA[object_name.lower()]
        stamp = self.stamp(at)
        record: dict[str, Any] = {f.name: None for f in spec.fields.values()}
        record.update(values)
        record.update(Id=self.new_id(spec.name), IsDeleted=False)
        record.update(CreatedDate=stamp, LastModifiedDate=stamp, SystemModstamp=stamp)
        if spec.name == "Opportunity":
            self._apply_stage(record, explicit_probability="Probability" in values)
        self.records[spec.name][record["Id"]] = record
        self._changed(spec.name)
        return record["Id"]

    def update(
        self, object_name: str, record_id: str, values: dict[str, Any], *, at: float | None = None
    ) -> dict[str, Any]:
        record = self.get(object_name, record_id)
        if record is None:
            raise KeyError(f"no {object_name} {record_id}")
        record.update(values)
        if object_name == "Opportunity":
            self._apply_stage(
                record,
                explicit_probability="Probability" in values,
                stage_changed="StageName" in values,
            )
        stamp = self.stamp(at)
        record.update(LastModifiedDate=stamp, SystemModstamp=stamp)
        self._changed(object_name)
        return record

    def get(self, object_name: str, record_id: str | None) -> dict[str, Any] | None:
        found = canonical(record_id) if record_id else None
        return self.records[object_name].get(found) if found else None

    def children(self, object_name: str, via: str, parent_id: str) -> list[dict[str, Any]]:
        """The `object_name` records whose `via` holds `parent_id` (a parent-to-child
        subquery), oldest first: an index built at first use, dropped when that object's
        records change, so a batch of 2,000 parents does not scan every child 2,000 times."""
        index = self._children.get((object_name, via))
        if index is None:
            index = {}
            for record in self.records[object_name].values():
                index.setdefault(record.get(via), []).append(record)
            self._children[(object_name, via)] = index
        return list(index.get(parent_id, ()))

    def _changed(self, object_name: str) -> None:
        if self._children:
            self._children = {k: v for k, v in self._children.items() if k[0] != object_name}

    def find(self, record_id: str | None) -> tuple[str, dict[str, Any]] | None:
        """The object name and record for any id, by its key prefix."""
        found = canonical(record_id) if record_id else None
        name = PREFIXES.get(found[:3]) if found else None
        if name is None or found not in self.records[name]:
            return None
        return name, self.records[name][found]

    def _apply_stage(
        self, record: dict[str, Any], *, explicit_probability: bool, stage_changed: bool = True
    ) -> None:
        """IsClosed/IsWon follow the stage; Probability too unless it was set with it."""
        stage = self.stages.get(str(record.get("StageName") or "").lower())
        if stage is None:
            return
        record["IsClosed"], record["IsWon"] = stage.closed, stage.won
        if stage_changed and not explicit_probability:
            record["Probability"] = float(stage.probability)

    # visibility -------------------------------------------------------------------------

    def visible(self, object_name: str, field_name: str) -> bool:
        return (object_name.lower(), field_name.lower()) not in self.hidden

    def object_visible(self, object_name: str) -> bool:
        return object_name.lower() not in self.hidden_objects and sobject(object_name) is not None
