"""A lost Slack is logged once when it goes and once when it is back, per process, not
once per item per poll, and the work waiting on it goes on by itself.

A real `careintro worker` process talks to the Slack emulator, which is stopped (every
call refused) and started again on the same port with its state. During the outage the
worker has an introduction to run and two response alerts to send, each tried again at
every poll: before, each failure was a line ("alert failed, retrying later", "transient
failure, retrying"). Lines at WARNING and above are counted (INFO says what was done).

Measured: a 20-second outage gave 2 lines on SQLite ("Slack unreachable",
"Slack reachable again") and 4 on PostgreSQL (two alert warnings before the third
failure in a row made it an outage, then those two); once with
`CARE_TEST_OUTAGE_SECONDS=60` (SQLite), 3 lines: the count does not grow with the outage,
so the suite's default is 10 s (still ~50 polls of every task at `CARE_POLL_MS=200`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.models import Deal, Introduction, IntroStatus, ResponseClock, utcnow
from bot.store.introductions import request_introduction
from tests.factories import make_deal
from tests.flows.test_crash_resume import queue_introduction
from tests.processes import logged_worker
from tests.waiting import wait_for

pytestmark = pytest.mark.slow
OUTAGE_SECONDS = float(os.environ.get("CARE_TEST_OUTAGE_SECONDS", "10"))
MAX_LINES = 5


def start_worker(settings) -> tuple[subprocess.Popen[str], list[str]]:
    env = os.environ | {
        "SLACK_SIGNING_SECRET": "s3cret-signing",
        "SLACK_BOT_TOKEN": settings.slack_bot_token,
        "SLACK_API_URL": settings.slack_api_url,
        "DATABASE_URL": settings.database_url,
        "CARE_POLL_MS": "200",
        "CAREINTRO_ENV_FILE": os.devnull,
        "LOG_LEVEL": "INFO",
    }
    return logged_worker(env)


def status(engine, crm_id: str) -> IntroStatus | None:
    with Session(engine) as session:
        deal = session.exec(select(Deal).where(Deal.crm_id == crm_id)).one()
        intro = session.exec(select(Introduction).where(Introduction.deal_id == deal.id)).first()
        return intro.status if intro else None


def overdue_questions(engine) -> None:
    """Two prospect questions unanswered for two hours: the engineer's and the backup's
    alerts are due at once."""
    with Session(engine) as session:
        intro = session.exec(select(Introduction)).one()
        asked = utcnow() - timedelta(hours=2)
        for n in (1, 2):
            clock = ResponseClock(
                introduction_id=intro.id or 0,
                channel_id=intro.channel_id or "",
                message_ts=f"9.{n}",
                text_preview=f"question {n}",
                started_at=asked,
            )
            session.add(clock)
        session.commit()


def alerts_sent(engine) -> int:
    with Session(engine) as session:
        clocks = session.exec(select(ResponseClock)).all()
    return sum(bool(c.engineer_alerted_at) + bool(c.backup_alerted_at) for c in clocks)


def queue_second(engine) -> None:
    deal = make_deal(engine, "D-2", company="Globex", contacts=["cto@globex.example"])
    with Session(engine) as session:
        request_introduction(session, deal=session.merge(deal), source="now", requested_by="U_AE")
        session.commit()


def test_a_slack_outage_is_logged_once_and_work_resumes(settings, fake, engine):
    worker, lines = start_worker(settings)
    try:
        queue_introduction(engine)
        wait_for(lambda: status(engine, "D-1") == IntroStatus.DONE, timeout=30)
        time.sleep(1)
        before = len(lines)
        fake.stop()  # every call refused from now on
        overdue_questions(engine)
        queue_second(engine)
        time.sleep(OUTAGE_SECONDS)
        fake.start()  # the same port, the same workspace

        wait_for(lambda: status(engine, "D-2") == IntroStatus.DONE, timeout=40)
        wait_for(lambda: alerts_sent(engine) == 4, timeout=20)
        wait_for(lambda: any("Slack reachable again" in line for line in lines), timeout=20)
        time.sleep(2)
        during = [line for line in lines[before:] if "INFO" not in line]
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    print(f"{OUTAGE_SECONDS:.0f} s outage, {len(during)} lines:\n" + "".join(during))
    assert len(during) <= MAX_LINES, "".join(during)
    assert sum("Slack unreachable" in line for line in during) == 1
    assert sum("Slack reachable again" in line for line in during) == 1
    assert not any("Traceback" in line for line in during)
    with Session(engine) as session:
        second = session.exec(select(Introduction).where(Introduction.id == 2)).one()
    assert second.attempts <= 2, "an outage costs an introduction no attempts"
