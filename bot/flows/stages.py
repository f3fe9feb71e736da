"""Stage rules: what a stage change does to a watched deal's introduction.

One set of rules for every source (a CRM connector, the generic webhook, CSV, `stage` by
hand): a stage is pre-close when its normalised label or its CRM id is in
CARE_PRECLOSE_STAGES, or, when it is open, when its win probability reaches
CARE_PRECLOSE_PROBABILITY; won and lost come from the CRM's own word (`status`) when it
gives one, else from CARE_WON_STAGES / CARE_LOST_STAGES.

`history_of` (the stage history `status` shows) lives in `bot.store.stage_changes`; it
is imported here for the callers that know it as `stages.history_of`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.config import Settings
from bot.flows import archive, readiness
from bot.flows.stage_kinds import LOST, PRECLOSE, RANK, WON, Stage, kind, kind_of
from bot.models import Deal, Introduction, IntroStatus, StageChange, utcnow
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


def _keep(deal: Deal, stage: Stage) -> None:
    deal.stage, deal.stage_label = normalise_stage(stage.label), stage.label
    deal.stage_id, deal.pipeline = stage.stage_id, stage.pipeline
    deal.stage_status, deal.probability = stage.status, stage.probability


def record_stage(
    session: Session,
    *,
    deal: Deal,
    label: str,
    source: str,
    settings: Settings,
    user_id: str | None = None,
    stage_id: str = "",
    pipeline: str = "",
    status: str = "",
    probability: float | None = None,
) -> StageEffect:
    """Keep the change in the history and apply the SPEC's rules to the introduction.

    The CRM's facts (`stage_id`, `pipeline`, `status`, `probability`) are stored with
    the label; a source that does not give them (CSV, `stage` by hand) clears them."""
    new = Stage(clean_value(label, limit=100), clean_value(stage_id, limit=100),
                clean_value(pipeline, limit=100), status[:8].lower(), probability)  # fmt: skip
    old_stage, had_stage = deal.stage, bool(deal.stage or deal.stage_id)
    old_kind, new_kind = kind_of(deal, settings), kind(new, settings)
    _keep(deal, new)
    session.add(deal)
    if deal.stage == old_stage and new_kind == old_kind:
        return _effect("unchanged")
    backward = had_stage and RANK[new_kind] < RANK[old_kind]
    outcome = (
        _effect("backward")
        if backward
        else effect(session, deal=deal, settings=settings, user_id=user_id)
    )
    # a lost deal's channel is archived later; one that comes back gets it back
    archive.on_stage(session, deal=deal, old_kind=old_kind, new_kind=new_kind, now=utcnow())
    change = StageChange(
        deal_id=deal.id or 0,
        from_stage=old_stage,
        to_stage=deal.stage,
        label=new.label,
        kind=new_kind,
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
    """The rules for the deal's current stage: pre-close introduces, won introduces late
    (when nothing was), lost cancels an introduction not started."""
    if deal.deleted_at is not None:
        return _effect("deleted")
    if not (deal.watched or settings.auto_watch):
        return _effect("not_watched")
    stage = kind_of(deal, settings)
    wants = stage in (PRECLOSE, WON)
    if wants and (held := readiness.hold(session, deal=deal, settings=settings, user_id=user_id)):
        return StageEffect(*held)  # the deal lacks what an introduction needs, or had it
    if stage == PRECLOSE:
        _, queued = request_introduction(session, deal=deal, source="stage", requested_by=user_id)
        return _effect("starts" if queued else "already_introduced", queued)
    if stage == WON:
        intro = introduction_of(session, deal_id=deal.id)
        if intro is not None and intro.status not in (IntroStatus.CANCELLED, IntroStatus.FAILED):
            return _effect("won_introduced")
        _, queued = request_introduction(
            session, deal=deal, source="stage", requested_by=user_id, late=True
        )
        if intro is not None:
            intro.late = True
        return _effect("won_late", queued)
    if stage == LOST:
        return StageEffect(cancel_unstarted(session, deal=deal))
    return _effect("no_effect")


def record_deletion(session: Session, *, deal: Deal, now: datetime) -> StageEffect:
    """The CRM deleted the deal: marked so, and an introduction not started is cancelled
    (one under way or done stays: its channel exists)."""
    deal.deleted_at = deal.deleted_at or now
    session.add(deal)
    return StageEffect(cancel_unstarted(session, deal=deal, why="deleted"))


def cancel_unstarted(session: Session, *, deal: Deal, why: str = "lost") -> str:
    """Cancel the deal's introduction if no step of it ran; the words say what happened."""
    if readiness.cancel_if_waiting(session, deal=deal):
        return phrase(f"events.stage.{why}_cancelled")
    intro = introduction_of(session, deal_id=deal.id)
    if intro is None:
        return phrase(f"events.stage.{why}_none")
    if intro.status == IntroStatus.PENDING and not steps_of(session, intro_id=intro.id):
        intro.status = IntroStatus.CANCELLED
        session.add(intro)
        return phrase(f"events.stage.{why}_cancelled")
    return phrase(f"events.stage.{why}_started")
