"""The write-back on HubSpot: a note on the deal (Engagements | Notes), found again by
its marker.

The note is created with `POST /crm/v3/objects/notes` (`hs_timestamp`, `hs_note_body`,
associated with the deal by type 214, note → deal). Creating is never retried blindly:
before a resumed attempt creates one, the deal's notes are read through its
associations (`GET /crm/v4/objects/deals/{id}/associations/notes`, consistent at once,
unlike search, whose index trails writes) and their bodies checked for the marker.
"""

from __future__ import annotations

from datetime import datetime

from bot.crm.hubspot.client import HubSpotClient, NotFound

NOTE_TO_DEAL = 214
ASSOCIATIONS_PAGE = 500
BATCH_MAX = 100


def find_note(client: HubSpotClient, deal_id: str, marker: str) -> str | None:
    """The id of a note on the deal whose body carries `marker`, if there is one."""
    note_ids = _deal_note_ids(client, deal_id)
    api = client.api("crm.objects.notes.batch_api")
    for start in range(0, len(note_ids), BATCH_MAX):
        body = {"inputs": [{"id": i} for i in note_ids[start : start + BATCH_MAX]],
                "properties": ["hs_note_body"]}  # fmt: skip
        answer = client.call(api.read, batch_read_input_simple_public_object_id=body).to_dict()
        for note in answer.get("results") or []:
            if marker in ((note.get("properties") or {}).get("hs_note_body") or ""):
                return str(note["id"])
    return None


def _deal_note_ids(client: HubSpotClient, deal_id: str) -> list[str]:
    api = client.api("crm.associations.v4.basic_api")
    found: list[str] = []
    after: str | None = None
    while True:
        try:
            page = client.call(
                api.get_page, "deals", deal_id, "notes", limit=ASSOCIATIONS_PAGE,
                **({"after": after} if after else {}),
            ).to_dict()  # fmt: skip
        except NotFound:  # the deal is gone: no note of ours can be on it
            return found
        found += [str(r["to_object_id"]) for r in page.get("results") or []]
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return found


def create_note(client: HubSpotClient, deal_id: str, *, body: str, at: datetime) -> str:
    """The new note's id. Raises ConnectorUnavailable when the answer is lost or a 5xx:
    the note may exist, so the next attempt looks for it first."""
    api = client.api("crm.objects.notes.basic_api")
    request = {
        "properties": {"hs_timestamp": at.isoformat(), "hs_note_body": body},
        "associations": [
            {
                "to": {"id": deal_id},
                "types": [
                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_DEAL}
                ],
            }
        ],
    }
    note = client.call(api.create, simple_public_object_input_for_create=request, safe=False)
    return str(note.to_dict()["id"])
