"""1b. Where a `status` ack's CPU goes: the WSGI apps called in-process, one thread.

No server, no sockets, no other threads: each row is the CPU (`time.process_time`) of one
call of the signed `/introduce-care status` request, averaged over `--requests`, after a
warm-up. It splits what `ack_latency.py` measures under load into the framework (bare
Bolt: Flask adapter, signature check, an ack-only listener) and CareIntro's own work
(parse, one session, the status query, the rendered answer), and counts the database
round trips that work makes.

    python bench/ack_cpu.py [--requests 3000] [--db sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event

from bench._common import (
    CALLER,
    SIGNING_SECRET,
    TOKEN,
    WEBHOOK_SECRET,
    database,
    fake_slack,
    machine,
    postgres_available,
    seed_status_data,
    status_command,
    table,
)
from bench.bare_bolt_app import build as build_bare

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def environ(path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "3000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        env[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return env


def call(app: Wsgi) -> None:
    statuses: list[str] = []
    answer = app(environ(*status_command()), lambda status, *_: statuses.append(status))
    b"".join(answer)
    close = getattr(answer, "close", None)
    if close:
        close()
    if not statuses[0].startswith("200"):
        raise RuntimeError(f"status request answered {statuses[0]}")


def cpu_ms(work: Callable[[], None], requests: int) -> float:
    for _ in range(max(100, requests // 10)):
        work()
    start = time.process_time()
    for _ in range(requests):
        work()
    return (time.process_time() - start) / requests * 1000


def bench_db(kind: str, requests: int, api_url: str) -> list[list[object]]:
    from bot import commands
    from bot.config import Settings
    from bot.db import session_scope
    from bot.flows import slash
    from bot.runtime import build_runtime
    from bot.web import create_web_app

    with database(kind) as url:
        seed_status_data(url)
        env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
               "CRM_WEBHOOK_SECRET": WEBHOOK_SECRET, "SLACK_API_URL": api_url,
               "DATABASE_URL": url}  # fmt: skip
        settings = Settings.from_env(env)
        runtime = build_runtime(settings, with_worker=False)
        careintro = create_web_app(runtime.bolt, runtime.engine, settings, lambda: None)
        bare = build_bare(api_url)
        parsed = commands.parse("status")

        def status_work() -> None:
            with session_scope(runtime.engine) as session:
                slash.handle(session, command=parsed, user_id=CALLER, settings=settings)

        executed: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            executed.append(statement)

        event.listen(runtime.engine, "before_cursor_execute", count)
        status_work()
        event.remove(runtime.engine, "before_cursor_execute", count)
        statements = len(executed)
        rows = []
        bare_ms = cpu_ms(lambda: call(bare), requests)
        careintro_ms = cpu_ms(lambda: call(careintro), requests)
        work_ms = cpu_ms(status_work, requests)
        rows.append([kind, "bare Bolt, whole request", f"{bare_ms:.3f}", "1.00x", "-"])
        rows.append([kind, "CareIntro, whole request", f"{careintro_ms:.3f}",
                     f"{careintro_ms / bare_ms:.2f}x", statements])  # fmt: skip
        rows.append([kind, "CareIntro, status work alone", f"{work_ms:.3f}",
                     f"{work_ms / bare_ms:.2f}x", statements])  # fmt: skip
        runtime.engine.dispose()
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--db", default="sqlite,postgresql")
    args = parser.parse_args()
    os.environ["CAREINTRO_ENV_FILE"] = "/nonexistent.env"
    rows: list[list[object]] = []
    with fake_slack() as slack:
        for kind in args.db.split(","):
            if kind == "postgresql" and not postgres_available():
                print("PostgreSQL not reachable: skipped")
                continue
            rows += bench_db(kind, args.requests, slack.url)
    print(f"# CPU of one `/introduce-care status` request, in-process, one thread ({machine()})")
    print(table(["db", "what", "CPU ms/request", "vs bare", "SQL statements"], rows))


if __name__ == "__main__":
    main()
