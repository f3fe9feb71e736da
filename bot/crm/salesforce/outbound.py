"""Salesforce Outbound Messages (`POST /crm/salesforce`): an instant trigger for the poll.

A record-triggered Flow (or a workflow rule) can send an Outbound Message: a SOAP 1.1
`notifications` call (namespace `http://soap.sforce.com/2005/09/outbound`, see
Salesforce's "Understanding the Outbound Messaging WSDL") carrying `OrganizationId`,
`ActionId`, and up to 100 `Notification`s, each with the changed record's `sObject`.
Salesforce sends it again, for up to 24 hours, until the answer is a
`notificationsResponse` with `<Ack>true</Ack>`.

What the message says of the Opportunity is not taken on trust (SPEC: the CRM is the
source of truth): it only makes the next poll run now, and the poll reads the
Opportunity as it always does. So a message needs no storing of its own, and a repeat
costs one query at most. The only check Salesforce offers without a client
certificate is the sending org: `OrganizationId` must be `SALESFORCE_ORG_ID`.

The body comes from outside, unauthenticated until its org is read: `defusedxml` parses
it, refusing any document type declaration (SOAP 1.1 forbids one in a message), so no
entity is expanded and nothing external is fetched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.config import SALESFORCE_ORG_ID

OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
RECORD_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")

ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}">'
    "<soapenv:Body>"
    f'<notificationsResponse xmlns="{OUTBOUND_NS}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body>"
    "</soapenv:Envelope>"
)


class OutboundError(Exception):
    """The message is refused (400): the text says why, as Salesforce's delivery status
    shows it to the admin."""


@dataclass(frozen=True)
class Notifications:
    org_id: str
    opportunity_ids: tuple[str, ...]
    others: int  # notifications about other objects: acknowledged, not acted on


def same_org(configured: str, sent: str) -> bool:
    """Org ids come as 15 case-sensitive characters or 18 (the 15 and a checksum)."""
    return configured[:15] == sent[:15]


def read_notifications(body: bytes) -> Notifications:
    """The org and the Opportunity ids of one `notifications` message."""
    try:
        root = fromstring(body, forbid_dtd=True)
    except DefusedXmlException:
        raise OutboundError("a SOAP message may not carry a document type declaration") from None
    except ParseError as exc:
        raise OutboundError(f"not an XML document ({exc})") from None
    found = root.find(f"{{{SOAP_NS}}}Body/{{{OUTBOUND_NS}}}notifications")
    if root.tag != f"{{{SOAP_NS}}}Envelope" or found is None:
        raise OutboundError("not a Salesforce Outbound Message: no soapenv:Body/notifications")
    org_id = (found.findtext(f"{{{OUTBOUND_NS}}}OrganizationId") or "").strip()
    if not SALESFORCE_ORG_ID.fullmatch(org_id):
        raise OutboundError("OrganizationId is missing or not a Salesforce org id")
    ids: list[str] = []
    others = 0
    for notification in found.findall(f"{{{OUTBOUND_NS}}}Notification"):
        record = notification.find(f"{{{OUTBOUND_NS}}}sObject")
        if record is None:
            raise OutboundError("a Notification has no sObject")
        kind = (record.get(f"{{{XSI_NS}}}type") or "").rpartition(":")[2]
        record_id = next((c.text or "" for c in record if c.tag.endswith("}Id")), "").strip()
        if kind == "Opportunity" and RECORD_ID.fullmatch(record_id):
            ids.append(record_id)
        elif kind == "Opportunity":
            raise OutboundError("an Opportunity notification has no valid Id")
        else:
            others += 1
    return Notifications(org_id, tuple(dict.fromkeys(ids)), others)


def fault(reason: str) -> str:
    """A SOAP 1.1 fault: Salesforce shows `faultstring` as the delivery failure reason."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>soapenv:Client</faultcode><faultstring>{escape(reason)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
