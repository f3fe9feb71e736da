"""Hostile input everywhere: never a 5xx or a traceback, always a reason; injections inert."""

from __future__ import annotations

import csv
import io
import json
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.crm.csv_columns import CAREINTRO, HUBSPOT, SALESFORCE
from bot.crm.csv_values import read_row
from bot.crm.records import RecordError, parse_record
from bot.models import IntroStatus
from bot.text import slack_channel_name
from tests.crm.conftest import send_generic
from tests.factories import make_deal, make_member

INJECTIONS = [
    "<!channel>",
    "<!here|here>",
    "<@U0BADGUY>",
    "<#C0EVIL|general>",
    "<https://evil.example|click here>",
    "&lt;!channel&gt;",
    "x" * 400,
    "Ñandú Société 株式会社 😀",
    "zero\u200bwidth\u200d joiner",
    "*bold* _it_ ~s~ `code` > quote",
]
SAFE_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)
FAST = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def prospect_visible(fake, channel_id: str) -> str:
    channel = fake.channels[channel_id]
    texts = [channel.topic, channel.name, json.dumps(fake.shared_invites)]
    for message in fake.messages(channel_id):
        texts.append(message.get("text", ""))
        texts.append(json.dumps(message.get("blocks")))
    return "\n".join(texts)


def assert_inert(text: str, allowed: set[str]) -> None:
    """No Slack control sequence survives except mentions and links we made ourselves."""
    for sequence in re.findall(r"<[^<>]*>", text):
        assert sequence in allowed, sequence


@FAST
@given(text=SAFE_TEXT)
def test_any_command_text_gets_an_answer(bot, fake, text):
    status, answer = bot.command(text)
    assert status == 200
    if text.strip():  # empty text opens the modal: the answer is the bare ack
        assert answer.get("text"), answer
    assert "Traceback" not in json.dumps(answer)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | SAFE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(SAFE_TEXT, inner, max_size=4),
    max_leaves=12,
)
RECORDISH = st.fixed_dictionaries(
    {"deal_id": st.one_of(SAFE_TEXT, st.integers()), "stage": JSON},
    optional={"amount": JSON, "close_date": JSON, "contacts": JSON, "owner_email": JSON,
              "company": JSON, "notes": JSON},
)  # fmt: skip


@FAST
@given(body=st.one_of(JSON, RECORDISH, st.lists(RECORDISH, max_size=3)))
def test_any_webhook_body_gets_200_or_a_400_reason(webhook_bot, fake, body):
    status, answer = send_generic(webhook_bot, body)
    assert status in (200, 400), (status, answer)
    if status == 400:
        assert answer["error"] and "Traceback" not in answer["error"]


CSV_COLUMNS = st.sampled_from(
    ["deal_id", "company", "stage", "amount", "close_date", "owner_email", "engineer_email",
     "contacts", "notes", "watched"]
)  # fmt: skip
EXPORT_FIELDS = st.sampled_from(
    ["deal_id", "deal_name", "company", "stage", "amount", "close_date", "owner", "owner_email",
     "people", "people_ids", "person_id", "person_email", "person_first", "person_name",
     "probability", "notes", "watched", "contacts"]
)  # fmt: skip


@given(row=st.dictionaries(CSV_COLUMNS, SAFE_TEXT, min_size=1))
def test_any_csv_row_is_a_record_or_a_reason(row):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=sorted(row))
    writer.writeheader()
    writer.writerow(row)
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    if not rows:  # a row of empty cells is a blank line, which CSV readers skip
        return
    parsed = rows[0]
    try:
        record: object = parse_record(parsed, require_stage=False)
    except RecordError as exc:
        record = exc
    if isinstance(record, RecordError):
        assert str(record)
    else:
        assert record.crm_id and len(record.crm_id) <= 64  # type: ignore[attr-defined]


@given(
    cells=st.dictionaries(EXPORT_FIELDS, SAFE_TEXT, min_size=1),
    kind=st.sampled_from([CAREINTRO, HUBSPOT, SALESFORCE]),
    day_first=st.booleans(),
)
def test_any_export_row_is_a_record_or_a_reason(cells, kind, day_first):
    """A HubSpot, Salesforce or CareIntro row: a record, or a RecordError naming why."""
    try:
        row: object = read_row(cells, kind=kind, day_first=day_first)
    except RecordError as exc:
        row = exc
    if isinstance(row, RecordError):
        assert str(row) and "Traceback" not in str(row)
    else:
        assert row.record.crm_id and len(row.record.crm_id) <= 64  # type: ignore[attr-defined]


@given(SAFE_TEXT)
def test_channel_names_stay_valid(raw):
    name = slack_channel_name(f"care-{raw}")
    assert re.fullmatch(r"[a-z0-9_][a-z0-9_-]{0,79}", name)


@pytest.mark.parametrize("hostile", INJECTIONS)
def test_injections_in_every_outside_field_are_inert(webhook_bot, fake, hostile):
    fake.add_user("U_EVIL", name="evil", real_name=f"Eve {hostile}", title=hostile,
                  email="eve@ours.example")  # fmt: skip
    bot = webhook_bot
    make_member(bot.engine, "U_EVIL", backup="U_BACKUP")
    make_deal(bot.engine, "D-1", company="", watched=True, engineer_user_id="U_EVIL")
    status, _ = send_generic(bot, {"deal_id": "D-1", "stage": "Contract Sent",
                                   "company": hostile, "notes": f"notes {hostile}",
                                   "contacts": ["cto@acme.example"]})  # fmt: skip
    assert status == 200
    [intro] = bot.wait_idle_for_one()
    assert intro.status == IntroStatus.DONE, intro.last_error
    ours = {"<@U_EVIL>", "<@U_BACKUP>", "<@U_AE>", f"<#{intro.channel_id}>"}
    assert_inert(prospect_visible(fake, intro.channel_id), ours)
    dms = fake.dm_messages("U_EVIL") + fake.dm_messages("U_AE")
    assert_inert(json.dumps([m.get("blocks") for m in dms]), ours)
    assert re.fullmatch(r"[a-z0-9_][a-z0-9_-]{0,79}", fake.channels[intro.channel_id].name)
    send_generic(bot, {"deal_id": "D-1", "stage": hostile[:100]})  # shown in status and history
    time.sleep(0.3)
    _, answer = bot.command("status D-1")
    assert_inert(json.dumps(answer), ours)


def test_canaries_never_reach_the_prospect(webhook_bot, fake):
    bot = webhook_bot
    make_member(bot.engine)
    make_deal(bot.engine, "D-1", company="", watched=True)
    event = {"deal_id": "D-1", "stage": "Contract Sent", "company": "Acme", "amount": 13371337,
             "notes": "CANARY-NOTES-42", "secret_discount": "CANARY-CUSTOM-7",
             "contacts": ["cto@acme.example"]}  # fmt: skip
    send_generic(bot, event)
    [intro] = bot.wait_idle_for_one()
    visible = prospect_visible(fake, intro.channel_id)
    for canary in ("13371337", "13,371,337", "CANARY-NOTES-42", "CANARY-CUSTOM-7", "contractsent",
                   "Contract Sent"):  # fmt: skip
        assert canary not in visible
    brief = json.dumps(fake.dm_messages("U_ENG"))
    assert "13,371,337" in brief and "CANARY-NOTES-42" in brief
