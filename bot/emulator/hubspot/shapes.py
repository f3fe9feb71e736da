"""HubSpot's JSON shapes: timestamps, CRM objects, error bodies and the deal pipelines.

Every shape here is what `hubspot-api-client`'s generated models require (their
`client_side_validation` rejects a missing `createdAt`, `id`, `category`, ...):
`SimplePublicObjectWithAssociations`, `Error`, `Pipeline`/`PipelineStage`. Error bodies
follow the "Error handling" section of HubSpot's API usage guidelines: `status`,
`message`, `correlationId`, `category`, plus `errors`/`context`/`links` when HubSpot adds
them; the 429 body adds `errorType` and `policyName` as that page's example shows.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

# HubSpot's own epoch stamp for objects that ship with every portal (default pipeline).
EPOCH_ISO = "1970-01-01T00:00:00Z"


def iso_ms(ms: int) -> str:
    """`2024-05-01T12:00:00.123Z`: the form HubSpot uses for datetime properties."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_time_ms(value: str | int | float) -> int:
    """Epoch milliseconds from what HubSpot accepts for a datetime: millis or ISO 8601."""
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def correlation_id() -> str:
    return str(uuid.uuid4())


def error_body(category: str, message: str, **extra: Any) -> dict[str, Any]:
    """HubSpot's v3 error object (the client's `Error` model)."""
    return {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
        "category": category,
        **extra,
    }


def not_found(message: str = "resource not found", **extra: Any) -> dict[str, Any]:
    return error_body("OBJECT_NOT_FOUND", message, **extra)


def validation_error(message: str, **extra: Any) -> dict[str, Any]:
    return error_body("VALIDATION_ERROR", message, **extra)


def invalid_authentication() -> dict[str, Any]:
    """What HubSpot answers to a request without (or with an unknown) bearer token."""
    return error_body(
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication "
        "and you can find more details at "
        "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
    )


def missing_scopes(required: list[str]) -> dict[str, Any]:
    """403 for a token whose private app lacks the scopes this endpoint needs."""
    return error_body(
        "MISSING_SCOPES",
        "This app hasn't been granted all required scopes to make this call. "
        "Read more about required scopes here: https://developers.hubspot.com/scopes.",
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": required},
            }
        ],
        links={"scopes": "https://developers.hubspot.com/scopes"},
    )


def rate_limited(policy: str) -> dict[str, Any]:
    """The 429 body: `policyName` says which limit was hit (TEN_SECONDLY_ROLLING, SECONDLY,
    DAILY); `errorType` is the documented field, `category` what v3 endpoints add."""
    return error_body(
        "RATE_LIMITS",
        f"You have reached your {policy.lower()} limit.",
        errorType="RATE_LIMIT",
        policyName=policy,
        requestId=str(uuid.uuid4()),
    )


def server_error(status: int) -> dict[str, Any]:
    return error_body("INTERNAL_ERROR", f"internal error ({status})")


# Deal pipelines ------------------------------------------------------------------------

# The default "Sales Pipeline" every portal starts with: stage ids, labels and the
# metadata strings (`isClosed`, `probability`) exactly as GET /crm/v3/pipelines/deals
# returns them.
DEFAULT_STAGES: tuple[tuple[str, str, str, str], ...] = (
    ("appointmentscheduled", "Appointment Scheduled", "false", "0.2"),
    ("qualifiedtobuy", "Qualified To Buy", "false", "0.4"),
    ("presentationscheduled", "Presentation Scheduled", "false", "0.6"),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "false", "0.8"),
    ("contractsent", "Contract Sent", "false", "0.9"),
    ("closedwon", "Closed Won", "true", "1.0"),
    ("closedlost", "Closed Lost", "true", "0.0"),
)

# A pipeline an admin added: HubSpot gives custom stages numeric ids.
CUSTOM_PIPELINE_ID = "75e28846-ad0d-4be2-a027-5e1da6590b98"
CUSTOM_STAGES: tuple[tuple[str, str, str, str], ...] = (
    ("137498560", "Discovery", "false", "0.1"),
    ("137498561", "Proposal", "false", "0.5"),
    ("137498562", "Contract Sent", "false", "0.9"),
    ("137498563", "Won", "true", "1.0"),
    ("137498564", "Lost", "true", "0.0"),
)


def stage_json(
    stage: tuple[str, str, str, str], order: int, stamp: str = EPOCH_ISO
) -> dict[str, Any]:
    stage_id, label, is_closed, probability = stage
    return {
        "label": label,
        "displayOrder": order,
        "metadata": {"isClosed": is_closed, "probability": probability},
        "id": stage_id,
        "createdAt": stamp,
        "updatedAt": stamp,
        "archived": False,
        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
    }


def pipeline_json(
    pipeline_id: str,
    label: str,
    stages: tuple[tuple[str, str, str, str], ...],
    order: int,
    stamp: str = EPOCH_ISO,
) -> dict[str, Any]:
    return {
        "label": label,
        "displayOrder": order,
        "id": pipeline_id,
        "stages": [stage_json(s, i, stamp) for i, s in enumerate(stages)],
        "createdAt": stamp,
        "updatedAt": stamp,
        "archived": False,
    }


def default_pipelines() -> list[dict[str, Any]]:
    """The default pipeline plus one custom pipeline with numeric stage ids."""
    return [
        pipeline_json("default", "Sales Pipeline", DEFAULT_STAGES, 0),
        pipeline_json(
            CUSTOM_PIPELINE_ID, "Enterprise", CUSTOM_STAGES, 1, stamp="2024-01-15T09:30:00.000Z"
        ),
    ]
