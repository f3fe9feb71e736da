"""`careintro preview TEMPLATE [--deal ID]`: see a template as Slack will show it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from bot.config import Settings
from bot.db import make_engine, session_scope
from bot.flows.introduction.channel import TOPIC_LIMIT
from bot.flows.slash_handlers import STEP_NAMES
from bot.models import Contact, Deal, Introduction, IntroStatus, ResponseClock
from bot.plain_text import blocks_to_text
from bot.store.contacts import contacts_of
from bot.store.deals import get_deal
from bot.store.introductions import introduction_of
from bot.templating import (
    ExternalContext,
    Message,
    PublicProfile,
    block_kit_builder_url,
    environment,
    render_external,
    render_external_text,
    render_internal,
    terminal_phrase,
)

SAMPLE_PEOPLE = {
    "U_AE": PublicProfile("U_AE", "Alex Account", "Account Executive"),
    "U_ENG": PublicProfile(
        "U_ENG",
        "Erin Engineer",
        "Senior Support Engineer",
        "https://placehold.co/192x192/png?text=EE",
    ),
    "U_BACKUP": PublicProfile("U_BACKUP", "Sam Backup", "Support Engineer"),
}


def sample_deal_fields() -> dict[str, Any]:
    """The sample deal shared by `preview` and `sandbox`, as a CRM would record it."""
    return {
        "crm_id": "D-1001",
        "company": "Acme Corp",
        "stage": "contractsent",
        "stage_label": "Contract Sent",
        "amount": Decimal("48000"),
        "close_date": date.today() + timedelta(days=21),
        "owner_email": "alex@ours.example",
        "notes": "Promised SSO setup help in week one and a quarterly review.",
    }


def sample_deal() -> Deal:
    return Deal(**sample_deal_fields())


@dataclass
class Facts:
    """What the templates say beyond the deal's row: its introduction (channel, people)
    and its contacts. The sample's, or a stored deal's own."""

    deal: Deal
    intro: Introduction | None
    contacts: list[Contact] = field(default_factory=list)
    channel_name: str = "care-acme-corp"

    @property
    def emails(self) -> list[str]:
        """The contacts as the brief and the AE's DMs list them (`brief_step` does this)."""
        return [c.email for c in self.contacts if c.email]


def sample_facts() -> Facts:
    intro = Introduction(
        deal_id=0, status=IntroStatus.DONE, channel_id="C_CARE", engineer_user_id="U_ENG",
        backup_user_id="U_BACKUP", ae_user_id="U_AE",
        last_prospect_text="Could we get SSO set up before go-live?",
    )  # fmt: skip
    return Facts(sample_deal(), intro, [Contact(deal_id=0, email="cto@acme.example")])


def stored_facts(settings: Settings, deal_id: str) -> Facts:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            deal = get_deal(session, crm_id=deal_id)
            if deal is None:
                raise SystemExit(f"careintro: no stored deal {deal_id!r}")
            intro = introduction_of(session, deal_id=deal.id)
            contacts = list(contacts_of(session, deal_id=deal.id))
    finally:
        engine.dispose()
    name = (intro.channel_name if intro else None) or ""
    return Facts(deal, intro, contacts, channel_name=name)


def template_name(name: str) -> str:
    """Accept `welcome`, `welcome.j2` or `external/welcome.j2`."""
    names = environment().list_templates(extensions=["j2"])
    for candidate in (
        name,
        f"{name}.j2",
        f"external/{name}",
        f"external/{name}.j2",
        f"internal/{name}",
        f"internal/{name}.j2",
    ):
        if candidate in names:
            return candidate
    raise SystemExit(f"careintro: no template {name!r}; there are: {', '.join(sorted(names))}")


def render(name: str, facts: Facts, settings: Settings) -> Message:
    people, deal = SAMPLE_PEOPLE, facts.deal
    if name.startswith("external/"):
        context = ExternalContext(
            company=deal.company or deal.crm_id,
            engineer=people["U_ENG"],
            ae=people["U_AE"],
            backup=people["U_BACKUP"],
            response_minutes=settings.response_minutes,
        )
        if name == "external/topic.j2":
            text = render_external_text(name, context, limit=TOPIC_LIMIT)
            return Message(
                text=text, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
            )
        return render_external(name, context)
    samples = {**_samples(facts, settings), **_samples_for(name, facts)}
    return render_internal(name, **samples)


def preview(settings: Settings, template: str, *, deal_id: str | None) -> int:
    name = template_name(template)
    facts = stored_facts(settings, deal_id) if deal_id else sample_facts()
    message = render(name, facts, settings)
    names = {uid: p.name for uid, p in SAMPLE_PEOPLE.items()}
    if facts.intro and facts.intro.channel_id and facts.channel_name:
        names[facts.intro.channel_id] = facts.channel_name
    print(terminal_phrase("cli.preview.heading", name=name, external=name.startswith("external/")))
    print(blocks_to_text(message.blocks, names))
    print("\n" + terminal_phrase("cli.preview.notification", text=message.text))
    print(terminal_phrase("cli.preview.builder", url=block_kit_builder_url(message)))
    return 0


