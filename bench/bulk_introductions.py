"""2. Bulk introductions: 200 watched deals reach pre-close in one signed webhook batch.

The real app (HTTP server, worker, periodic tasks) runs in this process against the
Slack emulator enforcing Slack's tiers, time compressed (`--time-scale 60`: a Slack
minute lasts one real second). The run ends when every introduction is done; then the
emulator's call log gives the floor the tiers allow, the 429s and the duplicates.

    python bench/bulk_introductions.py [--deals 200] [--workers 1,4] [--db sqlite,postgresql]
                                       [--processes 1,2] [--time-scale 60]

`--workers` is the worker's thread count (`CARE_WORKER_THREADS`), one run each;
`--processes N` runs N - 1 `careintro worker` processes beside the in-process one, on the
same database (as `heroku ps:scale worker=N` would), one run each.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import event, func, insert
from sqlmodel import Session, col, select

from bench._common import (
    ROOT,
    SIGNING_SECRET,
    TOKEN,
    WEBHOOK_SECRET,
    RemoteFakeSlack,
    ae_ids,
    database,
    engineer_ids,
    machine,
    messages_by_introduction,
    postgres_available,
    remote_fake_slack,
    signed_webhook,
    slack_floors,
    table,
)
from bot.config import Settings
from bot.models import CareMember, Contact, Deal, Introduction, IntroStatus
from bot.runtime import HttpServer, build_runtime

TARGET_RATIO = 1.1
ENGINEERS, AES = 20, 10
TIMEOUT = 300.0


@dataclass
class Outcome:
    workers: int
    processes: int
    db: str
    seconds: float
    floor_seconds: float
    slowest: str
    done: int
    failed: int
    rate_limited: Counter[str]
    duplicates: int
    calls: int
    statements: int  # SQL statements this process issued (webhook, worker, tasks)
    commits: int  # transactions this process committed
    cpu_seconds: float  # this process's CPU (user + system, every thread) during the run


def seed(url: str, fake: RemoteFakeSlack, deals: int) -> None:
    """The roster and AEs in Slack and in the database; `deals` watched deals, early stage."""
    engineers, aes = engineer_ids(ENGINEERS), ae_ids(AES)
    for n, user in enumerate(engineers):
        fake.add_user(user, real_name=f"Engineer {n}", email=email(user), title="Support Engineer")
    for n, user in enumerate(aes):
        fake.add_user(
            user, real_name=f"Account Exec {n}", email=email(user), title="Account Executive"
        )
    now = datetime.now(UTC)
    from bot.db import make_engine

    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            insert(CareMember),
            [
                {"user_id": u, "backup_user_id": engineers[(n + 1) % ENGINEERS], "active": True,
                 "created_at": now}
                for n, u in enumerate(engineers)
            ],
        )  # fmt: skip
        connection.execute(
            insert(Deal),
            [
                {"id": i + 1, "crm_id": f"BULK-{i:04d}", "company": f"Bulk Prospect {i} Inc",
                 "stage": "qualifiedtobuy", "stage_label": "Qualified To Buy",
                 "amount": Decimal(20000 + i), "owner_email": email(aes[i % AES]),
                 "notes": "", "watched": True, "registered_by": aes[i % AES],
                 "created_at": now, "updated_at": now}
                for i in range(deals)
            ],
        )  # fmt: skip
        connection.execute(
            insert(Contact),
            [
                {"deal_id": i + 1, "email": f"cto@prospect{i}.example", "invite_state": "waiting",
                 "created_at": now}
                for i in range(deals)
            ],
        )  # fmt: skip
    engine.dispose()


def email(user_id: str) -> str:
    return f"{user_id.lower()}@ours.example"


def batch(deals: int) -> list[dict[str, object]]:
    return [
        {"event_id": f"bulk-{i}", "deal_id": f"BULK-{i:04d}", "stage": "Contract Sent",
         "company": f"Bulk Prospect {i} Inc"}
        for i in range(deals)
    ]  # fmt: skip


def post_batch(port: int, deals: int) -> dict[str, object]:
    path, body, headers = signed_webhook(batch(deals))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"webhook answered {response.status}: {answer}")
    return answer  # type: ignore[no-any-return]


def floor_seconds(fake: RemoteFakeSlack, time_scale: float) -> tuple[float, str]:
    """The least time the tiers allow for the calls actually made (429s not counted):
    for a tiered method, its calls / its per-minute limit; for chat.postMessage, the
    busiest channel's messages beyond the burst at one per second."""
    floors = {method: rate for method, (_, _, rate) in slack_floors(fake.calls).items()}
    slowest = max(floors, key=floors.__getitem__)
    count = sum(1 for c in fake.calls if c.method == slowest and c.status != 429)
    return floors[slowest] / time_scale, f"{slowest} ({count} calls)"


def duplicates(fake: RemoteFakeSlack, engine_url: str) -> int:
    """Channels beyond one per deal, and welcome/brief/AE messages beyond one per intro."""
    from bot.db import make_engine

    engine = make_engine(engine_url)
    with Session(engine) as session:
        intros = session.exec(select(Introduction)).all()
    engine.dispose()
    channels = fake.channels
    care = [c for c in channels.values() if c.name and c.name.startswith("care-")]
    per_deal = Counter(re.sub(r"-\d+$", "", c.name) for c in care)
    extra_channels = sum(n - 1 for n in per_deal.values() if n > 1)
    extra_channels += max(0, len(care) - len(intros))
    kinds = messages_by_introduction(channels.values())
    return extra_channels + sum(n - 1 for n in kinds.values())


