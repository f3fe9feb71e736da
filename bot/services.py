"""What listeners need from the running process, passed in rather than imported."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from bot.config import Settings


@dataclass(frozen=True)
class Services:
    engine: Engine
    settings: Settings
    hand_off: Callable[[], None]  # wakes the worker after work was recorded
