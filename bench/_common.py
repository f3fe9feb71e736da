"""What the benchmarks share: databases, seeding, server processes, a load client, tables."""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.client
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from bench.bare_bolt_app import SIGNING_SECRET, THREADS, TOKEN
from bot.config import database_url
from bot.db import migrate as _migrate
from bot.emulator import FakeSlack
from bot.emulator.limits import (
    POST_MESSAGE_BURST,
    POST_MESSAGE_PER_SECOND,
    TIER_PER_MINUTE,
    WINDOW_SECONDS,
)
from bot.emulator.reference import METHODS
from bot.models import CareMember, Deal, Introduction, IntroStatus
from bot.slack.requests import signed_headers, slash_command_body

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WEBHOOK_SECRET = "bench-webhook-secret"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
CALLER = "U_AE00"

Request = tuple[str, bytes, dict[str, str]]  # path, body, headers


# --- databases -----------------------------------------------------------------------


@contextmanager
def database(kind: str, *, tree: Path | None = None) -> Iterator[str]:
    """A migrated database of the benchmark's own (file SQLite or PostgreSQL), then gone.

    `tree`: migrated by the CareIntro checkout there (a baseline, see `--baseline`).
    """
    migrate = _migrate if tree is None else functools.partial(migrate_in, tree)
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="careintro-bench-")
        url = f"sqlite:///{folder}/careintro.db"
        migrate(url)
        try:
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    admin = create_engine(database_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"careintro_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = database_url(PG_ADMIN_URL).rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_available() -> bool:
    try:
        engine = create_engine(database_url(PG_ADMIN_URL))
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:
        return False
    return True


def engineer_ids(count: int) -> list[str]:
    return [f"U_ENG{i:03d}" for i in range(count)]


def ae_ids(count: int) -> list[str]:
    return [f"U_AE{i:02d}" for i in range(count)]


def seed_status_data(url: str, *, engineers: int = 20, aes: int = 10, deals: int = 300) -> None:
    """A realistic roster and a few hundred deals, a third of them introduced.

    The caller of the benchmarked `status` (`CALLER`) registered deals/aes of them, so
    the answer lists its 20 newest, as a busy AE would see.
    """
    engine = create_engine(database_url(url))
    now = datetime.now(UTC)
    eng, ae = engineer_ids(engineers), ae_ids(aes)
    stages = ["appointmentscheduled", "qualifiedtobuy", "contractsent", "negotiationreview"]
    deal_rows = [
        {
            "id": i + 1,
            "crm_id": f"D-{i:05d}",
            "company": f"Company {i} Ltd",
            "stage": stages[i % len(stages)],
            "stage_label": stages[i % len(stages)].title(),
            "amount": Decimal(10000 + 137 * i),
            "close_date": date.today() + timedelta(days=i % 90),
            "owner_email": f"{ae[i % aes].lower()}@ours.example",
            "notes": "Promised a named engineer and a 30-minute first answer.",
            "watched": True,
            "registered_by": ae[i % aes],
            "created_at": now - timedelta(days=i % 120),
            "updated_at": now - timedelta(minutes=i),
        }
        for i in range(deals)
    ]
    intro_rows = [
        {
            "deal_id": i + 1,
            "status": IntroStatus.DONE,
            "source": "webhook",
            "engineer_user_id": eng[i % engineers],
            "backup_user_id": eng[(i + 1) % engineers],
            "ae_user_id": ae[i % aes],
            "channel_name": f"care-company-{i}-ltd",
            "channel_id": f"C{i:08d}",
            "created_at": now,
            "finished_at": now,
        }
        for i in range(0, deals, 3)
    ]
    members = [
        {
            "user_id": u,
            "backup_user_id": eng[(n + 1) % engineers],
            "active": True,
            "created_at": now,
        }
        for n, u in enumerate(eng)
    ]
    with engine.begin() as connection:
        connection.execute(insert(Deal), deal_rows)
        connection.execute(insert(Introduction), intro_rows)
        connection.execute(insert(CareMember), members)
        if connection.dialect.name == "postgresql":
            for table in ("deal", "introduction", "caremember"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT MAX(id) FROM {table}))"
                    )
                )
    engine.dispose()


