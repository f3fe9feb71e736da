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
from bot.crm.connector import CrmConnector
from bot.crm.hubspot import HubSpotConnector
from bot.crm.hubspot.poller import HubSpotPoller
from bot.crm.salesforce import SalesforceConnector
from bot.crm.salesforce.poller import SalesforcePoller
from bot.flows import crm_news
from bot.flows.archive import ChannelArchives
from bot.flows.events import EventProcessor
from bot.flows.home import ConnectorHomes, HomeRefresh
from bot.flows.introduction import IntroductionRunner
from bot.flows.invitations import InvitationQueue
from bot.flows.missing_notice import MissingNotices
from bot.flows.reminders import ReminderTask
from bot.flows.response_alerts import ResponseAlerts
from bot.flows.writeback import NoteWriter, WritebackTask
from bot.slack.directory import UserDirectory
from bot.worker import Doorbell, Task, Worker, worker_id


def build_worker(
    engine: Engine, settings: Settings, client: WebClient, *, crm_time_scale: float = 1.0
) -> Worker:
    """The worker of this process, with its tasks; one Home publisher serves them all.
    `crm_time_scale` compresses the connectors' pacing like a fake CRM's clock (a
    benchmark's; 1.0, real time, everywhere else)."""
    owner = worker_id()
    homes = HomeRefresh(engine, client, settings)
    doorbell = Doorbell(settings.worker_threads)
    # Inviting the next contact needs no lease: a runner of its own, outside the threads'.
    invites = IntroductionRunner(engine=engine, client=client, settings=settings, owner=owner)
    connectors = crm_connectors(engine, settings, time_scale=crm_time_scale)
    tasks = periodic_tasks(
        engine,
        settings,
        client,
        homes=homes,
        wake=doorbell.ring,
        invite_next=invites.invite_next_contacts,
        lease_seconds=settings.lease_seconds,
        connectors=connectors,
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


def crm_connectors(
    engine: Engine, settings: Settings, *, time_scale: float = 1.0
) -> dict[str, CrmConnector]:
    """The CRM connectors the settings turn on, by the `source` of their deals; one per
    process (each paces its own calls under the CRM's limits)."""
    connectors: dict[str, CrmConnector] = {}
    if settings.hubspot_access_token:
        connectors["hubspot"] = HubSpotConnector(
            token=settings.hubspot_access_token, base_url=settings.hubspot_api_url,
            engine=engine, time_scale=time_scale,
        )  # fmt: skip
    if settings.salesforce_instance_url:
        connectors["salesforce"] = SalesforceConnector(
            instance_url=settings.salesforce_instance_url,
            client_id=settings.salesforce_client_id,
            client_secret=settings.salesforce_client_secret,
            version=settings.salesforce_api_version, engine=engine,
        )  # fmt: skip
    return connectors


def periodic_tasks(
    engine: Engine,
    settings: Settings,
    client: WebClient,
    *,
    homes: HomeRefresh,
    wake: Callable[[], None],
    invite_next: Callable[[int], str],
    lease_seconds: int,
    connectors: dict[str, CrmConnector] | None = None,
    owner: str | None = None,
) -> list[Task]:
    """Every task the worker runs after introductions, in order; their claims are the
    worker node's (`owner`), so they are free as soon as it dies."""
    connectors = crm_connectors(engine, settings) if connectors is None else connectors
    events = EventProcessor(
        engine, client, homes, invite_next, lease_seconds=lease_seconds, owner=owner
    )
    alerts = ResponseAlerts(engine, client, settings, homes, owner=owner)
    owners = UserDirectory(client)  # CRM owners' emails -> AEs, one cache per process

    def crm_events() -> int:
        return crm_news.process_pending(
            engine, settings=settings, wake=wake, lookup_user=owners.lookup,
            connectors=connectors,
        )  # fmt: skip

    tasks: list[Task] = [
        ("crm_events", crm_events),
        ("missing_notices", MissingNotices(engine, client)),
        ("connector_homes", ConnectorHomes(engine, homes, settings.admins)),
        ("slack_events", events.process_pending),
        ("invitations", InvitationQueue(engine, invite_next)),
        ("response_alerts", alerts.alert_due),
        ("reminders", ReminderTask(engine, settings, client, owner=owner)),
        ("channel_archives", ChannelArchives(engine, client, settings, owner=owner or worker_id())),
    ]
    hubspot = connectors.get("hubspot")
    if isinstance(hubspot, HubSpotConnector):
        poller = HubSpotPoller(engine, hubspot.client, every_seconds=settings.crm_poll_seconds)
        tasks.append(("hubspot_poll", _ringing(poller, wake)))
    salesforce = connectors.get("salesforce")
    if isinstance(salesforce, SalesforceConnector):
        every = settings.crm_poll_seconds
        sf_poller = SalesforcePoller(engine, salesforce.client, every_seconds=every)
        tasks.append(("salesforce_poll", _ringing(sf_poller, wake)))
    writers = {n: c for n, c in connectors.items() if isinstance(c, NoteWriter)}
    if writers:
        # a write-back that failed is tried again after about one poll interval, then
        # less and less often; a refused credential is tried again each poll interval
        every = min(30.0, settings.crm_poll_seconds)
        task = WritebackTask(
            engine, client, writers, owner=owner or worker_id(), lease_seconds=lease_seconds,
            retry_seconds=every, pause_seconds=every,
        )  # fmt: skip
        tasks.append(("crm_writeback", task))
    return tasks


def _ringing(task: Callable[[], int], wake: Callable[[], None]) -> Callable[[], int]:
    """The task, ringing the worker when it found something (new CRM events to apply)."""

    def run() -> int:
        found = task()
        if found:
            wake()
        return found

    return run
