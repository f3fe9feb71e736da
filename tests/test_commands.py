"""The `/introduce-care` grammar."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import slash_grammar as c
from bot.exceptions import USAGE, UsageError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", c.OpenModal()),
        ("   ", c.OpenModal()),
        ("help", c.Help()),
        ("HELP", c.Help()),
        (
            "now D-1 Acme Corp <@U_ENG> cto@acme.example",
            c.Introduce("now", "D-1", "Acme Corp", "U_ENG", ("cto@acme.example",)),
        ),
        (
            "watch D-2 <@U123|erin> Globex <mailto:Ops@Globex.example|Ops@Globex.example> Inc",
            c.Introduce("watch", "D-2", "Globex Inc", "U123", ("ops@globex.example",)),
        ),
        ("now D-3 a@b.example a@b.example", c.Introduce("now", "D-3", "", None, ("a@b.example",))),
        ("stage D-9 Negotiation/Review", c.SetStage("D-9", "Negotiation/Review")),
        ("status", c.Status(None)),
        ("status D-1", c.Status("D-1")),
        ("unwatch D-1", c.Unwatch("D-1")),
        (
            "invite D-1 CFO@acme.example <mailto:ceo@acme.example|ceo@acme.example> cfo@x.example",
            c.Invite("D-1", ("cfo@acme.example", "ceo@acme.example", "cfo@x.example")),
        ),
        ("team add <@U1>", c.TeamAdd("U1")),
        ("team add <@U1|a> backup <@U2|b>", c.TeamAdd("U1", "U2")),
        ("team remove <@U1>", c.TeamRemove("U1")),
        ("team list", c.TeamList()),
        ("reminders off", c.Reminders(on=False)),
    ],
)
def test_parses(text, expected):
    assert c.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("frobnicate", "I don't know `frobnicate`"),
        ("now", "needs a deal id"),
        ("now D-1 cto@", "not a valid email"),
        ("now D-1 <@U1> <@U2>", "Name one engineer"),
        ("now D-1 @erin", "not a Slack mention"),
        ("now <!channel>", "is not a deal id"),
        ("status D-1 D-2", "at most one deal"),
        ("stage D-1", "Say which stage"),
        ("team add erin", "team add @user"),
        ("team add <@U1> backup <@U1>", "own backup"),
        ("reminders maybe", "reminders on"),
        ("invite", "`invite` needs a deal id"),
        ("invite D-1", "Say whom to invite"),
        ("invite D-1 cfo@", "not a valid email"),
        ("invite D-1 Acme cfo@acme.example", "`Acme` is not a valid email"),
        ("invite D-1 <@U1>", "is not a valid email"),
        ("invite " + "D-1 " + " ".join(f"p{n}@acme.example" for n in range(21)), "At most 20"),
    ],
)
def test_bad_input_gets_a_reason_and_the_usage_line(text, reason):
    with pytest.raises(UsageError) as caught:
        c.parse(text)
    first, usage = str(caught.value).split("\n")
    assert reason in first
    assert usage == USAGE


@given(st.text(max_size=300))
def test_any_text_gives_a_command_or_a_usage_error(text):
    try:
        result: object = c.parse(text)
    except UsageError as exc:
        result = exc
    if isinstance(result, UsageError):
        assert str(result).endswith(USAGE)
        assert result.message and "\n" not in result.message
    else:
        assert isinstance(result, c.Command)


mention = st.from_regex(r"<@U[A-Z0-9]{2,10}(\|[a-z]{1,8})?>", fullmatch=True)
email = st.from_regex(r"[a-z]{1,10}@[a-z]{1,10}\.example", fullmatch=True)
word = st.from_regex(r"[A-Za-z][A-Za-z0-9&.]{0,12}", fullmatch=True)


@given(
    st.lists(
        st.one_of(
            mention.map(lambda m: ("m", m)),
            email.map(lambda e: ("e", e)),
            word.map(lambda w: ("w", w)),
        ),
        max_size=8,
    )
)
def test_arguments_are_recognised_by_form(tokens):
    mentions = {t for kind, t in tokens if kind == "m"}
    if len({c.mention_id(m) for m in mentions}) > 1:
        return
    text = "now D-1 " + " ".join(t for _, t in tokens)
    result = c.parse(text)
    assert isinstance(result, c.Introduce)
    assert result.contacts == tuple(dict.fromkeys(t for kind, t in tokens if kind == "e"))
    assert result.company == " ".join(t for kind, t in tokens if kind == "w")
    assert result.engineer == (c.mention_id(next(iter(mentions))) if mentions else None)


def test_slack_escaped_text_is_kept_as_typed():
    """Slack sends `A&B <x>` as `A&amp;B &lt;x&gt;`; typed `&lt;` arrives as `&amp;lt;`."""
    assert c.parse("now D-1 A&amp;B &lt;x&gt;").company == "A&B <x>"
    assert c.parse("now D-1 &amp;lt;").company == "&lt;"
    assert c.parse("stage D-1 R&amp;D").stage == "R&D"
