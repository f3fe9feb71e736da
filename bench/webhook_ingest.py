"""3. Webhook ingest: signed generic webhooks of 100 events each, sustained for 30 s.

`careintro serve --no-worker` (the Procfile's `web`) in a subprocess; 2 client processes
keep `--clients` keep-alive connections busy, each POSTing a fresh batch of 100 new events
as soon as the previous one is answered. Afterwards the events stored in the database are
counted: every accepted event must be there.

    python bench/webhook_ingest.py [--seconds 30] [--clients 8] [--db sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import itertools
import os
import uuid

from sqlalchemy import create_engine, func, select

from bench._common import (
    Request,
    careintro_server,
    database,
    fake_slack,
    machine,
    percentile,
    postgres_available,
    run_load,
    running,
    signed_webhook,
    table,
)
from bot.config import database_url
from bot.models import CrmEvent

EVENTS_PER_REQUEST = 100
STAGES = ("Appointment Scheduled", "Qualified To Buy", "Presentation Scheduled")
_counter = itertools.count()
_prefix = ""


def webhook_batch() -> Request:
    """100 new events (unique `event_id`s) for 100 deals; stages that queue nothing."""
    global _prefix
    if not _prefix:  # one per client process (the pool forks after import)
        _prefix = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
    n = next(_counter)
    events = [
        {"event_id": f"{_prefix}-{n}-{i}", "deal_id": f"W-{(n * EVENTS_PER_REQUEST + i) % 5000}",
         "stage": STAGES[i % len(STAGES)], "company": f"Webhook Prospect {i}",
         "amount": 1000 + i, "close_date": "2026-12-15", "owner_email": "ae@ours.example",
         "contacts": [f"buyer{i}@prospect.example"]}
        for i in range(EVENTS_PER_REQUEST)
    ]  # fmt: skip
    return signed_webhook(events)


def stored(url: str) -> int:
    engine = create_engine(database_url(url))
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(CrmEvent)).scalar_one()
    engine.dispose()
    return int(count)


def run(kind: str, seconds: float, clients: int) -> list[object]:
    with (
        database(kind) as url,
        fake_slack() as fake,
        running(careintro_server(url, fake.url)) as (server,),
    ):
        cpu0 = server.cpu_seconds()
        result = run_load(server.port, webhook_batch, concurrency=clients, seconds=seconds)
        server_cpu = server.cpu_seconds() - cpu0
        accepted = result.statuses.get(200, 0) * EVENTS_PER_REQUEST
        in_db = stored(url)
    ms = [x * 1000 for x in result.latencies]
    answers = ",".join(f"{k}:{v}" for k, v in sorted(result.statuses.items()))
    return [
        kind, clients, result.requests, round(accepted / result.wall), percentile(ms, 50),
        percentile(ms, 99), max(ms), accepted, in_db, accepted - in_db,
        f"{100 * server_cpu / result.wall:.0f}%", f"{100 * result.client_cpu / result.wall:.0f}%",
        f"{answers} err:{result.errors}",
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--db", default="sqlite,postgresql")
    args = parser.parse_args()
    rows = []
    for kind in args.db.split(","):
        if kind == "postgresql" and not postgres_available():
            print("PostgreSQL not reachable: skipped")
            continue
        rows.append(run(kind, args.seconds, args.clients))
    print(
        f"# webhook ingest, {EVENTS_PER_REQUEST} events/request, {args.seconds:.0f} s ({machine()})"
    )
    headers = ["db", "clients", "requests", "events/s", "p50 ms", "p99 ms", "max ms"]
    headers += ["accepted", "in db", "lost", "server CPU", "client CPU", "answers"]
    print(table(headers, rows))
    lost = sum(int(r[9]) for r in rows)  # type: ignore[call-overload]
    print(f"\nnothing lost: {'MET' if lost == 0 else f'MISSED ({lost} events missing)'}")


if __name__ == "__main__":
    main()
