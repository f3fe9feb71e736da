"""A smoke run of bench/hubspot_introductions.py, small: the real app, both fakes with
their vendors' limits on a compressed clock; every deal introduced and noted once, and
a quiet poll is one HubSpot call. (The timing verdict needs the full run: bench/README.)"""

from __future__ import annotations

from bench import hubspot_introductions


def test_the_hubspot_benchmark_introduces_and_notes_every_deal_once() -> None:
    outcome = hubspot_introductions.run("sqlite", workers=2, deals=6, scale=60.0)
    assert (outcome.done, outcome.failed, outcome.notes, outcome.duplicates) == (6, 0, 6, 0)
    assert outcome.polls[0] == 1 and outcome.polls[2] == 1, outcome.polls
    assert outcome.hubspot_calls["429"] == 0 and outcome.floor >= 0
