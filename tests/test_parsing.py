"""Shared input rules (`bot.parsing`): the slash grammar, the modal and CRM records agree."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import parsing
from bot.crm.records import RecordError, parse_record
from bot.exceptions import UsageError
from bot.slash_grammar import Unwatch, parse

WORD = st.text(st.characters(exclude_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=80)


@given(WORD)
def test_the_grammar_and_crm_records_accept_the_same_deal_ids(word):
    try:
        typed = parse(f"unwatch {word}")
    except UsageError:
        typed = None
    try:
        record = parse_record({"deal_id": word, "stage": "Open"}, require_stage=True)
    except RecordError:
        record = None
    if parsing.is_deal_id(word):
        assert typed == Unwatch(word) and record is not None and record.crm_id == word
    else:
        assert typed is None


@pytest.mark.parametrize("raw", ["D-42", "0006Q00000AbCdE", "acme.corp/2026#1", "a" * 64])
def test_deal_ids(raw):
    assert parsing.deal_id(raw) == raw


@pytest.mark.parametrize("raw", ["-D", "a" * 65, "D 42", "<!channel>", "D-ä"])
def test_not_deal_ids(raw):
    with pytest.raises(UsageError, match="is not a deal id"):
        parsing.deal_id(raw)


def test_emails_are_normalised_and_bad_ones_named():
    assert parsing.normalise_email("CTO@Acme.Example") == "cto@acme.example"
    assert parsing.mailto_address("<mailto:a@b.example|a@b.example>") == "a@b.example"
    with pytest.raises(UsageError, match="`nope@` is not a valid email address"):
        parsing.normalise_email("nope@")


def test_mentions():
    assert parsing.mention_id("<@U123|erin>") == "U123"
    assert parsing.mention_id("@erin") is None and parsing.mention_id("<#C1>") is None
