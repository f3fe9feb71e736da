"""The first worker thread runs the periodic tasks between introductions, so a queue of
introductions does not hold back what the tasks do meanwhile (reading the next CRM
deals, writing notes back): bench/hubspot_introductions.py found the CRM's news waiting
for 200 introductions to drain before the next deals were read."""

from __future__ import annotations

import time

from sqlmodel import Session, col, func, select

from bot.models import Introduction, IntroStatus
from bot.slack.client import make_client
from bot.store.introductions import request_introduction
from bot.worker import Worker
from tests.factories import make_deal, make_member

QUEUED = 6


def done(engine) -> int:
    with Session(engine) as session:
        return session.exec(
            select(func.count()).where(col(Introduction.status) == IntroStatus.DONE)
        ).one()


def test_the_tasks_run_while_introductions_are_still_queued(settings, fake, engine):
    make_member(engine, "U_ENG")
    with Session(engine) as session:
        for n in range(QUEUED):
            deal = make_deal(engine, f"D-{n}", company=f"Company {n}", engineer_user_id="U_ENG")
            request_introduction(session, deal=session.merge(deal), source="now",
                                 requested_by="U_AE")  # fmt: skip
        session.commit()
    seen: list[int] = []  # introductions done each time the task ran

    def probe() -> int:
        seen.append(done(engine))
        return 0

    worker = Worker(engine, settings, make_client(settings), tasks=[("probe", probe)],
                    threads=2, poll_seconds=0.05)  # fmt: skip
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while done(engine) < QUEUED:
            assert time.monotonic() < deadline, "introductions not done"
            time.sleep(0.05)
    finally:
        worker.stop()
    # Draining the queue first, the task's first run would come with at most one
    # introduction left (the other thread's); between introductions, it runs early.
    assert seen and seen[0] <= QUEUED - 3, seen
