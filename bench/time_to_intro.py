"""8. Time to introduction: a CRM webhook's 2xx → the AE told, unloaded.

The real app (HTTP server and its in-process worker, as `careintro serve` runs them) in
this process, against the Slack emulator in a process of its own (no rate limits, no
faults: unloaded). One deal at a time: a signed generic webhook moves a new deal to
Contract Sent (`CARE_AUTO_WATCH=all`, the worker's default 2 s poll); the clock starts
when the 2xx arrives and stops at the `ts` of the AE's DM in the emulator (its wall
clock, the same machine's). Against it, the Slack calls the app made in that window,
timed on the client: slack_sdk's "Sending a request" / "Received the following response"
debug lines, paired per thread. What is left is our own time: the hand-off, the database,
rendering.

    python bench/time_to_intro.py [--runs 50] [--db sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert
from sqlmodel import Session, select

from bench._common import (
    SIGNING_SECRET,
    TOKEN,
    WEBHOOK_SECRET,
    RemoteFakeSlack,
    database,
    machine,
    percentile,
    postgres_available,
    remote_fake_slack,
    signed_webhook,
    table,
)
from bot.config import Settings
from bot.models import CareMember, Introduction, IntroStatus
from bot.runtime import HttpServer, build_runtime

AE, ENGINEER, BACKUP = "U_AE00", "U_ENG000", "U_ENG001"
RUN_TIMEOUT = 30.0
_METHOD = re.compile(r"url: \S*/api/([\w.]+)")


@dataclass
class SlackCall:
    method: str
    began: float  # time.time()
    seconds: float


class SlackCallTimer(logging.Handler):
    """Every Web API call this process makes, timed from slack_sdk's own debug lines (the
    request is logged just before it is sent, the response once its body is read)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.calls: list[SlackCall] = []
        self._open: dict[int, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        with self._lock:
            if message.startswith("Sending a request"):
                match = _METHOD.search(message)
                self._open[record.thread or 0] = (match[1] if match else "?", record.created)
            elif message.startswith("Received the following response"):
                started = self._open.pop(record.thread or 0, None)
                if started:
                    method, began = started
                    self.calls.append(SlackCall(method, began, record.created - began))

    def between(self, start: float, end: float) -> list[SlackCall]:
        with self._lock:
            return [c for c in self.calls if start <= c.began <= end]

    def install(self) -> None:
        logger = logging.getLogger("slack_sdk.web.base_client")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(self)


@dataclass
class Run:
    seconds: float  # webhook 2xx → the AE's DM
    slack_seconds: float  # the Slack calls made meanwhile, summed
    calls: Counter[str]


def seed(url: str, fake: RemoteFakeSlack) -> None:
    fake.add_user(AE, real_name="Alex Account", email="ae@ours.example", title="Account Exec")
    for user in (ENGINEER, BACKUP):
        fake.add_user(user, real_name=f"Engineer {user}", email=f"{user.lower()}@ours.example",
                      title="Support Engineer")  # fmt: skip
    from bot.db import make_engine

    engine = make_engine(url)
    with engine.begin() as connection:
        member = {"user_id": ENGINEER, "backup_user_id": BACKUP, "active": True,
                  "created_at": datetime.now(UTC)}  # fmt: skip
        connection.execute(insert(CareMember), [member])
    engine.dispose()


def post_stage_change(port: int, n: int) -> None:
    event = {"event_id": f"tti-{n}", "deal_id": f"TTI-{n:04d}", "stage": "Contract Sent",
             "company": f"Prospect {n} Inc", "amount": 24000, "owner_email": "ae@ours.example",
             "close_date": str(date.today() + timedelta(days=20)),
             "contacts": [f"cto@prospect{n}.example"]}  # fmt: skip
    path, body, headers = signed_webhook([event])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    # Not `new`: on PostgreSQL it reads -1 (psycopg's rowcount of INSERT … ON CONFLICT
    # under SQLAlchemy 2.1; bot/store/crm_events.py, reported).
    if response.status != 200 or answer.get("accepted") != 1:
        raise RuntimeError(f"webhook answered {response.status}: {answer}")


def ae_told(fake: RemoteFakeSlack, seen: int) -> float | None:
    """The `ts` (wall clock) of the AE's next "introduction done" DM, once it is there."""
    done = [m for m in fake.dm_messages(AE)
            if (m.get("metadata") or {}).get("event_type") == "careintro_ae_done"]  # fmt: skip
    return float(done[seen]["ts"]) if len(done) > seen else None


def wait_idle(engine: object, deal_crm_id: str) -> None:
    """Until the run's introduction is done, so the next one starts on an idle app."""
    from bot.models import Deal

    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        with Session(engine) as session:  # type: ignore[call-overload]
            status = session.exec(
                select(Introduction.status).join(Deal).where(Deal.crm_id == deal_crm_id)
            ).first()
        if status in (IntroStatus.DONE, IntroStatus.FAILED):
            return
        time.sleep(0.01)
    raise RuntimeError(f"{deal_crm_id}: the introduction did not finish")


def run(kind: str, runs: int, timer: SlackCallTimer) -> list[Run]:
    with database(kind) as url, remote_fake_slack() as fake:
        seed(url, fake)
        settings = Settings(
            slack_bot_token=TOKEN, slack_signing_secret=SIGNING_SECRET,
            crm_webhook_secret=WEBHOOK_SECRET, slack_api_url=fake.url, database_url=url,
            auto_watch=True,
        )  # fmt: skip
        runtime = build_runtime(settings, with_worker=True)
        assert runtime.worker is not None
        server = HttpServer(runtime, host="127.0.0.1", port=0, threads=8)
        server.start()
        runtime.worker.start()
        results = []
        try:
            for n in range(runs + 1):  # the first warms up (imports, connections, caches)
                post_stage_change(server.port, n)
                answered = time.time()
                deadline = time.monotonic() + RUN_TIMEOUT
                while (told := ae_told(fake, n)) is None:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"run {n}: the AE was not told")
                    time.sleep(0.002)
                wait_idle(runtime.engine, f"TTI-{n:04d}")
                time.sleep(0.3)  # what follows an introduction (the Home) settles first
                calls = timer.between(answered, told)
                if n:
                    results.append(Run(told - answered, sum(c.seconds for c in calls),
                                       Counter(c.method for c in calls)))  # fmt: skip
        finally:
            runtime.worker.stop()
            server.stop()
            runtime.engine.dispose()
    return results


