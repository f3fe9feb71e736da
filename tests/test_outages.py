"""Slack counts as lost after failures in a row, not at one dropped call among many;
while it is lost, the failures a flow catches are not logged again."""

from __future__ import annotations

import contextlib
import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.emulator import FakeSlack
from bot.exceptions import SlackStepError
from bot.outages import SLACK, SLACK_AFTER, log_failure, slack_lost
from bot.slack.client import make_client

DROPPED = SlackStepError("alert", "connection: URLError", permanent=False)


def slack_client(fake: FakeSlack) -> WebClient:
    return make_client(Settings(slack_bot_token=fake.bot_token, slack_api_url=fake.url))


def test_one_failure_among_answers_is_no_outage(fake, caplog):
    client = slack_client(fake)
    for _ in range(3):
        fake.fail_next("auth.test", status=500, count=SLACK_AFTER - 1)
        for _ in range(SLACK_AFTER - 1):
            with contextlib.suppress(SlackApiError):
                client.auth_test()
        client.auth_test()
    assert not SLACK.lost
    assert "unreachable" not in caplog.text


def test_failures_in_a_row_are_an_outage_logged_once_then_quiet(fake, caplog):
    client = slack_client(fake)
    caplog.set_level(logging.DEBUG)
    fake.stop()
    for _ in range(10):
        with contextlib.suppress(OSError):
            client.auth_test()
    log_failure(logging.getLogger("flow"), DROPPED, "alert failed, retrying later")

    assert SLACK.lost
    assert caplog.text.count("Slack unreachable") == 1
    [quiet] = [r for r in caplog.records if r.name == "flow"]
    assert quiet.levelno == logging.DEBUG, "the outage already said it"


def test_while_slack_answers_a_flows_failure_is_logged(caplog):
    log_failure(logging.getLogger("flow"), DROPPED, "alert failed, retrying later")
    [record] = [r for r in caplog.records if r.name == "flow"]
    assert record.levelno == logging.WARNING


def test_what_counts_as_slack_lost():
    assert slack_lost(DROPPED)
    assert slack_lost(SlackStepError("alert", "http_503", permanent=False))
    assert not slack_lost(SlackStepError("alert", "ratelimited", permanent=False))
    assert not slack_lost(SlackStepError("alert", "channel_not_found", permanent=True))