@contextmanager
def worker_processes(count: int, *, url: str, api_url: str, threads: int) -> Iterator[None]:
    """`careintro worker` processes on the database, started (and ready) before the batch."""
    env = os.environ | {
        "SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": api_url, "DATABASE_URL": url,
        "CARE_POLL_MS": "50", "CARE_LEASE_SECONDS": "120", "CARE_WORKER_THREADS": str(threads),
        "CAREINTRO_ENV_FILE": os.devnull, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "INFO",
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        logs = [Path(tmp) / f"worker-{n}.log" for n in range(count)]
        procs = []
        for log in logs:
            with log.open("w") as out:
                command = [sys.executable, "-m", "bot", "worker"]
                procs.append(subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=out))
        try:
            deadline = time.monotonic() + 60
            for proc, log in zip(procs, logs, strict=True):  # ready: each thread said "started"
                while log.read_text().count(" started") < threads:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"a worker process did not start: {log.read_text()}")
                    time.sleep(0.05)
            yield
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)


def run(kind: str, workers: int, deals: int, time_scale: float, processes: int = 1) -> Outcome:
    with (
        database(kind) as url,
        remote_fake_slack(rate_limits=True, time_scale=time_scale) as fake,
        worker_processes(processes - 1, url=url, api_url=fake.url, threads=workers),
    ):
        seed(url, fake, deals)
        settings = Settings(
            slack_bot_token=TOKEN, slack_signing_secret=SIGNING_SECRET,
            crm_webhook_secret=WEBHOOK_SECRET, slack_api_url=fake.url, database_url=url,
            poll_seconds=0.05, lease_seconds=120, worker_threads=workers,
        )  # fmt: skip
        runtime = build_runtime(settings, with_worker=True)
        assert runtime.worker is not None
        statements, commits = [0], [0]
        event.listen(
            runtime.engine,
            "before_cursor_execute",
            lambda *_: statements.__setitem__(0, statements[0] + 1),
        )
        event.listen(runtime.engine, "commit", lambda *_: commits.__setitem__(0, commits[0] + 1))
        server = HttpServer(runtime, host="127.0.0.1", port=0, threads=8)
        server.start()
        runtime.worker.start()
        fake.reset_calls()
        began, cpu_began = time.monotonic(), time.process_time()
        post_batch(server.port, deals)
        done = failed = 0
        while time.monotonic() - began < TIMEOUT:
            with Session(runtime.engine) as session:
                counts = dict(
                    session.exec(
                        select(Introduction.status, func.count()).group_by(col(Introduction.status))
                    ).all()
                )
            done, failed = counts.get(IntroStatus.DONE, 0), counts.get(IntroStatus.FAILED, 0)
            if done + failed >= deals:
                break
            time.sleep(0.05)
        seconds, cpu_seconds = time.monotonic() - began, time.process_time() - cpu_began
        runtime.worker.stop()
        server.stop()
        floor, slowest = floor_seconds(fake, time_scale)
        rate_limited = Counter(c.method for c in fake.calls if c.status == 429)
        outcome = Outcome(
            workers=workers, processes=processes, db=kind, seconds=seconds,
            floor_seconds=floor, slowest=slowest,
            done=done, failed=failed, rate_limited=rate_limited,
            duplicates=duplicates(fake, url), calls=len(fake.calls), statements=statements[0],
            commits=commits[0], cpu_seconds=cpu_seconds,
        )  # fmt: skip
        runtime.engine.dispose()
        return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deals", type=int, default=200)
    parser.add_argument("--workers", default="1,4", help="worker threads, one run each")
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--time-scale", type=float, default=60.0)
    parser.add_argument("--processes", default="1", help="worker processes, one run each")
    args = parser.parse_args()
    outcomes = []
    for kind in args.db.split(","):
        if kind == "postgresql" and not postgres_available():
            print("PostgreSQL not reachable: skipped")
            continue
        for processes in (int(p) for p in args.processes.split(",")):
            for workers in (int(w) for w in args.workers.split(",")):
                outcomes.append(run(kind, workers, args.deals, args.time_scale, processes))
    print(f"# bulk introductions: {args.deals} deals, time_scale={args.time_scale} "
          f"({machine()})")  # fmt: skip
    rows = [
        [
            o.db, o.processes, o.workers, f"{o.done}/{args.deals}", o.failed, o.seconds,
            o.floor_seconds,
            f"{o.seconds / o.floor_seconds:.2f}x", o.slowest, sum(o.rate_limited.values()),
            o.duplicates, o.calls,
            *(
                [round(o.statements / max(1, o.done)), round(o.commits / max(1, o.done)),
                 round(1000 * o.cpu_seconds / max(1, o.done))]
                if o.processes == 1 else ["-", "-", "-"]
            ),
        ]
        for o in outcomes
    ]  # fmt: skip
    headers = ["db", "processes", "workers", "done", "failed", "seconds", "floor s", "ratio"]
    print(
        table(
            [
                *headers,
                "slowest",
                "429s",
                "duplicates",
                "Slack calls",
                "SQL/intro",
                "commits/intro",
                "CPU ms/intro",
            ],
            rows,
        )
    )
    print()
    for o in outcomes:
        ok = o.seconds <= TARGET_RATIO * o.floor_seconds and not o.duplicates and not o.failed
        by_method = ", ".join(f"{m}:{n}" for m, n in o.rate_limited.most_common())
        verdict = "MET" if ok else "MISSED"
        print(f"{o.db} processes={o.processes} workers={o.workers}: {verdict} "
              f"(target <= {TARGET_RATIO}x floor, "
              f"0 duplicates); 429s by method: {by_method or 'none'}")  # fmt: skip


if __name__ == "__main__":
    main()
