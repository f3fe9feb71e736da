"""`careintro preview TEMPLATE [--deal ID]`: see a template as Slack will show it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from bot import crud
from bot.config import Settings
from bot.db import make_engine, session_scope
from bot.models import Deal
from bot.templating import (
    ExternalContext,
    Message,
    PublicProfile,
    block_kit_builder_url,
    environment,
    render_external,
    render_external_text,
    render_internal,
)
from bot.textview import blocks_to_text

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


def render(name: str, deal: Deal, settings: Settings) -> Message:
    people = SAMPLE_PEOPLE
    if name.startswith("external/"):
        context = ExternalContext(
            company=deal.company or deal.crm_id,
            engineer=people["U_ENG"],
            ae=people["U_AE"],
            backup=people["U_BACKUP"],
            response_minutes=settings.response_minutes,
        )
        if name == "external/topic.j2":
            text = render_external_text(name, context, limit=250)
            return Message(
                text=text, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
            )
        return render_external(name, context)
    samples: dict[str, Any] = {
        "deal": deal,
        "channel_id": "C_CARE",
        "contacts": ["cto@acme.example"],
        "ae_user_id": "U_AE",
        "backup_user_id": "U_BACKUP",
        "engineer_user_id": "U_ENG",
        "late": False,
        "response_minutes": settings.response_minutes,
        "reason": "channel: the bot was removed",
        "error": "not_paid",
        "advice": "Slack Connect needs a paid plan.",
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
    }
    return render_internal(name, **samples)


def preview(settings: Settings, template: str, *, deal_id: str | None) -> int:
    name = template_name(template)
    deal = sample_deal()
    if deal_id:
        with session_scope(make_engine(settings.database_url)) as session:
            stored = crud.get_deal(session, crm_id=deal_id)
            if stored is None:
                raise SystemExit(f"careintro: no stored deal {deal_id!r}")
            deal = stored
    message = render(name, deal, settings)
    names = {uid: p.name for uid, p in SAMPLE_PEOPLE.items()} | {"C_CARE": "care-acme-corp"}
    print(f"── {name} ({'prospect-facing' if name.startswith('external/') else 'internal'}) ──")
    print(blocks_to_text(message.blocks, names))
    print(f"\nNotification text: {message.text}")
    print(f"Block Kit Builder: {block_kit_builder_url(message)}")
    return 0
