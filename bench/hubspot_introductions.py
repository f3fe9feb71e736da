"""7. HubSpot introductions: 500 HubSpot deals reach Contract Sent in one webhook batch.

The real app (HTTP server, worker, periodic tasks, the HubSpot connector) runs in this
process; the Slack emulator (Slack's tiers) and `FakeHubSpot` (HubSpot's 100 per 10 s and
5 searches per second) run in forked processes of their own, on one compressed clock
(`--time-scale 60`: a Slack minute, or six HubSpot 10-second windows, last one real
second); the connector's `Pacer` is given the same scale (`build_runtime(...,
crm_time_scale=)`). The deals are unknown to the app (`CARE_AUTO_WATCH=all`): each is read
from HubSpot (deal, company, contacts, owner), introduced, and written back as a note.
The run ends when the last note is recorded; the fakes' call logs then give the floor.

    python bench/hubspot_introductions.py [--deals 500] [--workers 4] [--db sqlite,postgresql]
                                          [--time-scale 60]

The floor (`floors`): for every limit, the least time the calls actually made (429s not
counted) need under it, each limit's window starting empty; the floor is the largest,
since the limits run in parallel. A sliding window of L calls per W seconds lets call i
(from 0) go at W * (i // L) at the earliest, so n calls need W * ((n - 1) // L); a
chat.postMessage channel's bucket (burst 3, 1/s) needs n - 3 seconds. `bulk_introductions`
counts W * n / L instead (one window more: the steady rate); both are printed, the
verdict uses the first, the lower. Then a quiet poll: one poll catches up, the next
finds nothing, and the fake's log says what each cost.
"""

from __future__ import annotations

import argparse
import http.client
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from bench._common import (
    SIGNING_SECRET,
    TOKEN,
    RemoteFake,
    RemoteFakeSlack,
    ae_ids,
    database,
    engineer_ids,
    machine,
    postgres_available,
    remote_fake_slack,
    slack_floors,
    table,
    window_floor,
)
from bench.bulk_introductions import duplicates, email
from bot.config import Settings
from bot.crm.hubspot import HubSpotConnector
from bot.crm.hubspot.poller import HubSpotPoller, modified_ms
from bot.emulator.hubspot import FakeHubSpot
from bot.emulator.hubspot import routes as hubspot_routes
from bot.emulator.hubspot.limits import BURST_MAX, BURST_WINDOW_SECONDS, SEARCH_PER_SECOND
from bot.models import CareMember, CrmWriteback, Introduction, IntroStatus
from bot.runtime import HttpServer, build_runtime

TARGET_RATIO = 1.1
ENGINEERS, AES = 20, 10
TIMEOUT = 300.0
HUBSPOT_TOKEN = "pat-na1-bench-0000-0000"  # the fake's, valid nowhere else
HUBSPOT_SECRET = "bench-hubspot-client-secret"
CONTRACT_SENT = "contractsent"  # the default pipeline's stage id


def _fake_hubspot(**options: Any) -> FakeHubSpot:
    return FakeHubSpot(token=HUBSPOT_TOKEN, client_secret=HUBSPOT_SECRET, **options)


@contextmanager
def remote_fake_hubspot(**options: Any) -> Iterator[RemoteFake]:
    fake = RemoteFake(_fake_hubspot, **options)
    try:
        yield fake
    finally:
        fake.close()


@dataclass
class Outcome:
    db: str
    workers: int
    intro_seconds: float  # the batch posted -> the last introduction done
    seconds: float  # the batch posted -> the last note recorded
    floor: float  # the strict floor (windows starting empty), real seconds
    floor_rate: float  # bulk_introductions' floor (n / rate), real seconds
    slowest: str
    done: int
    failed: int
    notes: int
    duplicates: int  # channels, welcome/brief/AE messages, and notes beyond one
    slack_calls: int
    hubspot_calls: Counter[str]  # by limit class: "all", "search", "429"
    rate_limited: int  # Slack 429s
    cpu_seconds: float
    polls: tuple[int, int, int]  # HubSpot calls of: the first (quiet) poll, catch-up, quiet


