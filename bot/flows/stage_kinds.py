"""What kind a stage is (open, pre-close, won, lost): one rule for every source.

A stage is pre-close when its normalised label or the CRM's own id for it is in
CARE_PRECLOSE_STAGES, or, when it is open, when its win probability reaches
CARE_PRECLOSE_PROBABILITY. Won and lost are the CRM's own word when it gives one
(HubSpot's closed flag and probability, Salesforce's IsWon/IsClosed), else the names in
CARE_WON_STAGES / CARE_LOST_STAGES. Pure: no database, so any room can ask.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.models import Deal
from bot.text import normalise_stage

OPEN, PRECLOSE, WON, LOST = "open", "preclose", "won", "lost"
RANK = {OPEN: 0, PRECLOSE: 1, WON: 2, LOST: 2}  # a move to a lower rank is a backward move


@dataclass(frozen=True)
class Stage:
    """A stage as its source describes it: the label, and the CRM's facts when it has
    them (its own id, pipeline, "open"/"won"/"lost", win probability 0..1)."""

    label: str
    stage_id: str = ""
    pipeline: str = ""
    status: str = ""
    probability: float | None = None

    @classmethod
    def of_deal(cls, deal: Deal) -> Stage:
        return cls(deal.stage_label or deal.stage, deal.stage_id, deal.pipeline,
                   deal.stage_status, deal.probability)  # fmt: skip


def kind(stage: Stage, settings: Settings) -> str:
    """OPEN, PRECLOSE, WON or LOST, by the rules of the module docstring."""
    keys = {normalise_stage(stage.label), normalise_stage(stage.stage_id)} - {""}
    status = stage.status.lower()
    if status in (WON, LOST):
        return status
    if status != OPEN:  # the CRM did not say: the names decide
        if keys & settings.won_stages:
            return WON
        if keys & settings.lost_stages:
            return LOST
    if keys & settings.preclose_stages:
        return PRECLOSE
    threshold, probability = settings.preclose_probability, stage.probability
    if threshold is not None and probability is not None and probability >= threshold:
        return PRECLOSE
    return OPEN


def kind_of(deal: Deal, settings: Settings) -> str:
    """The kind of the deal's current stage (OPEN for a deal with none yet)."""
    return kind(Stage.of_deal(deal), settings) if deal.stage or deal.stage_id else OPEN


def rank(stage: str, settings: Settings) -> int:
    """Open stages < pre-close < closed, for a stage known by its name only."""
    return RANK[kind(Stage(stage), settings)]