def _samples(facts: Facts, settings: Settings) -> dict[str, Any]:
    """Values the internal templates share: the contacts as the emails the brief lists."""
    deal, intro = facts.deal, facts.intro
    return {
        "deal": deal,
        "channel_id": intro.channel_id if intro else None,
        "contacts": facts.emails,
        "ae_user_id": intro.ae_user_id if intro else deal.ae_user_id,
        "backup_user_id": intro.backup_user_id if intro else None,
        "engineer_user_id": intro.engineer_user_id if intro else None,
        "late": False,
        "response_minutes": settings.response_minutes,
        "promise": settings.response_minutes,
        "reason": "channel: the bot was removed",
        "error": "not_paid",
        "advice": "Slack Connect needs a paid plan.",
        "missing": "company name",  # what a waiting deal lacks (internal/ae_missing.j2)
        "requested": True,
        "connectors": [],  # failing CRM connectors (status, the admins' Home)
        "listed": [],  # contacts without an email
        "rows": [  # a status-list row: the deal's columns, not introduced
            SimpleNamespace(
                crm_id=deal.crm_id,
                company=deal.company,
                stage=deal.stage,
                stage_label=deal.stage_label,
                intro_id=None,
                status=None,
                channel_id=None,
                engineer_user_id=None,
            )
        ],
        "members": [],
        "load": {},
        "intro": None,
        "steps": {},
        "history": [],
        "questions": None,
        "today": date.today(),
    }


def _samples_for(name: str, facts: Facts) -> dict[str, Any]:
    """What one template needs beyond the shared values: a plausible sample of it."""
    from bot.flows import home, reminders
    from bot.flows.invitations import StaleInvite
    from bot.flows.response_watch import Questions
    from bot.store.home import HomeProspect

    deal, intro = facts.deal, facts.intro or sample_facts().intro
    assert intro is not None
    row = reminders.DealRow(0, deal.crm_id, deal.company, deal.stage, deal.stage_label,
                            deal.close_date)  # fmt: skip
    intro_row = reminders.IntroRow(0, "done", "C_CARE", "U_ENG", intro.last_prospect_text)
    clock = ResponseClock(
        introduction_id=0, channel_id="C_CARE", message_ts="1.0", asker_user_id="U_PROSPECT",
        text_preview="Is the SSO set up yet?",
    )  # fmt: skip
    match name:
        case "internal/home.j2":
            return {
                "prospects": [HomeProspect(deal, intro, {"sent": 1}, 1, 12)],
                "deals": [(deal, intro)],
                "team": home.TeamFigures(12, 1, 9.0, 31.0, 4, 3, 12.0),
            }
        case "internal/ae_done.j2":  # one invitation sent, the next waiting its turn
            return {"sent": 1, "waiting": 1, "joined": 0}
        case "internal/invite_accepted.j2" | "internal/invite_declined.j2":
            return {"email": "cto@acme.example", "next_emails": ["cfo@acme.example"]}
        case "internal/stale_invites.j2":  # one sent 8 days ago, one lapsed unanswered
            return {"stale": [StaleInvite(1, "cto@acme.example", deal.crm_id, deal.company, 8,
                                          False),
                              StaleInvite(2, "cfo@acme.example", deal.crm_id, deal.company, 15,
                                          True)]}  # fmt: skip
        case "internal/reminder_engineer.j2":
            prospect = reminders.Prospect(
                row, intro_row, [reminders.Invite("cfo@acme.example", 90)],
                [reminders.Question("Is the SSO set up yet?", 45)], 45,
            )  # fmt: skip
            return {"prospects": [prospect], "more": 0, "waiting": 1, "footer": True}
        case "internal/reminder_ae.j2":
            item = reminders.AeDeal(row, None, True)
            return {"attention": [item], "deals": [], "more": 0, "also": False}
        case "internal/response_alert.j2":
            return {"clock": clock, "intro": intro, "level": "engineer", "minutes": 30,
                    "link": "https://example.slack.com/archives/C_CARE/p1"}  # fmt: skip
        case "internal/archive_notice.j2":  # the day before a lost deal's channel goes
            return {"on": date.today() + timedelta(days=1)}
        case "internal/unarchive_by_hand.j2":
            return {"error": "not_in_channel"}
        case "internal/status.j2":  # the invitations list reads each contact's state
            return {
                "intro": facts.intro,
                "contacts": facts.contacts,
                "step_names": STEP_NAMES,
                "questions": Questions(
                    waiting=1, oldest_minutes=12, answered=4, median_minutes=9, last_minutes=7
                ),
            }
    return {}
