"""What listeners need from the running process, passed in rather than imported."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from bot.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    engine: Engine
    settings: Settings
    hand_off: Callable[[], None]  # wakes the worker after work was recorded


def error_id() -> str:
    return uuid.uuid4().hex[:8]


def unexpected(exc: BaseException, where: str) -> str:
    """Log with the traceback; give the person an id that finds it in the logs."""
    eid = error_id()
    log.error("error_id=%s in %s", eid, where, exc_info=exc)
    return f"Something went wrong on our side (error id `{eid}`). Nothing was changed; try again."
