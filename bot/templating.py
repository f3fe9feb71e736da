"""Every word a person reads comes from `templates/`, rendered here.

Prospect-facing templates (`external/`) get an `ExternalContext` that can only hold
public fields; internal ones get whatever the flow passes. Every value printed with
`{{ }}` is mrkdwn-escaped unless it is `Mrkdwn` we built ourselves (mentions, links).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import FileSystemLoader, StrictUndefined, Template
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.text import Mrkdwn, escape_mrkdwn

_SLACK_ID = re.compile(r"^[UWBCDG][A-Z0-9_]{1,31}$")
_SECTION_BREAK = re.compile(r"^---$", re.M)
SECTION_LIMIT = 3000


def template_dirs() -> list[Path]:
    """The checkout's `templates/` first, then the copy a wheel carries."""
    here = Path(__file__).resolve().parent
    return [p for p in (here.parent / "templates", here / "_templates") if p.is_dir()]


@dataclass(frozen=True)
class PublicProfile:
    """What anyone in a Slack Connect channel may see of one of our people."""

    user_id: str
    name: str
    title: str = ""
    image_url: str = ""


@dataclass(frozen=True)
class ExternalContext:
    """The only data a prospect-facing template receives (SPEC: what the prospect sees)."""

    company: str
    engineer: PublicProfile
    ae: PublicProfile
    response_minutes: int
    backup: PublicProfile | None = None
    contact_names: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict[str, Any]]


def _finalize(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, Mrkdwn):
        return value
    return escape_mrkdwn(value)


def mention(user_id: str | None) -> Mrkdwn:
    if not user_id or not _SLACK_ID.match(user_id):
        return Mrkdwn("someone")
    return Mrkdwn(f"<@{user_id}>")


def channel_link(channel_id: str | None) -> Mrkdwn:
    if not channel_id or not _SLACK_ID.match(channel_id):
        return Mrkdwn("(no channel yet)")
    return Mrkdwn(f"<#{channel_id}>")


def format_date(value: date | datetime | None) -> str:
    return value.strftime("%a %d %b %Y") if value else "not set"


def format_money(value: Decimal | float | int | None) -> str:
    if value is None:
        return "not set"
    return f"{Decimal(value):,.2f}".removesuffix(".00")


def plural(count: int, one: str, many: str) -> str:
    """`{{ n }} {{ n | plural("invitation is", "invitations are") }}`: agreement in words."""
    return one if count == 1 else many


def days_until(value: date | None, today: date | None = None) -> str:
    if value is None:
        return "no close date"
    days = (value - (today or date.today())).days
    if days == 0:
        return "closes today"
    if days > 0:
        return f"{days} {plural(days, 'day', 'days')} to close"
    return f"closed {-days} {plural(-days, 'day', 'days')} ago"


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox, with its attribute rule decided once per (type, attribute).

    Jinja's rule looks only at the object's type and the attribute's name (underscores,
    function/frame/code internals, mutating methods of known containers), so the answer
    can be kept; re-deciding it on every `{{ deal.company }}` was most of a render's time.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._safe: dict[tuple[type, str], bool] = {}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        key = (type(obj), attr)
        safe = self._safe.get(key)
        if safe is None:
            safe = self._safe[key] = super().is_safe_attribute(obj, attr, value)
        return safe


