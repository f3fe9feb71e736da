"""The worker's periodic tasks, besides introductions: each returns how much it did.

A task must be safe to run from several workers at once (claims in the database),
and cheap when there is nothing to do: it runs at every poll.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient

from bot.config import Settings
from bot.worker import Worker

Task = tuple[str, Callable[[], int]]


def periodic_tasks(worker: Worker, settings: Settings, client: WebClient) -> list[Task]:
    """Every task the worker runs after introductions, in order."""
    from bot.crm import inbox
    from bot.flows.events import worker_tasks as slack_event_tasks
    from bot.flows.reminders import ReminderTask

    return [
        (
            "crm_events",
            lambda: inbox.process_pending(worker.engine, settings=settings, wake=worker.wake),
        ),
        *slack_event_tasks(worker, settings, client),
        ("reminders", ReminderTask(worker.engine, settings, client)),
    ]