def seed(url: str, slack: RemoteFakeSlack, hub: RemoteFake, deals: int) -> list[str]:
    """The roster in Slack and the database; AEs as HubSpot owners; `deals` HubSpot deals
    at Qualified To Buy, each with a company and a contact; returns their ids."""
    engineers, aes = engineer_ids(ENGINEERS), ae_ids(AES)
    for n, user in enumerate(engineers):
        slack.add_user(user, real_name=f"Engineer {n}", email=email(user), title="Support Engineer")
    owners = []
    for n, user in enumerate(aes):
        slack.add_user(user, real_name=f"Account Exec {n}", email=email(user),
                       title="Account Executive")  # fmt: skip
        owners.append(hub.add_owner(email(user), "Account", f"Exec {n}"))
    from bot.db import make_engine

    engine = make_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(insert(CareMember), [
            {"user_id": u, "backup_user_id": engineers[(n + 1) % ENGINEERS], "active": True,
             "created_at": now} for n, u in enumerate(engineers)
        ])  # fmt: skip
    engine.dispose()
    ids = []
    for i in range(deals):
        company = hub.add_company(f"HubSpot Prospect {i} Inc", domain=f"prospect{i}.example")
        contact = hub.add_contact(f"cto@prospect{i}.example", "Casey", f"Cto{i}")
        ids.append(hub.add_deal(f"Prospect {i} - platform", stage="qualifiedtobuy",
                                amount=20000 + i, owner_id=owners[i % AES],
                                company_ids=[company], contact_ids=[contact]))  # fmt: skip
    # The fake's record stamps are strictly increasing (1 ms apart), so a fast seeding
    # runs ahead of the clock: wait until it is past, or the first poll would see them.
    last = modified_ms(hub.deal(ids[-1])["properties"]["hs_lastmodifieddate"]) or 0
    time.sleep(max(0.0, last / 1000 - time.time()) + 0.01)
    return ids


def floors(slack: RemoteFakeSlack, hub_calls: list[Any]) -> dict[str, tuple[int, float, float]]:
    """Per limit: (calls, strict floor, rate floor) in the vendor's seconds (one scale
    compresses Slack's and HubSpot's alike); 429s and dropped calls not counted."""
    found = {f"slack {m}": v for m, v in slack_floors(slack.calls).items()}
    served = [c for c in hub_calls if c.status not in (429, None)]
    searches = sum(1 for c in served if _is_search(c))
    found["hubspot 100/10 s"] = (
        len(served), *window_floor(len(served), BURST_MAX, BURST_WINDOW_SECONDS)
    )  # fmt: skip
    found["hubspot search 5/s"] = (searches, *window_floor(searches, SEARCH_PER_SECOND, 1.0))
    return found


def _is_search(call: Any) -> bool:
    found = hubspot_routes.match(call.method, call.path)
    return bool(found and found[0].search)


def post_webhook(hub: RemoteFake, port: int, deal_ids: list[str]) -> dict[str, Any]:
    """Every deal moved to Contract Sent in HubSpot; their events in one signed delivery."""
    events = [hub.move_stage(deal_id, CONTRACT_SENT) for deal_id in deal_ids]
    signed = hub.sign_webhook(events, f"http://127.0.0.1:{port}/crm/hubspot")
    target = urlsplit(signed.url)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("POST", target.path, body=signed.body, headers=signed.headers)
    response = connection.getresponse()
    answer = response.read().decode()
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"/crm/hubspot answered {response.status}: {answer}")
    return {"status": response.status, "answer": answer}


def settings_for(url: str, slack: RemoteFakeSlack, hub: RemoteFake, workers: int) -> Settings:
    """Production settings but the fakes' URLs; the poll is left to `quiet_polls`
    (`crm_poll_seconds` is real seconds, not compressed: it would not fire in a run)."""
    return Settings(
        slack_bot_token=TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.url,
        database_url=url, hubspot_client_secret=HUBSPOT_SECRET,
        hubspot_access_token=HUBSPOT_TOKEN, hubspot_api_url=hub.url, auto_watch=True,
        crm_poll_seconds=3600, poll_seconds=0.05, lease_seconds=120, worker_threads=workers,
    )  # fmt: skip


