"""A smoke run of bench/salesforce_poll.py, small: one size in its own process, the fake
org in another; every Opportunity stored and applied once, a quiet poll is one query.
(The memory verdict needs the full run: bench/README.)"""

from __future__ import annotations

from bench import salesforce_poll


def test_the_salesforce_benchmark_processes_every_opportunity_once() -> None:
    outcome = salesforce_poll.run(300, "sqlite")
    assert (outcome["stored"], outcome["applied"], outcome["deals"], outcome["errors"]) == (
        300, 300, 300, 0
    )  # fmt: skip
    assert outcome["queries"] == 1  # 300 rows: one batch
    assert (outcome["quiet_queries"], outcome["quiet_stored"]) == (1, 0)
