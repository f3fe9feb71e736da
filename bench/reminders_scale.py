"""4. Reminders at scale: every weekly digest for 10k engineers, 100k deals, 1M stage rows.

Seeds with the driver's bulk paths (SQLite `executemany`, PostgreSQL `COPY`), first a
quarter of the size, measures, then tops up to the full size and measures again: the
two runs show whether memory and statements stay flat as deals grow. Each measurement
runs in a fresh subprocess (`--measure URL`) so its peak RSS is its own.

Measured, with `bot.flows.reminders` as the worker runs it, everyone forced due:
`load_scan` + `Scan.due` (who), `build_digests` (what), `render_digest` for each person.

    python bench/reminders_scale.py [--engineers 10000 --deals 100000 --history 1000000]
                                    [--db sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event

from bench._common import ROOT, database, machine, postgres_available, table
from bot.db import make_engine

# BENCH_KEEP_MESSAGES=0 drops each message once rendered: the digests' own memory.
KEEP_MESSAGES = os.environ.get("BENCH_KEEP_MESSAGES", "1") == "1"

TARGET_SECONDS = 10.0
AES_PER_ENGINEER = 0.1
STAGES = ("qualifiedtobuy", "contractsent", "negotiationreview", "closedwon", "closedlost")
INTRODUCED_EVERY = 5  # 3 deals in 5 are introduced
HISTORY_STAGES = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled")


# --- seeding -------------------------------------------------------------------------


def _when(now: datetime, minutes: int) -> datetime:
    return now - timedelta(minutes=minutes)


def rows_for(table_name: str, lo: int, hi: int, sizes: dict[str, int], now: datetime
             ) -> Iterator[tuple[Any, ...]]:  # fmt: skip
    """Rows lo..hi-1 of a table; every id is derived from the row number, so runs add up."""
    engineers, deals = sizes["engineers"], sizes["deals"]
    aes = max(1, int(engineers * AES_PER_ENGINEER))
    for i in range(lo, hi):
        if table_name == "person":
            user = f"U_E{i:06d}" if i < engineers else f"U_A{i - engineers:05d}"
            yield (i + 1, user, True, "America/New_York", now, now)
        elif table_name == "deal":
            yield (
                i + 1, f"S-{i:07d}", f"Scale Prospect {i}", STAGES[i % len(STAGES)], "Stage",
                10000 + i % 90000, date.today() + timedelta(days=i % 60), "", True,
                f"U_A{i % aes:05d}", _when(now, i % 50000), now,
            )  # fmt: skip
        elif table_name == "introduction":
            deal = _introduced(i)
            yield (
                i + 1, deal + 1, "done", False, "webhook", 0, now, f"U_E{i % engineers:06d}",
                f"U_A{deal % aes:05d}", f"care-scale-prospect-{deal}", f"C{deal:09d}", now,
                _when(now, i % 3000), "When is the onboarding call?",
            )  # fmt: skip
        elif table_name == "contact":
            state = "sent" if i % 5 < 3 else "accepted"
            yield (i + 1, i + 1, f"buyer{i}@prospect.example", state, now, now)
        elif table_name == "responseclock":
            intro = i * 3  # one open question in three introductions
            yield (i + 1, intro + 1, f"C{_introduced(intro):09d}", f"{i}.000100",
                   "Can we get SSO on the trial?", _when(now, 40 + i % 500))  # fmt: skip
        elif table_name == "stagechange":
            yield (
                i + 1, i % deals + 1, HISTORY_STAGES[i % 3], HISTORY_STAGES[(i + 1) % 3],
                "Stage", "webhook", "", _when(now, i % 100000),
            )  # fmt: skip


def _introduced(n: int) -> int:
    """The deal index of the n-th introduction (3 deals in every 5)."""
    return n // 3 * INTRODUCED_EVERY + n % 3


COLUMNS = {
    "person": "id, user_id, reminders, tz, tz_checked_at, created_at",
    "deal": "id, crm_id, company, stage, stage_label, amount, close_date, notes, watched, "
    "registered_by, created_at, updated_at",
    "introduction": "id, deal_id, status, late, source, attempts, created_at, engineer_user_id, "
    "ae_user_id, channel_name, channel_id, finished_at, last_prospect_message_at, "
    "last_prospect_text",
    "contact": "id, deal_id, email, invite_state, invited_at, created_at",
    "responseclock": "id, introduction_id, channel_id, message_ts, text_preview, started_at",
    "stagechange": "id, deal_id, from_stage, to_stage, label, source, effect, recorded_at",
}


def counts(sizes: dict[str, int]) -> dict[str, int]:
    engineers, deals = sizes["engineers"], sizes["deals"]
    intros = deals // INTRODUCED_EVERY * 3
    return {
        "person": engineers + max(1, int(engineers * AES_PER_ENGINEER)),
        "deal": deals,
        "introduction": intros,
        "contact": deals,
        "responseclock": intros // 3,
        "stagechange": sizes["history"],
    }


def seed(url: str, before: dict[str, int] | None, sizes: dict[str, int]) -> float:
    """Add the rows between the `before` sizes and `sizes`; returns the seconds it took."""
    began = time.perf_counter()
    now = datetime.now(UTC)
    done = counts(before) if before else dict.fromkeys(COLUMNS, 0)
    want = counts(sizes)
    if before and (done["person"] != want["person"]):
        raise ValueError("top-ups keep the number of people: only deals and history grow")
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        for name, columns in COLUMNS.items():
            rows = rows_for(name, done[name], want[name], sizes, now)
            if engine.dialect.name == "postgresql":
                _copy(raw, name, columns, rows)
            else:
                marks = ", ".join("?" * len(columns.split(",")))
                raw.cursor().executemany(
                    f"INSERT INTO {name} ({columns}) VALUES ({marks})", (_sqlite(r) for r in rows)
                )
            raw.commit()
        if engine.dialect.name == "postgresql":
            cursor = raw.cursor()
            for name in COLUMNS:
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                               f"(SELECT MAX(id) FROM {name}))")  # fmt: skip
            cursor.execute("ANALYZE")
        else:
            raw.cursor().execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return time.perf_counter() - began


def _sqlite(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """SQLAlchemy's SQLite DateTime storage: naive UTC text."""
    return tuple(
        v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(v, datetime)
        else v.isoformat()
        if isinstance(v, date)
        else v
        for v in row
    )


