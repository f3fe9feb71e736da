"""A CSV row applied (`careintro import`): as a webhook's record would be, plus what
only a file says: whether the deal is watched. The command line calls no Slack method,
so the owner's email is matched to the AE by the worker, from an event stored in the
import's transaction (`match_owners`, applied by `crm_news.resolve_owner`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from bot.config import Settings
from bot.crm import inbox
from bot.crm.records import DealRecord
from bot.crm.webhooks import InboxItem
from bot.flows import stages
from bot.flows.crm_news import OWNER, apply_record
from bot.models import Deal, IntroStatus, utcnow
from bot.store.deals import get_deal
from bot.store.introductions import introduction_of

BATCH = 500  # owner events a statement


@dataclass(frozen=True)
class Imported:
    """What one imported deal became: new or updated, watched, and where its
    introduction stands: "queued" by this import, "waiting" for what it lacks,
    "earlier" (asked for before: under way or done), or "" (none wanted)."""

    new: bool
    watched: bool
    introduction: str
    owner: bool  # it has an owner email for the worker to match (`match_owners`)


def apply_imported(
    session: Session, *, record: DealRecord, watched: bool | None, settings: Settings
) -> Imported:
    """Like `watch`, a deal the row starts watching at a pre-close (or won) stage is
    introduced even though its stage did not change."""
    before = get_deal(session, crm_id=record.crm_id)
    was_watched = before is not None and before.watched
    queued = apply_record(session, record=record, source="csv", settings=settings,
                          watched=watched)  # fmt: skip
    deal = get_deal(session, crm_id=record.crm_id)
    assert deal is not None
    if deal.watched and not was_watched and not queued:
        intro = stages.apply_current_stage(session, deal=deal, settings=settings, user_id=None)
        queued = int(intro is not None)
    return Imported(before is None, deal.watched or settings.auto_watch,
                    "queued" if queued else _introduction_state(session, deal),
                    bool(record.owner_email))  # fmt: skip


def match_owners(session: Session, *, crm_ids: Sequence[str]) -> None:
    """One owner event per deal and import (stored in the import's transaction): an
    owner not found in Slack is tried again the next time the file is imported."""
    stamp = utcnow().isoformat()
    for start in range(0, len(crm_ids), BATCH):
        inbox.store(session, [InboxItem("csv", f"csv:owner:{crm_id}:{stamp}", crm_id,
                                        {"kind": OWNER})
                              for crm_id in crm_ids[start : start + BATCH]])  # fmt: skip


def _introduction_state(session: Session, deal: Deal) -> str:
    intro = introduction_of(session, deal_id=deal.id)
    if intro is None or intro.status in (IntroStatus.CANCELLED, IntroStatus.FAILED):
        return ""
    return "waiting" if intro.status == IntroStatus.WAITING else "earlier"