def _file_environment(**options: Any) -> _Environment:
    """The templates/ folders, sandboxed, strict; `options` say how values are escaped."""
    return _Environment(
        loader=FileSystemLoader([str(p) for p in template_dirs()]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates change with a deploy; no disk check per message
        **options,
    )


@cache
def environment() -> ImmutableSandboxedEnvironment:
    env = _file_environment(finalize=_finalize, autoescape=False)
    env.filters.update(
        mention=mention,
        channel=channel_link,
        date=format_date,
        money=format_money,
        days_until=days_until,
        plural=plural,
        mrkdwn=lambda v: Mrkdwn(escape_mrkdwn(v)),
    )
    return env


@cache
def html_environment() -> ImmutableSandboxedEnvironment:
    """For what a CRM shows as HTML (a HubSpot note): values HTML-escaped, not mrkdwn."""
    env = _file_environment(autoescape=True)
    env.filters.update(date=format_date, plural=plural)
    return env


def render_html(name: str, **context: Any) -> str:
    """An internal template rendered as HTML, every value escaped for HTML."""
    if not name.startswith("internal/"):
        raise ValueError("CRM notes take an internal/ template")
    return html_environment().get_template(name).render(**context).strip()


@cache
def text_environment() -> ImmutableSandboxedEnvironment:
    """For what a CRM shows as plain text (a Salesforce Task): values as they are."""
    env = _file_environment(finalize=lambda value: "" if value is None else value)
    env.filters.update(date=format_date, plural=plural)
    return env


def render_text(name: str, **context: Any) -> str:
    """An internal template rendered as plain text, nothing escaped."""
    if not name.startswith("internal/"):
        raise ValueError("CRM notes take an internal/ template")
    return text_environment().get_template(name).render(**context).strip()


def _render_block(template: Template, block: str, context: Context) -> str:
    """One `{% block %}`; a message's blocks share one Context (as a full render would)."""
    render = template.blocks.get(block)
    return "".join(render(context)).strip() if render else ""


def _message(name: str, context: dict[str, Any], image: PublicProfile | None) -> Message:
    """Layout: `text` is the notification fallback, `body` holds sections split by
    lines of `---`, `context` is the small print under them."""
    template = environment().get_template(name)
    shared = template.new_context(context)
    text = _render_block(template, "text", shared)
    sections = [s.strip() for s in _SECTION_BREAK.split(_render_block(template, "body", shared))]
    # Block Kit as plain dicts: slack_sdk's models validated every field on every
    # message, over half of a digest's render time; tests/test_templating.py checks each
    # template's blocks round-trip through those models unchanged.
    blocks: list[dict[str, Any]] = []
    for index, section in enumerate(s for s in sections if s):
        block: dict[str, Any] = {
            "type": "section",
            "text": {"type": "mrkdwn", "text": section[:SECTION_LIMIT]},
        }
        if index == 0 and image and image.image_url:
            # alt_text is plain text: no escaping, but no control characters either
            alt = re.sub(r"[<>]", "", image.name)[:100] or "photo"
            block["accessory"] = {"type": "image", "image_url": image.image_url, "alt_text": alt}
        blocks.append(block)
    small_print = _render_block(template, "context", shared)
    if small_print:
        blocks += [
            {"type": "divider"},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": small_print[:3000]}]},
        ]
    return Message(text=text or sections[0][:300], blocks=blocks)


def render_external(name: str, context: ExternalContext) -> Message:
    """A prospect-facing message; the context type is the guarantee of what it can show."""
    if not name.startswith("external/") or not isinstance(context, ExternalContext):
        raise ValueError("prospect-facing messages take an external template and ExternalContext")
    return _message(name, _external_dict(context), image=context.engineer)


def render_external_text(name: str, context: ExternalContext, *, limit: int) -> str:
    """A prospect-facing single line (the channel topic), cut at Slack's limit."""
    if not name.startswith("external/") or not isinstance(context, ExternalContext):
        raise ValueError("prospect-facing text takes an external template and ExternalContext")
    template = environment().get_template(name)
    shared = template.new_context(_external_dict(context))
    text = " ".join(_render_block(template, "text", shared).split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def render_internal(name: str, **context: Any) -> Message:
    if not name.startswith("internal/"):
        raise ValueError("internal messages take an internal/ template")
    return _message(name, context, image=None)


def _external_dict(context: ExternalContext) -> dict[str, Any]:
    return {
        **asdict(context),
        "engineer": context.engineer,
        "ae": context.ae,
        "backup": context.backup,
    }


def block_kit_builder_url(message: Message) -> str:
    """A link that opens the blocks in Slack's Block Kit Builder."""
    import json

    payload = json.dumps({"blocks": message.blocks}, separators=(",", ":"))
    return f"https://app.slack.com/block-kit-builder/#{quote(payload, safe='')}"


@cache
def _phrase_sources() -> dict[str, str]:
    """`templates/phrases/<room>.toml`: one-line replies and reasons, keyed `room.name`.

    A whole template file for one line would be overkill, but the words still live
    beside the other templates and are rendered by the same kind of environment.
    """
    sources: dict[str, str] = {}
    for folder in reversed(template_dirs()):  # the checkout's copy wins
        for path in sorted((folder / "phrases").glob("*.toml")):
            table = tomllib.loads(path.read_text(encoding="utf-8"))
            sources.update(_flatten(path.stem, table))
    return sources


def _flatten(prefix: str, table: dict[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            pairs += _flatten(f"{prefix}.{key}", value)
        else:
            pairs.append((f"{prefix}.{key}", str(value)))
    return pairs


@cache
def _compiled(key: str, *, for_slack: bool) -> Template:
    env = environment() if for_slack else terminal_environment()
    return env.from_string(_phrase_sources()[key])


def phrase(key: str, **context: Any) -> str:
    """A one-line phrase for Slack (values mrkdwn-escaped); an unknown key is a bug."""
    return _compiled(key, for_slack=True).render(**context).strip()


def terminal_phrase(key: str, **context: Any) -> str:
    """A phrase printed on a terminal (the CLI, the sandbox): values as they are."""
    return _compiled(key, for_slack=False).render(**context).rstrip()  # indents are meant


@cache
def terminal_environment() -> ImmutableSandboxedEnvironment:
    """Phrases for a terminal: no mrkdwn escaping, which would print `&amp;` there."""
    env = _Environment(
        undefined=StrictUndefined,
        finalize=lambda value: "" if value is None else value,
        autoescape=False,
    )
    env.filters.update(plural=plural)
    return env


def has_phrase(key: str) -> bool:
    return key in _phrase_sources()


def phrase_keys() -> list[str]:
    return sorted(_phrase_sources())