def _copy(raw: Any, name: str, columns: str, rows: Iterable[tuple[Any, ...]]) -> None:
    with raw.cursor().copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


# --- measuring (in a fresh process) --------------------------------------------------


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def count_statements(engine: Engine) -> list[int]:
    counter = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        counter[0] += 1

    return counter


def measure(url: str, profile: str | None = None) -> dict[str, Any]:
    if profile:
        from pyinstrument import Profiler

        with Profiler(interval=0.005) as profiler:
            result = measure(url)
        with open(profile, "w") as out:
            out.write(profiler.output_text(unicode=False, color=False, show_all=False))
        return result
    from sqlmodel import Session

    from bot.config import Settings
    from bot.flows import reminders

    settings = Settings(database_url=url)
    engine = make_engine(url)
    with Session(engine) as session:  # connect, and import what the first query needs
        reminders.load_scan(session, now=datetime.now(UTC), settings=settings)
    statements = count_statements(engine)
    now = datetime.now(UTC)
    result: dict[str, Any] = {"rss_before": rss_mib()}
    with Session(engine) as session:
        began = time.perf_counter()
        scan = reminders.load_scan(session, now=now, settings=settings)
        due, _, _ = scan.due(now=now, settings=settings, force=True)
        result |= {"who_s": time.perf_counter() - began, "who_sql": statements[0],
                   "people": len(due)}  # fmt: skip
        today_of = {d.user_id: d.today for d in due}
        statements[0] = 0
        # build_digests yields one person's digest at a time; each is rendered at once
        # (as plan_reminders does), so "build" is the loop minus the renders.
        rendering = 0.0
        kept = []  # plan_reminders keeps every message until it is sent: so do we
        began = time.perf_counter()
        for user_id, digest in reminders.build_digests(
            session, today={d.user_id: d.today for d in due}, now=now, settings=settings
        ):
            started = time.perf_counter()
            message = reminders.render_digest(digest, today=today_of[user_id])
            if message is not None:
                kept.append(message if KEEP_MESSAGES else None)
            rendering += time.perf_counter() - started
        total = time.perf_counter() - began
        result |= {"build_s": total - rendering, "build_sql": statements[0],
                   "build_peak": _maxrss(), "render_s": rendering, "messages": len(kept),
                   "peak": _maxrss()}  # fmt: skip
    engine.dispose()
    return result


def _maxrss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_in_subprocess(url: str, profile: str | None) -> dict[str, Any]:
    extra = ["--profile", profile] if profile else []
    out = subprocess.run(
        [sys.executable, __file__, "--measure", url, *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# --- the report ----------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engineers", type=int, default=10_000)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--steps", default="0.25,1", help="fractions of deals/history measured")
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--profile", metavar="FILE", help="pyinstrument text report (last run)")
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.profile)))
        return
    rows = []
    for kind in args.db.split(","):
        if kind == "postgresql" and not postgres_available():
            print("PostgreSQL not reachable: skipped")
            continue
        with database(kind) as url:
            before = None
            for fraction in (float(f) for f in args.steps.split(",")):
                sizes = {
                    "engineers": args.engineers,
                    "deals": int(args.deals * fraction),
                    "history": int(args.history * fraction),
                }
                seeded = seed(url, before, sizes)
                before = sizes
                m = measure_in_subprocess(url, args.profile)
                total = m["who_s"] + m["build_s"] + m["render_s"]
                rows.append([
                    kind, sizes["deals"], sizes["history"], m["people"], seeded, m["who_s"],
                    m["build_s"], m["render_s"], total, m["who_sql"], m["build_sql"],
                    m["build_peak"] - m["rss_before"], m["peak"] - m["rss_before"],
                    m["messages"],
                ])  # fmt: skip
    print(f"# reminders at scale, {args.engineers} engineers ({machine()})")
    headers = ["db", "deals", "history", "people", "seed s", "who s", "build s", "render s"]
    headers += ["total s", "who SQL", "build SQL", "build peak MiB", "peak MiB", "messages"]
    print(table(headers, rows))
    print(f"\ntarget: total <= {TARGET_SECONDS} s; peak MiB and SQL the same at every size")


if __name__ == "__main__":
    main()