def progress(engine: Any) -> tuple[int, int, int]:
    """(introductions done, failed, notes recorded)."""
    with Session(engine) as session:
        counts = dict(
            session.exec(
                select(Introduction.status, func.count()).group_by(col(Introduction.status))
            ).all()
        )
        notes = session.exec(
            select(func.count()).select_from(CrmWriteback).where(col(CrmWriteback.state) == "done")
        ).one()
    return counts.get(IntroStatus.DONE, 0), counts.get(IntroStatus.FAILED, 0), int(notes)


def wait_for_first_poll(hub: RemoteFake) -> int:
    """The worker's first pass polls HubSpot before anything changed: its cost."""
    deadline = time.monotonic() + 30
    while not any(_is_search(c) for c in hub.calls):
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not poll HubSpot")
        time.sleep(0.05)
    time.sleep(0.5)  # nothing else follows a quiet poll
    return len(hub.calls)


def quiet_polls(engine: Any, hub: RemoteFake, scale: float) -> tuple[int, int]:
    """HubSpot calls of a poll catching up with the run, then of one finding nothing."""
    connector = HubSpotConnector(token=HUBSPOT_TOKEN, base_url=hub.url, engine=engine,
                                 time_scale=scale)  # fmt: skip
    poller = HubSpotPoller(engine, connector.client, every_seconds=0)
    costs = []
    for _ in range(2):
        before = len(hub.calls)
        poller()
        costs.append(len(hub.calls) - before)
    return costs[0], costs[1]


def note_duplicates(hub: RemoteFake, deal_ids: list[str]) -> tuple[int, int]:
    """(notes on the deals, notes beyond one per deal)."""
    counts = [len(hub.notes_for_deal(deal_id)) for deal_id in deal_ids]
    return sum(counts), sum(max(0, n - 1) for n in counts)


def run(kind: str, workers: int, deals: int, scale: float) -> Outcome:
    """One run, set-up to checks (longer than 50 lines: the sequence is the benchmark)."""
    with (
        database(kind) as url,
        remote_fake_slack(rate_limits=True, time_scale=scale) as slack,
        remote_fake_hubspot(rate_limits=True, time_scale=scale) as hub,
    ):
        deal_ids = seed(url, slack, hub, deals)
        runtime = build_runtime(settings_for(url, slack, hub, workers), with_worker=True,
                                crm_time_scale=scale)  # fmt: skip
        assert runtime.worker is not None
        server = HttpServer(runtime, host="127.0.0.1", port=0, threads=8)
        server.start()
        runtime.worker.start()
        first_poll = wait_for_first_poll(hub)
        slack.reset_calls()
        hub.reset_calls()
        began, cpu_began = time.monotonic(), time.process_time()
        post_webhook(hub, server.port, deal_ids)
        done = failed = notes = 0
        intro_seconds = None
        while time.monotonic() - began < TIMEOUT:
            done, failed, notes = progress(runtime.engine)
            if intro_seconds is None and done + failed >= deals:
                intro_seconds = time.monotonic() - began
            if done + failed >= deals and notes >= done:
                break
            time.sleep(0.05)
        seconds, cpu_seconds = time.monotonic() - began, time.process_time() - cpu_began
        runtime.worker.stop()
        server.stop()
        hub_calls = hub.calls
        limits = floors(slack, hub_calls)
        slowest = max(limits, key=lambda name: limits[name][1])
        n, strict, _ = limits[slowest]
        slack_calls = slack.calls
        on_deals, extra_notes = note_duplicates(hub, deal_ids)
        polls = quiet_polls(runtime.engine, hub, scale)
        outcome = Outcome(
            db=kind, workers=workers, intro_seconds=intro_seconds or seconds, seconds=seconds,
            floor=strict / scale, floor_rate=max(v[2] for v in limits.values()) / scale,
            slowest=f"{slowest} ({n} calls)", done=done, failed=failed, notes=on_deals,
            duplicates=duplicates(slack, url) + extra_notes, slack_calls=len(slack_calls),
            hubspot_calls=Counter(
                "429" if c.status == 429 else "search" if _is_search(c) else "other"
                for c in hub_calls
            ),
            rate_limited=sum(1 for c in slack_calls if c.status == 429),
            cpu_seconds=cpu_seconds, polls=(first_poll, *polls),
        )  # fmt: skip
        print_limits(kind, limits, scale)
        print_timeline(slack_calls, hub_calls, began)
        runtime.engine.dispose()
        return outcome