# --- server processes ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A server in a subprocess of its own, so its RSS and CPU are its own."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self, timeout: float = 60) -> Server:
        handle, name = tempfile.mkstemp(prefix=f"bench-{self.name}-", suffix=".log")
        os.close(handle)
        self.log_path = Path(name)
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, *self.argv, "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-2000:]}")
            try:
                status, _ = http_get(self.port, "/healthz")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /healthz within {timeout}s")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def rss_mib(self) -> float:
        import psutil

        return float(psutil.Process(self.pid).memory_info().rss) / 2**20

    def cpu_seconds(self) -> float:
        import psutil

        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)

    def context_switches(self) -> int:
        """Voluntary and forced, summed over the process's threads: a thread waiting for
        the GIL another one holds gives up its core, so this counts GIL hand-offs."""
        total = 0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                lines = (task / "status").read_text().splitlines()
            except OSError:  # the thread has just ended
                continue
            total += sum(int(line.split()[1]) for line in lines if "ctxt_switches" in line)
        return total

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.log_path:
            self.log_path.unlink(missing_ok=True)


def migrate_in(tree: Path, url: str) -> None:
    """`careintro migrate` as the checkout in `tree` does it."""
    env = os.environ | {"PYTHONPATH": str(tree), "DATABASE_URL": url,
                        "CAREINTRO_ENV_FILE": "/nonexistent.env"}  # fmt: skip
    subprocess.run([sys.executable, "-m", "bot", "migrate"], cwd=tree, env=env, check=True,
                   capture_output=True)  # fmt: skip


def careintro_server(
    url: str,
    api_url: str,
    *,
    worker: bool = False,
    tree: Path | None = None,
    threads: int | None = None,
    **env: str,
) -> Server:
    """`careintro serve` exactly, bound to 127.0.0.1 (see careintro_server.py); with
    `tree`, the one of the CareIntro checkout there (a git worktree of an older commit);
    with `threads`, `serve --threads N` (named so in the tables)."""
    bench = BENCH if tree is None else tree / "bench"
    argv = [str(bench / "careintro_server.py")] + ([] if worker else ["--no-worker"])
    name = "careintro" if tree is None else f"careintro@{baseline_name(tree)}"
    if threads is not None:
        argv += ["--threads", str(threads)]
        name += f" --threads {threads}"
    if tree is not None:
        env = {"PYTHONPATH": str(tree), **env}
    return Server(
        name,
        argv,
        env={
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "CRM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": url,
            "CAREINTRO_ENV_FILE": "/nonexistent.env",
            **env,
        },
    )


def baseline_name(tree: Path) -> str:
    """The short commit of a checkout: how a baseline is named in the tables."""
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True,
                         text=True, check=False)  # fmt: skip
    return out.stdout.strip() or tree.name


def bare_bolt_server(api_url: str) -> Server:
    argv = [str(BENCH / "bare_bolt_app.py"), "--threads", str(THREADS)]
    return Server("bare-bolt", argv, env={"SLACK_API_URL": api_url})


@contextmanager
def fake_slack(**options: Any) -> Iterator[FakeSlack]:
    """The local Slack emulator in this process (for Bolt's one auth.test at start-up)."""
    with FakeSlack(bot_token=TOKEN, bot_user_id="U_CAREBOT", **options) as fake:
        yield fake


def _serve_fake(
    connection: Connection, factory: Callable[..., Any], options: dict[str, Any]
) -> None:
    with factory(**options) as fake:
        connection.send(fake.url)
        while (request := connection.recv()) is not None:
            name, args, kwargs = request
            value = getattr(fake, name)
            connection.send(value(*args, **kwargs) if callable(value) else value)


