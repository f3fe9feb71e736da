"""Channel names, stage names and mrkdwn escaping."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.text import escape_mrkdwn, normalise_stage, slack_channel_name


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("care-Acme Corp", "care-acme-corp"),
        ("care-Société Générale", "care-societe-generale"),
        ("care-<!channel> <https://evil.example|x>", "care-channel-https-evil-example-x"),
        ("care-  --Weird__Name!!  ", "care-weird__name"),
        ("care-Zero\u200bWidth", "care-zerowidth"),
    ],
)
def test_channel_names(raw, name):
    assert slack_channel_name(raw) == name


@given(st.text(max_size=300), st.sampled_from(["", "-2", "-17"]))
def test_channel_names_are_always_valid(raw, suffix):
    name = slack_channel_name(raw, suffix=suffix)
    assert re.fullmatch(r"[a-z0-9_][a-z0-9_-]*", name)
    assert (len(name) <= 80 and not name.endswith("-")) or name.endswith(suffix)
    assert name.endswith(suffix)


def test_stage_names_are_normalised():
    assert normalise_stage("Negotiation/Review") == "negotiationreview"
    assert normalise_stage(" Closed Won ") == "closedwon"


def test_escape_keeps_typed_entities_literal():
    assert escape_mrkdwn("<!here> & &lt;") == "&lt;!here&gt; &amp; &amp;lt;"
