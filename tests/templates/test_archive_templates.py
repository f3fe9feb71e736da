"""The words of a lost deal's channel archive: the day-before notice, the by-hand
unarchive, and the channel's line in `status` in each state; CRM values escaped."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bot.flows.archive import ArchiveView
from bot.flows.slash_handlers import STEP_NAMES
from bot.templating import render_internal
from tests.templates.test_slash_templates import assert_clean, deal, intro, questions

HOSTILE = "<!channel> & <https://evil.example|click>"
ON = date(2030, 3, 15)


def said(message) -> str:
    return json.dumps(message.blocks, ensure_ascii=False) + message.text


def test_the_notice_names_the_date_and_the_channel_and_escapes_the_company():
    message = render_internal("internal/archive_notice.j2", deal=deal(company=HOSTILE),
                              channel_id="C1", on=ON)  # fmt: skip
    assert_clean(message)
    text = said(message)
    assert "will be archived on *Fri 15 Mar 2030*" in text and "<#C1>" in text
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in text
    assert message.text.endswith("care channel will be archived on Fri 15 Mar 2030")


def test_the_by_hand_message_says_how_to_unarchive_the_same_channel():
    message = render_internal("internal/unarchive_by_hand.j2", deal=deal(company=HOSTILE),
                              channel_id="C1", error="not_in_channel")  # fmt: skip
    assert_clean(message)
    text = said(message)
    assert "*Unarchive channel*" in text and "open <#C1>" in text and "`not_in_channel`" in text
    assert "<!channel>" not in text


def status(archive: ArchiveView | None) -> str:
    message = render_internal(
        "internal/status.j2", deal=deal(), intro=intro(), steps={}, step_names=STEP_NAMES,
        contacts=[], history=[], questions=questions(0, 0), connectors=[], archive=archive,
    )  # fmt: skip
    assert_clean(message)
    return said(message)


@pytest.mark.parametrize(
    ("view", "words"),
    [
        (ArchiveView("lost", ON), "*Channel* to be archived on Fri 15 Mar 2030: the deal is lost"),
        (ArchiveView("archived", ON), "*Channel* archived on Fri 15 Mar 2030: the deal is lost"),
        (ArchiveView("reopened", ON), "*Channel* archived, being unarchived: the deal is back"),
        (ArchiveView("by_hand", ON, "not_in_channel"), "so unarchive <#C1> yourself"),
        (
            ArchiveView("failed", ON, "channel_not_found"),
            "not archived: Slack answered channel_not_found",
        ),
    ],
)
def test_status_shows_the_channels_archive(view, words):
    assert words in status(view)


def test_status_without_an_archive_says_nothing_of_it():
    assert "*Channel*" not in status(None)
