"""What `POST /sobjects/Task/` accepts, and the errors Salesforce gives for the rest.

Field rules are Task's from the Object Reference: `WhatId` ("Related To") an Account or
Opportunity, `WhoId` ("Name") a Contact, `OwnerId` ("Assigned To") a User (default: the
run-as user), `Status` and `Priority` restricted picklists defaulting to "Not Started"
and "Normal", `Subject` up to 255 characters, `Description` up to 32,000, `ActivityDate`
a date. `IsClosed` follows the status and cannot be written.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.emulator.salesforce.ids import canonical
from bot.emulator.salesforce.schema import (
    SCHEMA,
    TASK_PRIORITIES,
    TASK_STATUSES,
    TASK_SUBTYPES,
    Field,
)
from bot.emulator.salesforce.store import Org

_LOOKUPS = {  # field -> (label, object names it may point at)
    "WhatId": ("Related To ID", ("Opportunity", "Account")),
    "WhoId": ("Name ID", ("Contact",)),
    "OwnerId": ("Assigned To ID", ("User",)),
}
_PICKLISTS = {
    "Status": tuple(TASK_STATUSES),
    "Priority": TASK_PRIORITIES,
    "TaskSubtype": TASK_SUBTYPES,
}


class TaskError(Exception):
    def __init__(self, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields


def validate_task(org: Org, body: Any) -> dict[str, Any]:
    """The Task's stored values, defaults filled in, or the first TaskError."""
    if not isinstance(body, dict):
        raise TaskError(
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of Task from the request body: a JSON object is expected",
        )
    spec = SCHEMA["task"]
    values: dict[str, Any] = {}
    for key, raw in body.items():
        found = spec.field(key)
        if found is None or not org.visible("Task", found.name):
            raise TaskError("INVALID_FIELD", f"No such column '{key}' on sobject of type Task")
        if not found.createable:
            raise TaskError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {found.name}. Please check the "
                "security settings of this field and verify that it is read/write "
                "for your profile or permission set.",
                [found.name],
            )
        values[found.name] = _value(org, found, raw)
    values.setdefault("Status", "Not Started")
    values.setdefault("Priority", "Normal")
    values.setdefault("TaskSubtype", "Task")
    values.setdefault("OwnerId", org.integration_user)
    for name in ("Status", "Priority"):
        if values[name] is None:
            raise TaskError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]", [name]
            )
    values["IsClosed"] = TASK_STATUSES[values["Status"]]
    return values


def _value(org: Org, spec: Field, raw: Any) -> Any:
    if raw is None:
        return None
    if isinstance(raw, dict | list):
        raise TaskError(
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {spec.kind} from "
            f"{'START_OBJECT' if isinstance(raw, dict) else 'START_ARRAY'} value "
            f"for field {spec.name}",
        )
    text = str(raw).lower() if isinstance(raw, bool) else str(raw)
    if spec.name in _LOOKUPS:
        return _lookup(org, spec.name, text)
    if spec.kind == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise TaskError(
                "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of date from "
                f"VALUE_STRING value {text} or request may be missing a required "
                "field",
            ) from None
    allowed = _PICKLISTS.get(spec.name)
    if allowed is not None and text not in allowed:
        raise TaskError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{spec.name}: bad value for restricted picklist field: {text}",
            [spec.name],
        )
    if spec.max_length is not None and len(text) > spec.max_length:
        raise TaskError(
            "STRING_TOO_LONG",
            f"{spec.name}: data value too large: {text[:80]} (max length={spec.max_length})",
            [spec.name],
        )
    return text


def _lookup(org: Org, name: str, text: str) -> str:
    label, targets = _LOOKUPS[name]
    found = canonical(text)
    if found is None:
        raise TaskError("MALFORMED_ID", f"{label}: id value of incorrect type: {text}", [name])
    target = org.find(found)
    prefixes = {SCHEMA[t.lower()].prefix for t in targets}
    if found[:3] not in prefixes:
        raise TaskError(
            "FIELD_INTEGRITY_EXCEPTION", f"{label}: id value of incorrect type: {text}", [name]
        )
    if target is None:
        raise TaskError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name])
    return found
