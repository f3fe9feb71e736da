"""Outbound Messages as Salesforce sends them: a SOAP 1.1 `notifications` call.

Shaped from Salesforce's "Understanding the Outbound Messaging WSDL" (SOAP API guide):
the envelope, the `http://soap.sforce.com/2005/09/outbound` namespace, `OrganizationId`,
`ActionId`, a nil `SessionId` (unless the message is set to send one), `EnterpriseUrl`
and `PartnerUrl`, then up to 100 `Notification`s, each an `Id` of its own (Salesforce
tracks retries by it) and the record as an `sObject` of `xsi:type` `sf:<Object>` with
the fields the message was set up to send. Salesforce counts a delivery as done only
when the answer is a `notificationsResponse` whose `Ack` is `true`; anything else is a
failure it retries.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import ParseError
from xml.sax.saxutils import escape

from defusedxml.ElementTree import fromstring

from bot.emulator.salesforce.ids import make_id

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
MAX_NOTIFICATIONS = 100
ACTION_PREFIX, NOTIFICATION_PREFIX = "04k", "04l"  # WorkflowOutboundMessage, its notification


@dataclass(frozen=True)
class Delivery:
    status: int
    body: str
    acked: bool  # what Salesforce's delivery status would say


def notifications_body(
    *,
    org_id: str,
    instance_url: str,
    records: list[dict[str, Any]],
    object_name: str = "Opportunity",
    version: str = "62.0",
    serial: int = 1,
) -> bytes:
    """One message about `records` (each a dict of the fields sent, `Id` among them)."""
    if not 1 <= len(records) <= MAX_NOTIFICATIONS:
        raise ValueError(f"an Outbound Message carries 1 to {MAX_NOTIFICATIONS} notifications")
    notes = []
    for index, record in enumerate(records):
        fields = "".join(
            f"<sf:{name}>{escape(str(value))}</sf:{name}>" for name, value in record.items()
        )
        notes.append(
            f"<Notification><Id>{make_id(NOTIFICATION_PREFIX, serial * 1000 + index)}</Id>"
            f'<sObject xsi:type="sf:{object_name}" '
            f'xmlns:sf="urn:sobject.enterprise.soap.sforce.com">{fields}</sObject>'
            "</Notification>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body>"
        f'<notifications xmlns="{OUTBOUND_NS}">'
        f"<OrganizationId>{org_id}</OrganizationId>"
        f"<ActionId>{make_id(ACTION_PREFIX, 1)}</ActionId>"
        '<SessionId xsi:nil="true"/>'
        f"<EnterpriseUrl>{instance_url}/services/Soap/c/{version}/{org_id}</EnterpriseUrl>"
        f"<PartnerUrl>{instance_url}/services/Soap/u/{version}/{org_id}</PartnerUrl>"
        f"{''.join(notes)}"
        "</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def deliver(url: str, body: bytes, timeout: float = 10) -> Delivery:
    """POST the message as Salesforce does and read the answer as it would."""
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            status, text = answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    return Delivery(status, text, status == 200 and _acked(text))


def _acked(text: str) -> bool:
    try:
        root = fromstring(text)
    except ParseError:
        return False
    ack = root.findtext(
        f"{{{SOAP_NS}}}Body/{{{OUTBOUND_NS}}}notificationsResponse/{{{OUTBOUND_NS}}}Ack"
    )
    return (ack or "").strip() == "true"
