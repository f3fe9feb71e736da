"""10. The Salesforce poll: 10,000 Opportunities changed since the last poll.

The org (`FakeSalesforce`, HTTPS with its test CA, 2,000 rows a batch as Salesforce
answers) runs in a forked process of its own, seeded there: each Opportunity has its
Account, its Owner and two contact roles, saved over the hour since the last poll. The
poll (`SalesforcePoller`, the real connector) then reads them all through
`nextRecordsUrl`, storing each batch before asking for the next; the CRM-news flow
(`crm_news.process_pending`) applies every stored version (the deals upserted, their
contacts merged, the stage rules run). Then one more poll, which finds nothing: a quiet
poll is one query.

Memory: each size runs in a subprocess of its own, and `ru_maxrss` (the peak RSS of that
process alone: the fake is another process) is read after the poll and after the apply;
the target is the 10,000 run's peak within 10 % of the 2,500 run's.

    python bench/salesforce_poll.py [--sizes 2500,10000] [--db sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func
from sqlmodel import Session, col, select

from bench._common import RemoteFake, database, machine, peak_rss_mib, postgres_available, table
from bot.config import Settings
from bot.crm.salesforce import SalesforceConnector
from bot.crm.salesforce.poller import SalesforcePoller
from bot.db import session_scope
from bot.emulator.salesforce import FakeSalesforce
from bot.flows import crm_news
from bot.models import CrmEvent, Deal
from bot.store.connectors import connector, set_cursor

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.10
STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Value Proposition")


class BenchSalesforce(FakeSalesforce):
    """The fake org, seeded inside its own process (no pipe round trip per record)."""

    @property
    def url(self) -> str:
        return self.instance_url

    def seed(self, count: int, since: float, until: float) -> int:
        owners = [self.add_user(f"ae{i}@ours.example", "Ae", f"Number{i}") for i in range(20)]
        accounts = [self.add_account(f"Prospect {i} Inc") for i in range(200)]
        step = (until - since) / count
        for i in range(count):
            account = accounts[i % len(accounts)]
            contacts = [
                self.add_contact(
                    f"b{i}.{k}@prospect.example", "Buyer", f"{i}-{k}", account_id=account
                )
                for k in range(2)
            ]
            self.add_opportunity(
                f"Deal {i}", stage=STAGES[i % len(STAGES)], amount=1000 + i,
                account_id=account, owner_id=owners[i % len(owners)], contact_ids=contacts,
                modstamp=since + i * step,
            )  # fmt: skip
        return count


class RemoteSalesforce(RemoteFake):
    ATTRIBUTES = frozenset({"calls", "ca_pem_path", "client_id", "client_secret"})

    def __init__(self, **options: Any) -> None:
        super().__init__(BenchSalesforce, **options)


@contextmanager
def remote_salesforce() -> Iterator[RemoteSalesforce]:
    fake = RemoteSalesforce()
    try:
        yield fake
    finally:
        fake.close()


def queries(fake: RemoteSalesforce) -> int:
    return sum("/query" in c.path for c in fake.calls)


def child(size: int, kind: str) -> dict[str, Any]:
    """One size on one database, in this process: what the parent reads as JSON."""
    with database(kind) as url, remote_salesforce() as fake:
        os.environ["REQUESTS_CA_BUNDLE"] = fake.ca_pem_path
        engine = create_engine(url)
        last_poll = datetime.now(UTC) - timedelta(hours=1)
        with session_scope(engine) as session:
            connector(session, name="salesforce", now=last_poll)
            set_cursor(session, name="salesforce", cursor=last_poll.strftime("%Y-%m-%dT%H:%M:%SZ"),
                       now=last_poll)  # fmt: skip
        until = datetime.now(UTC) - timedelta(minutes=5)
        fake.seed(size, last_poll.timestamp() + 1, until.timestamp())
        sf = SalesforceConnector(
            instance_url=fake.url, client_id=fake.client_id, client_secret=fake.client_secret,
            version="62.0", engine=engine,
        )  # fmt: skip
        poll = SalesforcePoller(engine, sf.client, every_seconds=0)
        started = time.perf_counter()
        stored = poll()
        poll_seconds, poll_queries = time.perf_counter() - started, queries(fake)
        peak_after_poll = peak_rss_mib()
        started = time.perf_counter()
        applied = 0
        while batch := crm_news.process_pending(engine, settings=Settings(), wake=lambda: None):
            applied += batch
        apply_seconds = time.perf_counter() - started
        quiet_stored = poll()
        with Session(engine) as session:
            deals = session.exec(select(func.count()).select_from(Deal)).one()
            events = session.exec(select(func.count()).select_from(CrmEvent)).one()
            errors = session.exec(
                select(func.count()).select_from(CrmEvent).where(col(CrmEvent.error).is_not(None))
            ).one()
        engine.dispose()
        return {
            "size": size, "db": kind, "stored": stored, "events": events, "deals": deals,
            "applied": applied, "errors": errors, "poll_s": poll_seconds,
            "queries": poll_queries, "apply_s": apply_seconds,
            "quiet_queries": queries(fake) - poll_queries, "quiet_stored": quiet_stored,
            "peak_poll_mib": peak_after_poll, "peak_mib": peak_rss_mib(),
        }  # fmt: skip


def run(size: int, kind: str) -> dict[str, Any]:
    """`child` in a fresh interpreter, so its peak RSS is its own."""
    command = [sys.executable, str(Path(__file__)), "--child", str(size), "--db", kind]
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2500,10000")
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.db)))
        return
    kinds = [k for k in args.db.split(",") if k != "postgresql" or postgres_available()]
    sizes = [int(s) for s in args.sizes.split(",")]
    print(machine())
    results = [run(size, kind) for kind in kinds for size in sizes]
    headers = ["db", "opportunities", "stored", "applied", "deals", "errors", "queries",
               "poll s", "apply s", "quiet poll: queries", "peak RSS after poll MiB",
               "peak RSS MiB"]  # fmt: skip
    rows = [
        [r["db"], r["size"], r["stored"], r["applied"], r["deals"], r["errors"], r["queries"],
         r["poll_s"], r["apply_s"], r["quiet_queries"], r["peak_poll_mib"], r["peak_mib"]]
        for r in results
    ]  # fmt: skip
    print(table(headers, rows))
    for kind in kinds:
        mine = [r for r in results if r["db"] == kind]
        small, large = min(mine, key=lambda r: r["size"]), max(mine, key=lambda r: r["size"])
        ratio = large["peak_mib"] / small["peak_mib"]
        once = all(r["stored"] == r["size"] == r["deals"] == r["applied"] for r in mine)
        quiet = all(r["quiet_queries"] == 1 and r["quiet_stored"] == 0 for r in mine)
        verdict = "met" if ratio <= TARGET_RATIO and once and quiet else "NOT met"
        print(f"{kind}: peak RSS {large['size']} / {small['size']} = {ratio:.3f}x "
              f"(target <= {TARGET_RATIO}x); each processed once: {once}; "
              f"a quiet poll is one query: {quiet} -> {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
