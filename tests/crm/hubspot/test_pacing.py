"""The pacer at its defaults, in HubSpot's real time (a clock of our own, no sleeping):
the twin of the compressed-clock tests in test_client.py."""

from __future__ import annotations

import pytest

from bot.crm.hubspot.pacing import JITTER_SECONDS, PAD, Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_101st_call_waits_for_hubspots_ten_second_window():
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)  # 100 per 10 s, real time
    waits = [pacer.acquire() for _ in range(100)]
    assert waits == [0.0] * 100
    assert pacer.acquire() == pytest.approx(10 * PAD + JITTER_SECONDS)


def test_the_sixth_search_in_a_second_waits():
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)  # 5 searches per second, real time
    assert [pacer.acquire(search=True) for _ in range(5)] == [0.0] * 5
    assert pacer.acquire(search=True) == pytest.approx(1 * PAD + JITTER_SECONDS)
    assert pacer.acquire() == 0.0  # a plain call is not held by the search window
