"""Stage rules: what a stage change does to a watched deal's introduction.

`history_of` (the stage history `status` shows) lives in `bot.store.stage_changes`; it
is imported here for the callers that know it as `stages.history_of`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from bot.config import Settings
from bot.flows import readiness
from bot.models import Deal, Introduction, IntroStatus, StageChange
from bot.store.introductions import introduction_of, request_introduction, steps_of
from bot.store.stage_changes import add_stage_change
from bot.store.stage_changes import history_of as history_of  # `stages.history_of`
from bot.templating import phrase
from bot.text import clean_value, normalise_stage


@dataclass(frozen=True)
class StageEffect:
    """What a stage change did: the words for the person and the history, and whether
    it queued an introduction (the worker is woken then)."""

    message: str
    queued: bool = False


def _effect(key: str, queued: bool = False) -> StageEffect:
    """An effect worded by `templates/phrases/events.toml` (`[stage]`)."""
    return StageEffect(phrase(f"events.stage.{key}"), queued)


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
) -> StageEffect:
    """Keep the change in the history and apply the SPEC's rules to the introduction."""
    label = clean_value(label, limit=100)
    new, old = normalise_stage(label), deal.stage
    if new == old:
        return _effect("unchanged")
    backward = bool(old) and rank(new, settings) < rank(old, settings)
    deal.stage, deal.stage_label = new, label
    session.add(deal)
    outcome = (
        _effect("backward")
        if backward
        else effect(session, deal=deal, settings=settings, user_id=user_id)
    )
    change = StageChange(
        deal_id=deal.id or 0,
        from_stage=old,
        to_stage=new,
        label=label,
        source=source,
        actor=user_id,
        effect=outcome.message[:200],
    )
    add_stage_change(session, change=change)
    return outcome


def apply_current_stage(
    session: Session, *, deal: Deal, settings: Settings, user_id: str | None
) -> Introduction | None:
    """When a deal starts being watched at a pre-close or won stage, act as if it just moved."""
    outcome = effect(session, deal=deal, settings=settings, user_id=user_id)
    return introduction_of(session, deal_id=deal.id) if outcome.queued else None


def effect(session: Session, *, deal: Deal, settings: Settings, user_id: str | None) -> StageEffect:
    if not (deal.watched or settings.auto_watch):
        return _effect("not_watched")
    stage = deal.stage
    wants = stage in settings.preclose_stages or stage in settings.won_stages
    if wants and (held := readiness.hold(session, deal=deal, settings=settings, user_id=user_id)):
        return StageEffect(*held)  # the deal lacks what an introduction needs, or had it
    if stage in settings.preclose_stages:
        _, queued = request_introduction(session, deal=deal, source="stage", requested_by=user_id)
        return _effect("starts" if queued else "already_introduced", queued)
    if stage in settings.won_stages:
        intro = introduction_of(session, deal_id=deal.id)
        if intro is not None and intro.status not in (IntroStatus.CANCELLED, IntroStatus.FAILED):
            return _effect("won_introduced")
        _, queued = request_introduction(
            session, deal=deal, source="stage", requested_by=user_id, late=True
        )
        if intro is not None:
            intro.late = True
        return _effect("won_late", queued)
    if stage in settings.lost_stages:
        return StageEffect(cancel_unstarted(session, deal=deal))
    return _effect("no_effect")


def cancel_unstarted(session: Session, *, deal: Deal) -> str:
    if readiness.cancel_if_waiting(session, deal=deal):
        return phrase("events.stage.lost_cancelled")
    intro = introduction_of(session, deal_id=deal.id)
    if intro is None:
        return phrase("events.stage.lost_none")
    if intro.status == IntroStatus.PENDING and not steps_of(session, intro_id=intro.id):
        intro.status = IntroStatus.CANCELLED
        session.add(intro)
        return phrase("events.stage.lost_cancelled")
    return phrase("events.stage.lost_started")
