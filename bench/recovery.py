"""Recovery after `kill -9`: from the kill of a worker mid-introduction to its next step
done, by the restarted process and by a second live worker, with the default 300-second
lease (SPEC "Operating it": within 15 seconds, nothing done twice).

    python bench/recovery.py [--db sqlite,postgresql] [--runs 5]

Each run: a fresh database, one introduction queued, `careintro worker` started; Slack
(the local emulator) sets the channel's topic and never answers, the worker is SIGKILLed
then, and the clock starts. "restarted": a new `careintro worker` is started at once;
"second": one was already running beside the first. The clock stops when the topic step
is recorded done; the run then checks that the introduction finished with one channel,
one welcome, one invitation and one DM each.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from decimal import Decimal

from sqlmodel import Session, select

from bench._common import TOKEN, database, fake_slack, machine, postgres_available, table
from bot.config import DEFAULT_LEASE_SECONDS
from bot.db import make_engine
from bot.models import Introduction, IntroductionStep, IntroStatus
from bot.store.contacts import add_contacts
from bot.store.deals import upsert_deal
from bot.store.introductions import request_introduction
from bot.store.roster import add_member

PEOPLE = {"U_AE": "alex", "U_ENG": "erin", "U_BACKUP": "sam"}


def start_worker(url: str, api_url: str) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "SLACK_SIGNING_SECRET": "bench-signing-secret",
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": api_url,
        "DATABASE_URL": url,
        "CARE_LEASE_SECONDS": str(DEFAULT_LEASE_SECONDS),
        "CAREINTRO_ENV_FILE": os.devnull,
        "LOG_LEVEL": "ERROR",
    }
    return subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env)


def queue(engine) -> None:
    with Session(engine) as session:
        add_member(session, user_id="U_ENG", backup_id="U_BACKUP", added_by="U_ADMIN")
        deal = upsert_deal(session, crm_id="D-1", company="Acme Corp", amount=Decimal(48000),
                           registered_by="U_AE")  # fmt: skip
        add_contacts(session, deal=deal, emails=["cto@acme.example"])
        request_introduction(session, deal=deal, source="now", requested_by="U_AE")
        session.commit()


def wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the introduction did not go on")
        time.sleep(0.02)


def step_done_at(engine, step: str) -> float | None:
    with Session(engine) as session:
        row = session.exec(select(IntroductionStep).where(IntroductionStep.step == step)).first()
        return row.done_at.timestamp() if row and row.done_at else None


def one_run(kind: str, mode: str) -> float:
    """Seconds from the SIGKILL to the topic step done, for one fresh database."""
    with database(kind) as url, fake_slack() as fake:
        for user_id, name in PEOPLE.items():
            fake.add_user(user_id, name=name, real_name=name.title(), email=f"{name}@ours.example")
        engine = make_engine(url)
        queue(engine)
        fake.hang("conversations.setTopic", after_effect=True)
        first = start_worker(url, fake.url)
        workers = []
        try:
            wait_for(lambda: bool(fake.calls_to("conversations.setTopic")))
            if mode == "second":
                workers.append(start_worker(url, fake.url))
                time.sleep(2)  # up and polling
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            killed = time.time()
            fake.release_all()
            fake.clear_faults()
            if mode == "restarted":
                workers.append(start_worker(url, fake.url))
            wait_for(lambda: step_done_at(engine, "topic") is not None)
            took = step_done_at(engine, "topic") - killed  # type: ignore[operator]
            wait_for(lambda: _status(engine) != IntroStatus.RUNNING)
            _check_once(fake, engine)
        finally:
            for worker in [first, *workers]:
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
                    worker.wait(30)
            engine.dispose()
        return took


def _status(engine) -> IntroStatus:
    with Session(engine) as session:
        return session.exec(select(Introduction)).one().status


def _check_once(fake, engine) -> None:
    with Session(engine) as session:
        intro = session.exec(select(Introduction)).one()
    counts = (
        intro.status == IntroStatus.DONE,
        len([c for c in fake.channels.values() if c.name.startswith("care-acme")]) == 1,
        len(fake.messages(intro.channel_id)) == 1,
        len(fake.shared_invites) == 1,
        len(fake.calls_to("conversations.setTopic")) == 2,  # the killed one, the resumed one
        len(fake.dm_messages("U_ENG")) == 1 and len(fake.dm_messages("U_AE")) == 1,
    )
    if not all(counts):
        raise AssertionError(f"not exactly once: {counts} ({intro.last_error})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    kinds = [k for k in args.db.split(",") if k != "postgresql" or postgres_available()]
    rows = []
    for kind in kinds:
        for mode in ("restarted", "second"):
            times = [one_run(kind, mode) for _ in range(args.runs)]
            print(f"{kind} {mode}: {', '.join(f'{t:.2f}' for t in times)}", file=sys.stderr)
            rows.append([kind, mode, args.runs, f"{statistics.median(times):.2f}",
                         f"{max(times):.2f}", f"{min(times):.2f}", "0"])  # fmt: skip
    print(machine())
    print(table(["db", "resumed by", "runs", "median s", "max s", "min s", "duplicates"], rows))


if __name__ == "__main__":
    main()