def _slack_emulator(**options: Any) -> FakeSlack:
    return FakeSlack(bot_token=TOKEN, bot_user_id="U_CAREBOT", **options)


class RemoteFake:
    """A fake (`factory(**options)`) in a process of its own, so its CPU does not count
    as the app's (2 cores: the app gets one, the fakes the other). Attributes named in
    `ATTRIBUTES` are read, anything else is called; results come back pickled."""

    ATTRIBUTES: frozenset[str] = frozenset({"calls"})

    def __init__(self, factory: Callable[..., Any], **options: Any) -> None:
        context = get_context("fork")
        self._connection, child = context.Pipe()
        self._process = context.Process(
            target=_serve_fake, args=(child, factory, options), daemon=True
        )
        self._process.start()
        self.url: str = self._connection.recv()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self.ATTRIBUTES:
            return self._ask(name)
        return lambda *args, **kwargs: self._ask(name, *args, **kwargs)

    def _ask(self, name: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self._connection.send((name, args, kwargs))
            return self._connection.recv()

    def close(self) -> None:
        with self._lock:
            self._connection.send(None)
        self._process.join(10)


class RemoteFakeSlack(RemoteFake):
    """The Slack emulator in a process of its own: `fake.calls`, `fake.channels`,
    `fake.add_user(...)` work as on FakeSlack."""

    ATTRIBUTES = frozenset({"calls", "channels", "users", "shared_invites"})

    def __init__(self, **options: Any) -> None:
        super().__init__(_slack_emulator, **options)


@contextmanager
def remote_fake_slack(**options: Any) -> Iterator[RemoteFakeSlack]:
    fake = RemoteFakeSlack(**options)
    try:
        yield fake
    finally:
        fake.close()


@contextmanager
def running(*servers: Server) -> Iterator[tuple[Server, ...]]:
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def http_get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# --- requests ------------------------------------------------------------------------


def status_command(user_id: str = CALLER) -> Request:
    """The signed `/introduce-care status` Slack sends (valid for 5 minutes)."""
    body = slash_command_body("status", user_id=user_id)
    return "/slack/events", body.encode(), signed_headers(SIGNING_SECRET, body)


def signed_webhook(events: Sequence[dict[str, object]]) -> Request:
    body = json.dumps(list(events)).encode()
    ts = str(int(time.time()))
    digest = hmac.new(WEBHOOK_SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256)
    headers = {
        "Content-Type": "application/json",
        "X-CareIntro-Timestamp": ts,
        "X-CareIntro-Signature": f"sha256={digest.hexdigest()}",
    }
    return "/crm/webhook", body, headers


# --- the load client -----------------------------------------------------------------


@dataclass
class LoadResult:
    latencies: list[float]  # seconds, one per answered request
    statuses: dict[int, int]
    errors: int
    wall: float
    client_cpu: float  # CPU seconds the client processes used

    @property
    def requests(self) -> int:
        return len(self.latencies)


def _client_job(
    port: int,
    threads: int,
    per_thread: int | None,
    seconds: float | None,
    make: Callable[[], Request],
    start_at: float,
) -> LoadResult:
    """One client process: `threads` keep-alive connections, each sending one request at a time."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    lock = threading.Lock()

    def loop() -> None:
        nonlocal errors
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, codes, failed, sent = [], {}, 0, 0
        stop_at = start_at + seconds if seconds else None
        while (per_thread is None or sent < per_thread) and (
            stop_at is None or time.time() < stop_at
        ):
            path, body, headers = make()
            began = time.perf_counter()
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                mine.append(time.perf_counter() - began)
                codes[response.status] = codes.get(response.status, 0) + 1
            except (OSError, http.client.HTTPException):
                failed += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            sent += 1
        connection.close()
        with lock:
            latencies.extend(mine)
            errors += failed
            for code, n in codes.items():
                statuses[code] = statuses.get(code, 0) + n

    time.sleep(max(0.0, start_at - time.time()))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return LoadResult(
        latencies, statuses, errors, time.perf_counter() - wall0, time.process_time() - cpu0
    )


def run_load(
    port: int,
    make: Callable[[], Request],
    *,
    concurrency: int,
    total: int | None = None,
    seconds: float | None = None,
    processes: int = 2,
) -> LoadResult:
    """Closed-loop load: `concurrency` clients over `processes` processes (no shared GIL).

    `make` must be a picklable module-level function; it is called for every request.
    """
    processes = max(1, min(processes, concurrency))
    split = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    per_thread = None if total is None else max(1, total // concurrency)
    start_at = time.time() + 0.5
    with ProcessPoolExecutor(processes, mp_context=get_context("fork")) as pool:
        futures = [
            pool.submit(_client_job, port, n, per_thread, seconds, make, start_at) for n in split
        ]
        parts = [f.result() for f in futures]
    statuses: dict[int, int] = {}
    for part in parts:
        for code, n in part.statuses.items():
            statuses[code] = statuses.get(code, 0) + n
    return LoadResult(
        latencies=[x for part in parts for x in part.latencies],
        statuses=statuses,
        errors=sum(p.errors for p in parts),
        wall=max(p.wall for p in parts),
        client_cpu=sum(p.client_cpu for p in parts),
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --- floors: the least time rate limits allow for the calls made ---------------------


def window_floor(n: int, limit: int, window: float) -> tuple[float, float]:
    """(strict, rate) seconds for n calls under `limit` per sliding `window`: call i (from
    0) goes at `window * (i // limit)` at the earliest when the window starts empty, so
    strict = `window * ((n - 1) // limit)`; rate = `window * n / limit`, the steady rate
    (one window more)."""
    return (window * ((n - 1) // limit) if n else 0.0), window * n / limit


def slack_floors(calls: Sequence[Any]) -> dict[str, tuple[int, float, float]]:
    """Per Slack method called (429s not counted): (calls, strict, rate) in Slack seconds.
    For chat.postMessage, the busiest channel's messages beyond the burst at one a second
    (strict and rate alike: a bucket starts full)."""
    made = [c for c in calls if c.status != 429]
    found: dict[str, tuple[int, float, float]] = {}
    for method, n in Counter(c.method for c in made).items():
        if method == "chat.postMessage":
            per_channel = Counter(str(c.args.get("channel")) for c in made if c.method == method)
            busiest = max(per_channel.values())
            seconds = max(0, busiest - POST_MESSAGE_BURST) / POST_MESSAGE_PER_SECOND
            found[method] = (n, seconds, seconds)
            continue
        ref = METHODS.get(method)
        limit = TIER_PER_MINUTE.get(ref.tier if ref else "t3")
        if limit:
            found[method] = (n, *window_floor(n, limit, WINDOW_SECONDS))
    return found


# --- what Slack holds ------------------------------------------------------------------


def messages_by_introduction(channels: Iterable[Any]) -> Counter[tuple[str, int]]:
    """How many messages of each (event_type, introduction_id) metadata the emulator's
    conversations hold: the welcome, the brief, the AE's note are one each."""
    kinds: Counter[tuple[str, int]] = Counter()
    for channel in channels:
        for message in channel.messages:
            meta = message.get("metadata") or {}
            intro_id = (meta.get("event_payload") or {}).get("introduction_id")
            if intro_id is not None:
                kinds[(str(meta.get("event_type")), int(intro_id))] += 1
    return kinds


# --- output --------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, ready to paste into bench/README.md."""
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def machine() -> str:
    """What the README records with a run; the load average shows a machine shared."""
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    return f"nproc={os.cpu_count()} python={sys.version.split()[0]} date={date.today()} load={load}"


def peak_rss_mib() -> float:
    """This process's peak RSS so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
