"""Slack misbehaving: 20 % of calls rate-limited, failing or dropped; permanent errors."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest

from bot.models import IntroStatus
from tests.factories import make_deal, make_member

IN_FLIGHT = 0.2  # seconds: generous, a loaded CI machine can hold a sent call that long


@pytest.mark.slow
def test_every_introduction_completes_under_random_faults(bot, fake):
    make_member(bot.engine)
    for n in range(5):
        make_deal(bot.engine, f"D-{n}", company=f"Company {n}", contacts=[f"cto@c{n}.example"])
    fake.random_faults(rate=0.2, seed=7, kinds=("429", "500", "drop"))
    for n in range(5):
        status, _ = bot.command(f"now D-{n} <@U_ENG>")
        assert status == 200
    intros = bot.wait_idle(timeout=120)
    assert [i.status for i in intros] == [IntroStatus.DONE] * 5, [i.last_error for i in intros]
    faults = [c for c in fake.calls if c.fault and c.fault.startswith("random:")]
    assert len(faults) >= 5, "the seed should inject faults"
    for intro in intros:
        assert len(fake.messages(intro.channel_id)) == 1
    assert len([c for c in fake.channels.values() if c.name.startswith("care-company")]) == 5
    assert len(fake.shared_invites) == 5
    # No call of a method before its Retry-After expired, from any worker thread, except
    # the calls already on their way when the 429 was answered (IN_FLIGHT).
    for method in {c.method for c in fake.calls}:
        calls = fake.calls_to(method)
        for limited in (c for c in calls if c.status == 429):
            early = [c for c in calls if IN_FLIGHT <= c.at - limited.at < 1.0]
            assert not early, (method, [round(c.at - limited.at, 3) for c in early])


def test_retry_after_is_honoured(bot, fake):
    make_member(bot.engine)
    fake.rate_limit_next("conversations.create", retry_after=2, count=2)
    fake.rate_limit_next("conversations.setTopic", retry_after=1)
    bot.command("now D-1 Acme <@U_ENG>")
    [intro] = bot.wait_idle(timeout=30)
    assert intro.status == IntroStatus.DONE
    for method, wait in (("conversations.create", 2), ("conversations.setTopic", 1)):
        calls = fake.calls_to(method)
        for limited, following in pairwise(calls):
            if limited.status == 429:
                assert following.at - limited.at >= wait, (method, following.at - limited.at)


@pytest.mark.parametrize(
    ("method", "error", "reason"),
    [
        ("conversations.setTopic", "channel_not_found", "channel was deleted"),
        ("pins.add", "not_in_channel", "bot was removed from the care channel"),
        ("conversations.invite", "invalid_auth", "token is not valid"),
    ],
)
def test_permanent_errors_fail_with_the_reason_without_retrying(bot, fake, method, error, reason):
    make_member(bot.engine)
    fake.fail_next(method, error=error)
    bot.command("now D-1 Acme <@U_ENG>")
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.FAILED and reason in intro.last_error
    assert len(fake.calls_to(method)) == 1, "no retry of a permanent error"
    _, answer = bot.command("status D-1")
    assert reason in json.dumps(answer)
    assert any("could not finish" in m["text"] for m in fake.dm_messages("U_AE"))
