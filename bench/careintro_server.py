"""`careintro serve`, unchanged except that it binds 127.0.0.1 instead of every interface.

Usage: python bench/careintro_server.py --port N [--no-worker]  (settings from the environment)

`BENCH_WHAT_IF` (comma list) applies, in this process only, a fix the profile suggested,
to measure it before it is made in `bot/` (see bench/README.md):
- `jinja-no-reload`: the Jinja environment stops stat()ing templates on every render;
- `light-status`: `/introduce-care status` reads the columns it shows, not ORM entities;
- `process-before-response`: Bolt runs the listener in the request's thread, so the ack
  is answered as soon as it is made, instead of at Bolt's next 10 ms poll;
- `lazy-alembic` (PostgreSQL only, where `serve` never migrates): alembic is not loaded,
  as if `bot.db` imported it inside `migrate()`.
"""

from __future__ import annotations

import functools
import os
import sys
import types
from types import SimpleNamespace
from typing import Any

from sqlmodel import Session, col, select

# `bot` is imported in functions only: `lazy-alembic` must act before `bot.db` is loaded.


def light_deals_for_user(session: Session, *, user_id: str, limit: int = 20) -> list[Any]:
    """What the status list shows, as plain rows: no identity map, no ORM hydration."""
    from bot.models import Deal, Introduction

    query = (
        select(
            Deal.crm_id,
            Deal.company,
            Deal.stage,
            Deal.stage_label,
            Introduction.id,
            Introduction.status,
            Introduction.channel_id,
            Introduction.engineer_user_id,
        )
        .join(Introduction, col(Introduction.deal_id) == Deal.id, isouter=True)
        .where(
            (Deal.registered_by == user_id)
            | (Introduction.engineer_user_id == user_id)
            | (Introduction.ae_user_id == user_id)
        )
        .order_by(col(Deal.updated_at).desc())
        .limit(limit)
    )
    rows = []
    for crm_id, company, stage, label, intro_id, status, channel, engineer in session.exec(query):
        deal = SimpleNamespace(crm_id=crm_id, company=company, stage=stage, stage_label=label)
        intro = SimpleNamespace(status=status, channel_id=channel, engineer_user_id=engineer)
        rows.append((deal, intro if intro_id is not None else None))
    return rows


def stub_alembic() -> None:
    """Stand-ins for the names `bot.db` imports at module level; calling them fails loudly."""
    alembic = types.ModuleType("alembic")
    alembic.command = types.ModuleType("alembic.command")  # type: ignore[attr-defined]
    config = types.ModuleType("alembic.config")
    config.Config = None  # type: ignore[attr-defined]
    alembic.config = config  # type: ignore[attr-defined]
    sys.modules.update(
        {"alembic": alembic, "alembic.command": alembic.command, "alembic.config": config}  # type: ignore[attr-defined]
    )


def apply_what_if(names: set[str]) -> None:
    from bot import app as bot_app
    from bot import crud

    if "jinja-no-reload" in names:
        from bot.templating import environment

        environment().auto_reload = False
    if "light-status" in names:
        crud.deals_for_user = light_deals_for_user  # type: ignore[assignment]
    if "process-before-response" in names:
        bot_app.App = functools.partial(bot_app.App, process_before_response=True)  # type: ignore[misc]


if __name__ == "__main__":
    if "lazy-alembic" in os.environ.get("BENCH_WHAT_IF", "") and "postgres" in os.environ.get(
        "DATABASE_URL", ""
    ):
        stub_alembic()  # before `bot` is imported below
    apply_what_if({n for n in os.environ.get("BENCH_WHAT_IF", "").split(",") if n})
    from bot import runtime
    from bot.__main__ import main

    # The benchmarks keep all traffic on loopback; everything else is the production path.
    runtime.HttpServer.__init__.__kwdefaults__["host"] = "127.0.0.1"
    sys.exit(main(["serve", *sys.argv[1:]]))
