"""The worker and its periodic tasks, besides introductions: each returns how much it did.

Here the delivery layer builds what the worker runs and hands it in: flows never see
the worker. A task must be safe to run from several workers at once (claims in the
database), and cheap when there is nothing to do: it runs at every poll.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.config import Settings
from bot.flows import crm_news
from bot.flows.events import EventProcessor
from bot.flows.home import HomeRefresh
from bot.flows.introduction import IntroductionRunner
from bot.flows.reminders import ReminderTask
from bot.flows.response_alerts import ResponseAlerts
from bot.worker import Doorbell, Task, Worker, worker_id


def build_worker(engine: Engine, settings: Settings, client: WebClient) -> Worker:
    """The worker of this process, with its tasks; one Home publisher serves them all."""
    owner = worker_id()
    homes = HomeRefresh(engine, client, settings)
    doorbell = Doorbell(settings.worker_threads)
    # Inviting the next contact needs no lease: a runner of its own, outside the threads'.
    invites = IntroductionRunner(engine=engine, client=client, settings=settings, owner=owner)
    tasks = periodic_tasks(
        engine,
        settings,
        client,
        homes=homes,
        wake=doorbell.ring,
        invite_next=invites.invite_next_contacts,
        lease_seconds=settings.lease_seconds,
        owner=owner,
    )
    return Worker(
        engine,
        settings,
        client,
        tasks=tasks,
        homes=homes,
        doorbell=doorbell,
        owner=owner,
        poll_seconds=settings.poll_seconds,
        lease_seconds=settings.lease_seconds,
        threads=settings.worker_threads,
    )


def periodic_tasks(
    engine: Engine,
    settings: Settings,
    client: WebClient,
    *,
    homes: HomeRefresh,
    wake: Callable[[], None],
    invite_next: Callable[[int], str],
    lease_seconds: int,
    owner: str | None = None,
) -> list[Task]:
    """Every task the worker runs after introductions, in order; their claims are the
    worker node's (`owner`), so they are free as soon as it dies."""
    events = EventProcessor(
        engine, client, homes, invite_next, lease_seconds=lease_seconds, owner=owner
    )
    alerts = ResponseAlerts(engine, client, settings, homes, owner=owner)
    return [
        ("crm_events", lambda: crm_news.process_pending(engine, settings=settings, wake=wake)),
        ("slack_events", events.process_pending),
        ("response_alerts", alerts.alert_due),
        ("reminders", ReminderTask(engine, settings, client, owner=owner)),
    ]