def row(kind: str, results: list[Run]) -> list[object]:
    total = [r.seconds * 1000 for r in results]
    slack = [r.slack_seconds * 1000 for r in results]
    own = [(r.seconds - r.slack_seconds) * 1000 for r in results]
    calls = sorted(sum(r.calls.values()) for r in results)
    return [kind, len(results), percentile(total, 50), percentile(total, 99), max(total),
            percentile(slack, 50), percentile(slack, 99), percentile(own, 50),
            percentile(own, 99), f"{calls[0]}–{calls[-1]}"]  # fmt: skip


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--db", default="sqlite,postgresql")
    args = parser.parse_args()
    timer = SlackCallTimer()
    timer.install()
    rows, methods = [], []
    for kind in args.db.split(","):
        if kind == "postgresql" and not postgres_available():
            print("postgresql: not available (BENCH_PG_URL), skipped")
            continue
        results = run(kind, args.runs, timer)
        rows.append(row(kind, results))
        per_run = Counter[str]()
        for result in results:
            per_run.update(result.calls)
        methods.append(f"{kind}: " + ", ".join(
            f"{m} {n / len(results):.1f}" for m, n in sorted(per_run.items())))  # fmt: skip
    print(f"Run: time to introduction, {args.runs} runs each ({machine()})\n")
    print(table(["db", "runs", "p50 ms", "p99 ms", "max ms", "Slack p50 ms", "Slack p99 ms",
                 "own p50 ms", "own p99 ms", "Slack calls"], rows))  # fmt: skip
    print("\nSlack calls per introduction, by method:")
    print("\n".join(methods))


if __name__ == "__main__":
    main()
