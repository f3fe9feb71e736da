"""The Task write-back under Salesforce's API allowance: a used-up allowance pauses the
write-back without counting an attempt (nothing was written), and the Task is written
once the allowance is back; a second pass writes nothing more."""

from __future__ import annotations

import time

from sqlmodel import Session, select

from bot.crm.salesforce import SalesforceConnector
from bot.flows.writeback import WritebackTask
from bot.models import CrmWriteback, Introduction, IntroStatus, utcnow
from bot.slack.client import make_client
from bot.store import writebacks
from tests.factories import make_deal

from .conftest import CLIENT_ID, CLIENT_SECRET, VERSION, seed_acme


def finished_introduction(engine, opportunity: str) -> None:
    """A done introduction of the Opportunity, its write-back queued."""
    deal = make_deal(engine, opportunity, source="salesforce", company="Acme Corp")
    with Session(engine) as session:
        intro = Introduction(deal_id=deal.id, status=IntroStatus.DONE, engineer_user_id="U_ENG",
                             backup_user_id="U_BACKUP", channel_id="C0ACME",
                             channel_name="care-acme-corp")  # fmt: skip
        session.add(intro)
        session.flush()
        writebacks.queue_writeback(session, introduction_id=intro.id, crm="salesforce",
                                   crm_deal_id=opportunity, now=utcnow())  # fmt: skip
        session.commit()


def row(engine) -> CrmWriteback:
    with Session(engine) as session:
        return session.exec(select(CrmWriteback)).one()


def test_a_used_up_allowance_pauses_the_task_uncounted_then_it_is_written_once(
    sf, engine, settings
):
    connector = SalesforceConnector(
        instance_url=sf.instance_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        version=VERSION, engine=engine, limit_wait_seconds=0.2,
    )  # fmt: skip
    seeded = seed_acme(sf)
    finished_introduction(engine, seeded.opportunity)
    task = WritebackTask(engine, make_client(settings), {"salesforce": connector}, owner="w1",
                         lease_seconds=30, retry_seconds=0.1, pause_seconds=0.1)  # fmt: skip
    sf.set_allowance(0)  # the org's calls of the day are spent

    assert task() == 0
    paused = row(engine)
    assert (paused.state, paused.attempts) == ("pending", 0)  # nothing written: not counted
    assert "REQUEST_LIMIT_EXCEEDED" in (paused.last_error or "")
    assert not sf.tasks()

    sf.set_allowance(100_000)  # a new day
    time.sleep(0.3)  # past the connector's hold and the write-back's pause
    assert task() == 1
    [written] = sf.tasks(seeded.opportunity)
    assert written["Subject"] == "Care team introduced: Erin Engineer (backup Sam Backup)"
    assert row(engine).external_id == written["Id"] and row(engine).state == "done"
    assert task() == 0 and len(sf.tasks()) == 1
