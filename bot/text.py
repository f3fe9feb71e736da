"""Small text rules shared by every surface: mrkdwn escaping, stage and channel names."""

from __future__ import annotations

import re
import unicodedata

_MRKDWN_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))

CHANNEL_NAME_MAX = 80


class Mrkdwn(str):
    """Text that is already valid, trusted mrkdwn (mentions and links we built)."""

    __slots__ = ()


def escape_mrkdwn(value: object) -> str:
    """Escape the three characters Slack treats as control characters.

    Slack decodes `&amp;` once, so escaping text that already holds `&lt;` keeps
    it literal, which is what a person typed.
    """
    return str(value).translate(_MRKDWN_ESCAPES)


def normalise_stage(stage: str) -> str:
    """`"Negotiation/Review"` -> `negotiationreview`, as the SPEC compares stages."""
    return "".join(ch for ch in stage.lower() if ch.isascii() and ch.isalnum())


def strip_accents(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def slack_channel_name(raw: str, *, suffix: str = "") -> str:
    """A valid Slack channel name: accents stripped, lower-case, runs of other
    characters turned into one `-`, trimmed, at most 80 characters with the suffix."""
    name = strip_accents(raw.translate(_ZERO_WIDTH)).lower()
    name = re.sub(r"[^a-z0-9_]+", "-", name).strip("-")
    name = name[: CHANNEL_NAME_MAX - len(suffix)].rstrip("-")
    return f"{name or 'care'}{suffix}"


def clean_value(value: str, *, limit: int = 200) -> str:
    """Outside text as we keep it: no zero-width characters, trimmed, bounded."""
    return " ".join(value.translate(_ZERO_WIDTH).split())[:limit]


def mask_email(email: str) -> str:
    """`cto@acme.example` -> `c***@acme.example`, for logs."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
