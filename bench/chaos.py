"""The chaos run (issue 17 item 1): introductions on PostgreSQL with two `careintro worker`
processes, one SIGKILLed and restarted every few seconds, 10 % of Slack calls failing,
the default 300-second lease. Everything completes, nothing is done twice, and each
kill's recovery time is recorded.

    python bench/chaos.py [--intros 100] [--db postgresql] [--seed 17] [--timeout 600]

Slack is the local emulator with seeded random faults on every method: 429s, HTTP 500s,
connections dropped before the effect and after it (done, never answered). The killed
worker is the same one each time ("A", restarted at once as a new process); "B" lives
throughout. After each kill, the introductions A held (running, leased to its pid) are
read; a recovery time is from the kill to the next step recorded done of each (or its
finish), and a takeover time to the moment another worker leased it (watched every 0.1
s): the two differ when the resumed step meets one of the faults and waits its retry.
At the end the emulator's state is counted: one care channel per introduction,
one welcome in it, one brief in the engineer's DM and one note in the AE's (by message
metadata), one Slack Connect invitation per channel. Stops by itself at `--timeout`.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bench._common import ROOT, database, machine, messages_by_introduction
from bot.config import DEFAULT_LEASE_SECONDS
from bot.db import make_engine
from bot.emulator import FakeSlack
from bot.models import Introduction, IntroductionStep, IntroStatus
from bot.store.contacts import add_contacts
from bot.store.deals import upsert_deal
from bot.store.introductions import request_introduction
from bot.store.roster import add_member

TOKEN = "xoxb-chaos"  # the emulator's own token
ENGINEERS = [f"U_ENG{n}" for n in range(8)]
AES = [f"U_AE{n}" for n in range(4)]
KINDS = ("careintro_welcome", "careintro_brief", "careintro_ae_done")
FAULT_KINDS = ("429", "500", "drop", "drop_after")


@dataclass
class Kill:
    at: float  # time.time() once the process was gone
    pid: int
    held: list[int]  # the introductions it held then
    recovered: dict[int, float] = field(default_factory=dict)  # intro -> seconds to a step done
    taken: dict[int, float] = field(default_factory=dict)  # intro -> seconds to a new lease


@dataclass
class Outcome:
    intros: int
    done: int
    seconds: float
    kills: list[Kill]
    faults: Counter[str]
    calls: int
    problems: list[str]  # duplicates, missing messages, unfinished: empty when all is well

    @property
    def recoveries(self) -> list[float]:
        return [s for kill in self.kills for s in kill.recovered.values()]

    @property
    def takeovers(self) -> list[float]:
        return [s for kill in self.kills for s in kill.taken.values()]

    @property
    def unrecovered(self) -> int:
        return sum(len(k.held) - len(k.recovered) for k in self.kills)


def seed_data(engine: Engine, fake: FakeSlack, intros: int) -> None:
    """People in Slack and the roster; `intros` complete deals, each queued now."""
    for user in ENGINEERS + AES:
        fake.add_user(user, real_name=user.title(), email=f"{user.lower()}@ours.example")
    with Session(engine) as session:
        for n, user in enumerate(ENGINEERS):
            backup = ENGINEERS[(n + 1) % len(ENGINEERS)]
            add_member(session, user_id=user, backup_id=backup, added_by="U_ADMIN")
        for n in range(intros):
            deal = upsert_deal(
                session, crm_id=f"CHAOS-{n:03d}", company=f"Chaos Prospect {n}",
                amount=Decimal(20000 + n), registered_by=AES[n % len(AES)],
            )  # fmt: skip
            add_contacts(session, deal=deal, emails=[f"cto@prospect{n}.example"])
            request_introduction(session, deal=deal, source="now", requested_by=deal.registered_by)
        session.commit()


def start_worker(url: str, api_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "SLACK_SIGNING_SECRET": "chaos-signing-secret",
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": api_url,
        "DATABASE_URL": url,
        "CARE_LEASE_SECONDS": str(DEFAULT_LEASE_SECONDS),
        "CARE_POLL_MS": "500",
        "CAREINTRO_ENV_FILE": os.devnull,
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "WARNING",
    }
    with log.open("ab") as out:
        command = [sys.executable, "-m", "bot", "worker"]
        return subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=out)


def _aware(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def unfinished(engine: Engine) -> int:
    with Session(engine) as session:
        rows = session.exec(select(Introduction.status)).all()
    return sum(status != IntroStatus.DONE for status in rows)


def held_by(engine: Engine, pid: int) -> list[int]:
    """The introductions a (dead) worker process held: running, leased to one of its threads."""
    with Session(engine) as session:
        rows = session.exec(
            select(Introduction.id, Introduction.lease_owner).where(
                Introduction.status == IntroStatus.RUNNING
            )
        ).all()
    return sorted(i for i, owner in rows if i is not None and f":{pid}:" in f"{owner}:")


def watch_takeovers(engine: Engine, kills: list[Kill]) -> None:
    """Note when each introduction a dead worker held is leased by another (or done)."""
    waiting = [(k, i) for k in kills for i in k.held if i not in k.taken]  # one intro: 2 kills
    if not waiting:
        return
    with Session(engine) as session:
        rows = session.exec(
            select(Introduction.id, Introduction.lease_owner, Introduction.status).where(
                col(Introduction.id).in_({i for _, i in waiting})
            )
        ).all()
    now, found = time.time(), {i: (owner, status) for i, owner, status in rows}
    for kill, intro_id in waiting:
        owner, status = found[intro_id]
        if status == IntroStatus.DONE or (owner and f":{kill.pid}:" not in f"{owner}:"):
            kill.taken[intro_id] = now - kill.at


def recovery_times(engine: Engine, kills: list[Kill]) -> None:
    """For each kill and introduction held: seconds to its next step done (or its end)."""
    with Session(engine) as session:
        steps = session.exec(
            select(IntroductionStep.introduction_id, IntroductionStep.done_at).where(
                col(IntroductionStep.done_at).is_not(None)
            )
        ).all()
        finished = session.exec(select(Introduction.id, Introduction.finished_at)).all()
    moments: dict[int, list[float]] = {}
    for intro_id, done_at in [*steps, *finished]:
        if done_at is not None and intro_id is not None:
            moments.setdefault(intro_id, []).append(_aware(done_at))
    for kill in kills:
        for intro_id in kill.held:
            after = [t for t in moments.get(intro_id, []) if t > kill.at]
            if after:
                kill.recovered[intro_id] = min(after) - kill.at
                # a step done is a takeover too (one the 0.1 s watch may have missed)
                kill.taken[intro_id] = min(kill.taken.get(intro_id, 1e9), min(after) - kill.at)


def exactly_once(engine: Engine, fake: FakeSlack) -> list[str]:
    """What is not there exactly once: channels, welcomes, briefs, AE notes, invitations."""
    with Session(engine) as session:
        intros = session.exec(select(Introduction)).all()
    problems = [f"intro {i.id} {i.status}: {i.last_error}" for i in intros if i.status != "done"]
    channels = fake.channels
    care = [c for c in channels.values() if (c.name or "").startswith("care-")]
    if len(care) != len(intros):
        problems.append(f"{len(care)} care channels for {len(intros)} introductions")
    kinds = messages_by_introduction(channels.values())
    invites = Counter(invite["channel"] for invite in fake.shared_invites)
    for intro in intros:
        for kind in KINDS:
            if kinds[(kind, intro.id or 0)] != 1:
                problems.append(f"intro {intro.id}: {kinds[(kind, intro.id or 0)]} × {kind}")
        if intro.channel_id and len(fake.messages(intro.channel_id)) != 1:
            problems.append(f"intro {intro.id}: {len(fake.messages(intro.channel_id))} messages")
        if invites[intro.channel_id] != 1:
            problems.append(f"intro {intro.id}: {invites[intro.channel_id]} invitations")
    return problems


@contextmanager
def workers(url: str, api_url: str, logs: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """[A, B]: A is replaced in the list when it is killed and restarted."""
    procs = [start_worker(url, api_url, logs / f"{name}.log") for name in "AB"]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_until_holding(engine: Engine, pid: int, kills: list[Kill]) -> None:
    """Up to 12 s, until the worker holds an introduction (or all are done)."""
    holding = time.monotonic() + 12
    while not held_by(engine, pid) and unfinished(engine) and time.monotonic() < holding:
        watch_takeovers(engine, kills)
        time.sleep(0.05)
    watch_takeovers(engine, kills)


def kill(engine: Engine, victim: subprocess.Popen[bytes]) -> Kill:
    """SIGKILL, and what the dead process held once it is gone."""
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    return Kill(at=time.time(), pid=victim.pid, held=held_by(engine, victim.pid))


def chaos(
    url: str,
    *,
    intros: int = 100,
    seed: int = 17,
    fault_rate: float = 0.1,
    kill_every: tuple[float, float] = (2.0, 6.0),
    max_kills: int | None = None,
    mid_introduction: bool = False,
    timeout: float = 600,
) -> Outcome:
    """One chaos run on a migrated database; the emulator lives in this process.
    `mid_introduction`: each kill also waits (up to 12 s) until A holds an introduction,
    so that every kill has something to recover (the test's short run)."""
    rng = random.Random(seed)
    engine = make_engine(url)
    with (
        FakeSlack(bot_token=TOKEN, bot_user_id="U_CAREBOT") as fake,
        tempfile.TemporaryDirectory(prefix="careintro-chaos-") as tmp,
    ):
        seed_data(engine, fake, intros)
        fake.random_faults(rate=fault_rate, seed=seed, kinds=FAULT_KINDS)
        started = time.monotonic()
        kills: list[Kill] = []
        with workers(url, fake.url, Path(tmp)) as procs:
            while unfinished(engine) and time.monotonic() - started < timeout:
                pause = time.monotonic() + rng.uniform(*kill_every)
                while time.monotonic() < pause and unfinished(engine):
                    watch_takeovers(engine, kills)
                    time.sleep(0.1)
                if not unfinished(engine) or (max_kills is not None and len(kills) >= max_kills):
                    continue
                if mid_introduction:
                    wait_until_holding(engine, procs[0].pid, kills)
                kills.append(kill(engine, procs[0]))
                procs[0] = start_worker(url, fake.url, Path(tmp) / "A.log")
            seconds = time.monotonic() - started
        recovery_times(engine, kills)
        faults = Counter(c.fault for c in fake.calls if c.fault)
        problems = exactly_once(engine, fake)
        done = intros - unfinished(engine)
        calls = len(fake.calls)
    engine.dispose()
    return Outcome(intros, done, seconds, kills, faults, calls, problems)


def report(outcome: Outcome) -> str:
    times = sorted(outcome.recoveries)
    held = sum(len(k.held) for k in outcome.kills)
    lines = [
        f"introductions done: {outcome.done}/{outcome.intros} in {outcome.seconds:.1f} s",
        f"kills: {len(outcome.kills)}, introductions held at a kill: {held}, "
        f"not resumed: {outcome.unrecovered}",
        f"Slack calls: {outcome.calls}, faults: {dict(sorted(outcome.faults.items()))}",
    ]
    for name, values in (("taken over", outcome.takeovers), ("next step done", times)):
        if values:
            values = sorted(values)
            p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
            lines.append(
                f"{name} s: median {statistics.median(values):.2f}, p90 {p90:.2f}, "
                f"max {values[-1]:.2f}, min {values[0]:.2f} (n={len(values)})"
            )
    lines.append(f"not exactly once: {len(outcome.problems)}")
    lines += [f"  {p}" for p in outcome.problems[:20]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql", choices=("postgresql", "sqlite"))
    parser.add_argument("--intros", type=int, default=100)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    with database(args.db) as url:
        outcome = chaos(
            url, intros=args.intros, seed=args.seed, fault_rate=args.fault_rate,
            timeout=args.timeout,
        )  # fmt: skip
    print(machine())
    print(report(outcome))
    ok = (
        outcome.done == outcome.intros and not outcome.problems and not outcome.unrecovered
        and max(outcome.takeovers, default=0) < 15
    )  # fmt: skip
    print("MET" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
