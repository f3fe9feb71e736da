"""SIGKILL the real worker at every step, at the worst moment: Slack has done the step's
call, the worker never heard back. A new worker must finish with nothing twice."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest

from bot.emulator import FakeSlack
from tests.flows.test_crash_resume import (
    assert_exactly_once,
    finish_with_new_worker,
    queue_introduction,
    start_worker,
)
from tests.waiting import wait_for

pytestmark = pytest.mark.slow


def after(method: str) -> Callable[[FakeSlack], Callable[[], bool]]:
    """Hang `method` once it has had its effect; ready when a call to it is hanging."""

    def arm(fake: FakeSlack) -> Callable[[], bool]:
        fake.hang(method, after_effect=True)
        return lambda: any(c.fault == "hang_after_effect" for c in fake.calls_to(method))

    return arm


def dm_post(nth_open: int) -> Callable[[FakeSlack], Callable[[], bool]]:
    """Hang the DM posted after the `nth_open` conversations.open (brief, then the AE's):
    each open is held until counted, then let through, until the one we want."""

    def arm(fake: FakeSlack) -> Callable[[], bool]:
        state = {"gate": fake.hang("conversations.open"), "seen": 0, "armed": False}

        def ready() -> bool:
            opens = len(fake.calls_to("conversations.open"))
            if not state["armed"] and opens >= nth_open:
                fake.hang("chat.postMessage", after_effect=True)
                state["armed"] = True
                state["gate"].set()
            elif not state["armed"] and opens > state["seen"]:
                state["seen"] = opens
                state["gate"] = fake.hang("conversations.open")  # releases the one held
            hung = [c for c in fake.calls_to("chat.postMessage") if c.fault == "hang_after_effect"]
            return bool(state["armed"] and hung)

        return ready

    return arm


KILL_POINTS = {
    "channel": after("conversations.create"),
    "invite": after("conversations.invite"),
    "topic": after("conversations.setTopic"),
    "welcome": after("chat.postMessage"),
    "pin": after("pins.add"),
    "connect": after("conversations.inviteShared"),
    "brief": dm_post(1),
    "notify_ae": dm_post(2),
}


@pytest.mark.parametrize("step", list(KILL_POINTS))
def test_kill_at_each_step_then_finish_exactly_once(step, settings, fake, engine):
    queue_introduction(engine)
    ready = KILL_POINTS[step](fake)
    worker = start_worker(settings)
    try:
        wait_for(ready)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    fake.clear_faults()

    intro = finish_with_new_worker(settings, engine)
    assert_exactly_once(fake, intro)
    channel = fake.channels[intro.channel_id]
    assert {"U_ENG", "U_BACKUP", "U_AE"} <= set(channel.members)
    assert intro.welcome_ts in channel.pins and channel.topic
