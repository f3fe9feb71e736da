"""What outside text may be, checked the same way wherever it comes in.

The slash grammar, the modal and the CRM records (webhooks, CSV) all take deal ids,
emails and mentions from people or machines; the rules and limits live here once.
Each check raises UsageError: its message is for a person (a slash command adds the
usage line); callers that answer a machine turn it into their own error.
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from bot.exceptions import UsageError
from bot.templating import phrase
from bot.text import Mrkdwn, clean_value

MAX_CONTACTS = 20  # prospect contacts per deal
MAX_NOTES = 3000  # hand-off notes, from the modal or a CRM
MAX_DEAL_ID = 64

DEAL_ID = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._:/#-]{{0,{MAX_DEAL_ID - 1}}}$")
_MENTION = re.compile(r"^<@([UW][A-Z0-9_]{1,30})(?:\|[^>]*)?>$")
_MAILTO = re.compile(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$")


def is_deal_id(value: str) -> bool:
    return bool(DEAL_ID.match(value))


def deal_id(raw: str) -> str:
    """The deal id as typed; raises UsageError saying what a deal id may hold."""
    if not is_deal_id(raw):
        raise UsageError(
            phrase("usage.not_a_deal_id", value=echo(clean_value(raw, limit=40)), max=MAX_DEAL_ID)
        )
    return raw


def normalise_email(raw: str) -> str:
    """A valid address, lower-cased; raises UsageError naming the bad one."""
    shown = raw if len(raw) <= 80 else raw[:77] + "…"
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise UsageError(phrase("usage.not_an_email", value=echo(shown))) from None


def mailto_address(token: str) -> str | None:
    """`<mailto:a@b.example|a@b.example>` (how Slack sends a typed email) -> the address."""
    match = _MAILTO.match(token)
    return match[1] if match else None


def mention_id(token: str) -> str | None:
    """`<@U123|erin>` -> `U123`; anything else -> None."""
    match = _MENTION.match(token)
    return match[1] if match else None


def slack_unescape(text: str) -> str:
    """Slack sends typed `&`, `<`, `>` as entities; keep what the person typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def echo(typed: str) -> Mrkdwn:
    """What a person typed, quoted back as it came: Slack already entity-escaped slash text,
    and modal errors are plain text, so escaping again would show `&amp;lt;`."""
    return Mrkdwn(typed)
