"""1b. Where a `status` ack's CPU goes: the WSGI apps called in-process, one caller.

No server, no sockets, no concurrent requests: each row is the CPU (`time.process_time`,
every thread of this process) of one call of the signed `/introduce-care status`
request, averaged over `--requests`, after a warm-up. It splits what `ack_latency.py`
measures under load into the framework (bare Bolt: Flask adapter, signature check, an
ack-only listener) and CareIntro's own work (parse, one session, the status query, the
rendered answer), and counts the SQL statements that work sends (BEGIN, COMMIT and the
pool's pre-ping are not counted).

    python bench/ack_cpu.py [--requests 3000] [--db sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event
from werkzeug.test import EnvironBuilder

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


def status_environ() -> dict[str, Any]:
    """The WSGI environ of the signed request, built once; each call gets a fresh body."""
    path, body, headers = status_command()
    return EnvironBuilder(path=path, method="POST", data=body, headers=headers).get_environ()


def call(app: Wsgi, base: dict[str, Any]) -> None:
    statuses: list[str] = []
    env = {**base, "wsgi.input": io.BytesIO(base["wsgi.input"].getvalue())}
    answer = app(env, lambda status, *_: statuses.append(status))
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
    from bot import slash_grammar
    from bot.config import Settings
    from bot.db import session_scope
    from bot.flows import slash_handlers
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
        parsed = slash_grammar.parse("status")
        base = status_environ()

        def status_work() -> None:
            with session_scope(runtime.engine) as session:
                slash_handlers.handle(session, command=parsed, user_id=CALLER, settings=settings)

        executed: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            executed.append(statement)

        event.listen(runtime.engine, "before_cursor_execute", count)
        status_work()
        event.remove(runtime.engine, "before_cursor_execute", count)
        statements = len(executed)
        rows = []
        bare_ms = cpu_ms(lambda: call(bare, base), requests)
        careintro_ms = cpu_ms(lambda: call(careintro, base), requests)
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
    rows: list[list[object]] = []
    with fake_slack() as slack:
        for kind in args.db.split(","):
            if kind == "postgresql" and not postgres_available():
                print("PostgreSQL not reachable: skipped")
                continue
            rows += bench_db(kind, args.requests, slack.url)
    print(f"# CPU of one `/introduce-care status` request, in-process, one caller ({machine()})")
    print(table(["db", "what", "CPU ms/request", "vs bare", "SQL statements"], rows))


if __name__ == "__main__":
    main()