def print_limits(kind: str, limits: dict[str, tuple[int, float, float]], scale: float) -> None:
    rows = [
        [name, n, strict, rate, strict / scale, rate / scale]
        for name, (n, strict, rate) in sorted(limits.items(), key=lambda kv: -kv[1][1])
    ]
    print(f"\n{kind}: the floor each limit sets on the calls made")
    headers = ["limit", "calls", "strict vendor s", "rate vendor s", "strict s", "rate s"]
    print(table(headers, rows))


def print_timeline(slack_calls: list[Any], hub_calls: list[Any], began: float) -> None:
    """When the calls that matter went out, in seconds after the batch was posted (Slack's
    log is on the monotonic clock, HubSpot's on the wall clock)."""
    offset = time.time() - time.monotonic()
    marks: dict[str, list[float]] = {}
    for c in slack_calls:
        if c.status != 429:
            marks.setdefault(f"slack {c.method}", []).append(c.at - began)
    for c in hub_calls:
        if c.status != 429:
            marks.setdefault(f"hubspot {c.method} {_endpoint(c.path)}", []).append(
                c.at - offset - began
            )
    ordered = sorted(marks.items(), key=lambda kv: min(kv[1]))
    rows = [[name, len(t), min(t), max(t)] for name, t in ordered]
    print(table(["calls", "n", "first s", "last s"], rows))


def _endpoint(path: str) -> str:
    """A path with its ids folded: `/crm/v3/objects/deals/{id}`."""
    return "/".join("{id}" if part.isdigit() else part for part in path.split("/"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deals", type=int, default=500)
    parser.add_argument("--workers", default="4", help="worker threads, one run each")
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--time-scale", type=float, default=60.0)
    args = parser.parse_args()
    outcomes = []
    for kind in args.db.split(","):
        if kind == "postgresql" and not postgres_available():
            print("PostgreSQL not reachable: skipped")
            continue
        for workers in (int(w) for w in args.workers.split(",")):
            outcomes.append(run(kind, workers, args.deals, args.time_scale))
    print(f"\n# HubSpot introductions: {args.deals} deals in one webhook batch, "
          f"time_scale={args.time_scale} ({machine()})\n")  # fmt: skip
    rows = [
        [o.db, o.workers, f"{o.done}/{args.deals}", o.failed, o.notes, o.intro_seconds,
         o.seconds, o.floor, f"{o.seconds / max(o.floor, 1e-9):.2f}x", o.floor_rate,
         f"{o.seconds / max(o.floor_rate, 1e-9):.2f}x", o.slowest, o.duplicates, o.rate_limited,
         o.slack_calls, sum(o.hubspot_calls.values()) - o.hubspot_calls["429"],
         o.hubspot_calls["search"], o.hubspot_calls["429"],
         round(1000 * o.cpu_seconds / max(1, o.done)), "/".join(map(str, o.polls))]
        for o in outcomes
    ]  # fmt: skip
    headers = ["db", "workers", "done", "failed", "notes", "intros s", "seconds", "floor s",
               "ratio", "rate floor s", "ratio (rate)", "slowest", "duplicates", "Slack 429s",
               "Slack calls", "HubSpot calls", "searches", "HubSpot 429s", "CPU ms/intro",
               "poll calls (first/catch-up/quiet)"]  # fmt: skip
    print(table(headers, rows))
    print()
    for o in outcomes:
        ok = (o.seconds <= TARGET_RATIO * o.floor and not o.duplicates and not o.failed
              and o.done == o.notes == args.deals and o.polls[0] == o.polls[2] == 1)  # fmt: skip
        verdict = "MET" if ok else "MISSED"
        print(f"{o.db} workers={o.workers}: {verdict} (all introduced and noted once, "
              f"<= {TARGET_RATIO}x the floor, a quiet poll = 1 HubSpot call)")  # fmt: skip


if __name__ == "__main__":
    main()
