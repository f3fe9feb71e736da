"""5. Idle memory: RSS of `careintro serve` vs the bare Bolt app, each its own process.

Each server is started, warmed with the same 200 signed `/introduce-care status`
requests (so lazy imports, Jinja templates and connection pools are in), left idle
for a few seconds, then its RSS (and USS, memory no other process shares) is read.

    python bench/memory.py [--db sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from bench._common import (
    ROOT,
    Server,
    bare_bolt_server,
    baseline_name,
    careintro_server,
    database,
    fake_slack,
    machine,
    postgres_available,
    run_load,
    running,
    seed_status_data,
    status_command,
    table,
)

TARGET_RATIO = 1.3
IDLE_SECONDS = 5
# What `serve` imports on top of the bare Bolt stack, in import order (the memory profile).
IMPORTS = (
    "flask",
    "slack_bolt",
    "slack_bolt.adapter.flask",
    "waitress",
    "pydantic",
    "sqlalchemy",
    "sqlalchemy.orm",
    "sqlmodel",
    "alembic.command",
    "jinja2",
    "psycopg",
    "bot.models",
    "bot.db",
    "bot.templating",
    "bot.app",
    "bot.__main__",
    "bot.runtime",
)
IMPORT_PROBE = """
import importlib, json, sys
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20
rows, before = [], rss()
rows.append(["python itself", before, before])
for name in sys.argv[1:]:
    importlib.import_module(name)
    now = rss()
    rows.append([name, now - before, now])
    before = now
print(json.dumps(rows))
"""


def import_costs() -> list[list[object]]:
    """RSS added by each import, in a fresh interpreter (what is loaded, not what runs)."""
    out = subprocess.run([sys.executable, "-c", IMPORT_PROBE, *IMPORTS], capture_output=True,
                         text=True, check=True, cwd=ROOT)  # fmt: skip
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def sample(server: Server) -> tuple[float, float, float]:
    """RSS at start, and RSS and USS after warm-up and idling, in MiB."""
    import psutil

    at_start = server.rss_mib()
    run_load(server.port, status_command, concurrency=10, total=200)
    time.sleep(IDLE_SECONDS)
    info = psutil.Process(server.pid).memory_full_info()
    return at_start, info.rss / 2**20, info.uss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument(
        "--baseline", type=Path, help="also measure the CareIntro of this checkout (a worktree)"
    )
    args = parser.parse_args()
    rows, verdicts = [], []
    for kind in args.db.split(","):
        if kind == "postgresql" and not postgres_available():
            print("PostgreSQL not reachable: skipped")
            continue
        with ExitStack() as stack:
            url = stack.enter_context(database(kind))
            fake = stack.enter_context(fake_slack())
            seed_status_data(url)
            servers = {
                "bare Bolt": bare_bolt_server(fake.url),
                "serve --no-worker": careintro_server(url, fake.url),
                "serve (with worker)": careintro_server(url, fake.url, worker=True),
            }
            if args.baseline is not None:
                old_url = stack.enter_context(database(kind, tree=args.baseline))
                seed_status_data(old_url)
                old = careintro_server(old_url, fake.url, tree=args.baseline)
                servers[f"serve --no-worker @{baseline_name(args.baseline)}"] = old
            measured = {}
            for name, server in servers.items():  # one at a time: they never share a core
                with running(server):
                    measured[name] = sample(server)
        bare = measured["bare Bolt"][1]
        for name, (start, rss, uss) in measured.items():
            rows.append([kind, name, start, rss, uss, f"{rss / bare:.2f}x"])
            if name != "bare Bolt":
                ok = rss / bare <= TARGET_RATIO
                verdicts.append(f"{kind} {name}: {rss / bare:.2f}x -> {'MET' if ok else 'MISSED'}")
    print(f"# idle memory after 200 warm-up requests ({machine()})")
    print(table(["db", "process", "RSS at start MiB", "idle RSS MiB", "idle USS MiB", "vs bare"],
                rows))  # fmt: skip
    print(f"\ntarget: idle RSS <= {TARGET_RATIO}x bare Bolt")
    for line in verdicts:
        print(line)
    print("\n## where the memory goes: RSS added by each import (fresh interpreter)")
    print(table(["module", "+MiB", "RSS MiB"], import_costs()))


if __name__ == "__main__":
    main()
