"""Deal stages from `GET /crm/v3/pipelines/deals`, every pipeline, cached.

A custom pipeline's stages have numeric ids (`137498562`): the label ("Contract Sent")
is what the stage rules read. The cache is read once, then again only when a deal
names a stage it does not hold (an admin added a stage or a pipeline), at most once per
unknown id, and after `MAX_AGE_SECONDS` so renamed labels show within the hour.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_AGE_SECONDS = 3600.0


@dataclass(frozen=True)
class StageInfo:
    stage_id: str
    label: str
    pipeline: str
    closed: bool
    probability: float | None

    @property
    def status(self) -> str:
        """ "won" for a closed stage with probability 1, "lost" with 0, else "open"."""
        if self.closed and self.probability == 1.0:
            return "won"
        if self.closed and self.probability == 0.0:
            return "lost"
        return "open"


def _stage(pipeline_id: str, stage: dict[str, Any]) -> StageInfo:
    metadata = stage.get("metadata") or {}
    try:
        probability: float | None = float(metadata.get("probability"))
    except (TypeError, ValueError):
        probability = None
    return StageInfo(
        stage_id=str(stage.get("id")),
        label=str(stage.get("label") or stage.get("id")),
        pipeline=pipeline_id,
        closed=str(metadata.get("isClosed", "")).lower() == "true",
        probability=probability,
    )


class Pipelines:
    """`stage(id)` from the cache; `read` fetches the pipelines' JSON (one call)."""

    def __init__(self, read: Callable[[], list[dict[str, Any]]]) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._stages: dict[tuple[str, str], StageInfo] = {}
        self._by_id: dict[str, StageInfo] = {}
        self._read_at: float | None = None
        self._missed: set[str] = set()

    def _refresh(self) -> None:
        stages = [_stage(str(p.get("id")), s) for p in self._read() for s in p.get("stages") or []]
        self._stages = {(s.pipeline, s.stage_id): s for s in stages}
        self._by_id = {s.stage_id: s for s in stages}
        self._read_at = time.monotonic()
        self._missed.clear()

    def stage(self, stage_id: str, pipeline: str | None = None) -> StageInfo | None:
        with self._lock:
            stale = self._read_at is None or time.monotonic() - self._read_at > MAX_AGE_SECONDS
            if stale:
                self._refresh()
            found = self._find(stage_id, pipeline)
            if found is None and not stale and stage_id not in self._missed:
                self._refresh()  # a stage we have not seen: an admin changed the pipelines
                found = self._find(stage_id, pipeline)
            if found is None:
                self._missed.add(stage_id)
            return found

    def _find(self, stage_id: str, pipeline: str | None) -> StageInfo | None:
        if pipeline is not None and (pipeline, stage_id) in self._stages:
            return self._stages[(pipeline, stage_id)]
        return self._by_id.get(stage_id)
