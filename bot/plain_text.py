"""Block Kit (and a CRM note's HTML) as a person would read it, for the terminal
(sandbox and preview)."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def mrkdwn_to_text(text: str, names: Mapping[str, str] | None = None) -> str:
    """Resolve mentions and links the way Slack displays them, then unescape."""
    names = names or {}

    def link(match: re.Match[str]) -> str:
        target, label = match[1], match[2]
        if target.startswith("@"):
            return "@" + names.get(target[1:], label or target[1:])
        if target.startswith("#"):
            return "#" + names.get(target[1:], label or target[1:])
        if target.startswith("!"):
            return "@" + (label or target[1:])
        return f"{label} ({target})" if label else target

    return html.unescape(_LINK.sub(link, text))


def blocks_to_text(blocks: list[dict[str, Any]], names: Mapping[str, str] | None = None) -> str:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "divider":
            lines.append("─" * 40)
        elif kind in ("section", "header"):
            text = (block.get("text") or {}).get("text", "")
            accessory = block.get("accessory") or {}
            if accessory.get("type") == "image":
                lines.append(f"[photo: {accessory.get('alt_text', '')}]")
            lines.append(mrkdwn_to_text(text, names))
        elif kind == "context":
            parts = [e.get("text", "") for e in block.get("elements", []) if "text" in e]
            lines.append("  " + mrkdwn_to_text(" ".join(parts), names))
        elif kind == "actions":
            labels = [(e.get("text") or {}).get("text", "") for e in block.get("elements", [])]
            lines.append("  " + " ".join(f"[ {label} ]" for label in labels))
    return "\n".join(lines)


class _NoteText(HTMLParser):
    """Paragraphs and list items on lines of their own, links as `text (href)`."""

    BREAKS = frozenset({"p", "br", "ul", "li", "div"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BREAKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("  • ")
        if tag == "a":
            self._href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href:
            self.parts.append(f" ({self._href})")
            self._href = None

    def handle_data(self, data: str) -> None:
        self.parts.append(re.sub(r"\s+", " ", data) if data.strip() else "")


def html_to_text(markup: str) -> str:
    """A CRM note's HTML (`templates/internal/crm_note.j2`) as plain lines."""
    parser = _NoteText()
    parser.feed(markup)
    parser.close()
    lines = "".join(parser.parts).splitlines()
    return "\n".join(line.strip() if not line.lstrip().startswith("•") else line.rstrip()
                     for line in lines if line.strip())  # fmt: skip
