"""The write-back on Salesforce: one completed Task on the Opportunity, found again by
its marker.

The Task is created with `POST /services/data/vXX.X/sobjects/Task/`: `WhatId` (Related
To) the Opportunity, `Subject` and `Description` from `templates/internal/crm_task.j2`
(its first line is the Subject), `Status` Completed, `ActivityDate` the day of the
introduction. `OwnerId` is left to Salesforce's default, the run-as user, who can
therefore always read it back. Creating is never retried blindly: before a resumed
attempt creates one, the Opportunity's Tasks are read (`SELECT Id, Description FROM
Task WHERE WhatId = ...`, every page) and their Descriptions checked for the marker; a
long text area cannot be filtered on in SOQL, so that check is ours.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.crm.salesforce.client import SalesforceClient
from bot.crm.salesforce.mapping import soql_id

SUBJECT_MAX = 255
DESCRIPTION_MAX = 32_000
COMPLETED = "Completed"


def find_task(client: SalesforceClient, opportunity_id: str, marker: str) -> str | None:
    """The id of a Task on the Opportunity whose Description carries `marker`, if any."""
    soql = f"SELECT Id, Description FROM Task WHERE WhatId = '{soql_id(opportunity_id)}'"  # noqa: S608
    for page in client.pages(soql):
        for task in page.records:
            if marker in (task.get("Description") or ""):
                return str(task["Id"])
    return None


def create_task(client: SalesforceClient, opportunity_id: str, *, body: str, at: datetime) -> str:
    """The new Task's id. Raises ConnectorUnavailable when the answer is lost or a 5xx:
    the Task may exist, so the next attempt looks for it first."""
    subject, _, description = body.partition("\n")
    fields = {
        "WhatId": soql_id(opportunity_id),
        "Subject": subject.strip()[:SUBJECT_MAX],
        "Description": description.strip()[:DESCRIPTION_MAX],
        "Status": COMPLETED,
        "ActivityDate": at.astimezone(UTC).date().isoformat(),
    }
    answer = client.call(lambda sf: sf.Task.create(fields), safe=False)
    return str(answer["id"])
