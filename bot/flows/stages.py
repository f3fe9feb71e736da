"""Stage rules: what a stage change does to a watched deal's introduction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.config import Settings
from bot.models import Deal, Introduction, IntroStatus, StageChange
from bot.store.introductions import introduction_of, request_introduction, steps_of
from bot.templating import phrase
from bot.text import clean_value, normalise_stage


@dataclass(frozen=True)
class Outcome:
    message: str
    queued: bool = False


def rank(stage: str, settings: Settings) -> int:
    """Open stages < pre-close < closed; a move to a lower rank is a backward move."""
    if stage in settings.won_stages or stage in settings.lost_stages:
        return 2
    return 1 if stage in settings.preclose_stages else 0


def record_stage(
    session: Session,
    *,
    deal: Deal,
    label: str,
    source: str,
    settings: Settings,
    user_id: str | None = None,
) -> Outcome:
    """Keep the change in the history and apply the SPEC's rules to the introduction."""
    label = clean_value(label, limit=100)
    new, old = normalise_stage(label), deal.stage
    if new == old:
        return Outcome(phrase("slash.stage.unchanged"))
    backward = bool(old) and rank(new, settings) < rank(old, settings)
    deal.stage, deal.stage_label = new, label
    session.add(deal)
    outcome = (
        Outcome(phrase("slash.stage.backward"))
        if backward
        else effect(session, deal=deal, settings=settings, user_id=user_id)
    )
    session.add(
        StageChange(
            deal_id=deal.id or 0,
            from_stage=old,
            to_stage=new,
            label=label,
            source=source,
            actor=user_id,
            effect=outcome.message[:200],
        )
    )
    session.flush()
    return outcome


def apply_current_stage(
    session: Session, *, deal: Deal, settings: Settings, user_id: str | None
) -> Introduction | None:
    """When a deal starts being watched at a pre-close or won stage, act as if it just moved."""
    outcome = effect(session, deal=deal, settings=settings, user_id=user_id)
    return introduction_of(session, deal_id=deal.id) if outcome.queued else None


def effect(session: Session, *, deal: Deal, settings: Settings, user_id: str | None) -> Outcome:
    if not (deal.watched or settings.auto_watch):
        return Outcome(phrase("slash.stage.not_watched"))
    stage = deal.stage
    if stage in settings.preclose_stages:
        _, queued = request_introduction(session, deal=deal, source="stage", requested_by=user_id)
        key = "slash.stage.starts_now" if queued else "slash.stage.already_introduced"
        return Outcome(phrase(key), queued)
    if stage in settings.won_stages:
        intro = introduction_of(session, deal_id=deal.id)
        if intro is not None and intro.status not in (IntroStatus.CANCELLED, IntroStatus.FAILED):
            return Outcome(phrase("slash.stage.won_introduced"))
        _, queued = request_introduction(
            session, deal=deal, source="stage", requested_by=user_id, late=True
        )
        if intro is not None:
            intro.late = True
        return Outcome(phrase("slash.stage.won_late"), queued)
    if stage in settings.lost_stages:
        return Outcome(cancel_unstarted(session, deal=deal))
    return Outcome(phrase("slash.stage.not_due"))


def cancel_unstarted(session: Session, *, deal: Deal) -> str:
    intro = introduction_of(session, deal_id=deal.id)
    if intro is None:
        return phrase("slash.stage.lost_none")
    if intro.status == IntroStatus.PENDING and not steps_of(session, intro_id=intro.id):
        intro.status = IntroStatus.CANCELLED
        session.add(intro)
        return phrase("slash.stage.lost_cancelled")
    return phrase("slash.stage.lost_started")


def history_of(session: Session, *, deal: Deal, limit: int = 5) -> Sequence[StageChange]:
    return session.exec(
        select(StageChange)
        .where(StageChange.deal_id == deal.id)
        .order_by(col(StageChange.id).desc())
        .limit(limit)
    ).all()
