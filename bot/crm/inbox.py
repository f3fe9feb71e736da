"""CRM events are stored before the webhook answers, then applied here by the worker."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from bot.config import Settings


def process_pending(engine: Engine, *, settings: Settings, wake: Callable[[], None]) -> int:
    """Apply stored CRM events in arrival order; returns how many were applied."""
    return 0
