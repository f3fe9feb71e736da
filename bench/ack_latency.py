"""1. Slash-command ack latency: `careintro serve` vs a bare Bolt app, same signed request.

Both servers run as subprocesses (waitress + Bolt's Flask adapter, 8 threads); the load
client runs in 2 other processes with keep-alive connections. Each level is warmed up,
then measured; the servers are measured in turn, A-B-A-B, and the runs merged, so drift
on the machine hits both alike.

    python bench/ack_latency.py [--requests 3000] [--levels 1,10,50] [--db sqlite,postgresql]
                                [--baseline ../before]  (a worktree: git worktree add ../before REV)
                                [--threads 1,2]  (also `careintro serve --threads N`)
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack
from pathlib import Path

from bench._common import (
    LoadResult,
    Server,
    bare_bolt_server,
    careintro_server,
    database,
    fake_slack,
    machine,
    percentile,
    postgres_available,
    run_load,
    running,
    seed_status_data,
    status_command,
    table,
)

TARGET_RATIO = 1.1
MAX_SECONDS = 3.0
ROUNDS = 2


def warm_up(server: Server, *, concurrency: int) -> None:
    run_load(server.port, status_command, concurrency=concurrency, total=max(200, concurrency * 4))


def measure(server: Server, *, concurrency: int, requests: int) -> LoadResult:
    parts = []
    for _ in range(ROUNDS):
        parts.append(
            run_load(server.port, status_command, concurrency=concurrency, total=requests // ROUNDS)
        )
    return merge(parts)


def merge(parts: list[LoadResult]) -> LoadResult:
    statuses: dict[int, int] = {}
    for part in parts:
        for code, n in part.statuses.items():
            statuses[code] = statuses.get(code, 0) + n
    return LoadResult(
        latencies=[x for p in parts for x in p.latencies],
        statuses=statuses,
        errors=sum(p.errors for p in parts),
        wall=sum(p.wall for p in parts),
        client_cpu=sum(p.client_cpu for p in parts),
    )


def row(
    name: str, concurrency: int, result: LoadResult, server_cpu: float, switches: int
) -> list[object]:
    ms = [x * 1000 for x in result.latencies]
    return [
        name,
        concurrency,
        result.requests,
        round(result.requests / result.wall),
        percentile(ms, 50),
        percentile(ms, 99),
        max(ms),
        f"{100 * result.client_cpu / result.wall:.0f}%",
        f"{100 * server_cpu / result.wall:.0f}%",
        round(1000 * server_cpu / result.requests, 2),
        round(switches / result.requests),
        ",".join(f"{k}:{v}" for k, v in sorted(result.statuses.items())) + f" err:{result.errors}",
    ]


def bench_db(
    kind: str, levels: list[int], requests: int, baseline: Path | None, threads: list[int]
) -> tuple[list[list[object]], list[str]]:
    rows: list[list[object]] = []
    verdicts: list[str] = []
    with ExitStack() as stack:
        url = stack.enter_context(database(kind))
        fake = stack.enter_context(fake_slack())
        seed_status_data(url)
        servers = [bare_bolt_server(fake.url), careintro_server(url, fake.url)]
        servers += [careintro_server(url, fake.url, threads=n) for n in threads]
        if baseline is not None:  # the same data, in a database of the baseline's schema
            old_url = stack.enter_context(database(kind, tree=baseline))
            seed_status_data(old_url)
            servers.append(careintro_server(old_url, fake.url, tree=baseline))
        with running(*servers):
            for concurrency in levels:
                results = {}
                for server in servers:
                    warm_up(server, concurrency=concurrency)
                    cpu0, switches0 = server.cpu_seconds(), server.context_switches()
                    result = measure(server, concurrency=concurrency, requests=requests)
                    cpu = server.cpu_seconds() - cpu0
                    results[server.name] = (result, cpu, server.context_switches() - switches0)
                for name, (result, cpu, switches) in results.items():
                    rows.append(row(f"{name} ({kind})", concurrency, result, cpu, switches))
                for name in results:
                    if name != "bare-bolt":
                        verdicts.append(verdict(kind, concurrency, name, results))
    return rows, verdicts


def verdict(
    kind: str, concurrency: int, name: str, results: dict[str, tuple[LoadResult, float, int]]
) -> str:
    care, bare = results[name][0], results["bare-bolt"][0]
    ratios = {q: percentile(care.latencies, q) / percentile(bare.latencies, q) for q in (50, 99)}
    slow = max(care.latencies)
    ok = all(r <= TARGET_RATIO for r in ratios.values()) and slow <= MAX_SECONDS
    ok = ok and not care.errors and set(care.statuses) == {200}
    return (
        f"{name} {kind} c={concurrency}: p50 ratio {ratios[50]:.2f}x, p99 ratio {ratios[99]:.2f}x, "
        f"max {slow * 1000:.0f} ms -> {'MET' if ok else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000, help="per level and server")
    parser.add_argument("--levels", default="1,10,50")
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also measure the CareIntro of this checkout (e.g. a git worktree of an older "
        "commit), interleaved with the others: before/after in one run",
    )
    parser.add_argument(
        "--threads",
        default="",
        help="also measure `careintro serve --threads N` for each N (e.g. 1,2,4): the request "
        "thread count (default 8, as bare Bolt's server)",
    )
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    rows, verdicts = [], []
    for kind in args.db.split(","):
        if kind == "postgresql" and not postgres_available():
            print("PostgreSQL not reachable: skipped")
            continue
        threads = [int(x) for x in args.threads.split(",") if x]
        more_rows, more_verdicts = bench_db(kind, levels, args.requests, args.baseline, threads)
        rows += more_rows
        verdicts += more_verdicts
    print(f"# ack latency of `/introduce-care status` ({machine()})")
    headers = ["server", "clients", "requests", "req/s", "p50 ms", "p99 ms", "max ms"]
    more = ["client CPU", "server CPU", "CPU ms/req", "switches/req", "answers"]
    print(table([*headers, *more], rows))
    print()
    print(f"target: CareIntro p50 and p99 <= {TARGET_RATIO}x bare Bolt, none over {MAX_SECONDS}s")
    for line in verdicts:
        print(line)


if __name__ == "__main__":
    main()
