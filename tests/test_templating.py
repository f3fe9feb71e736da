"""Templates: escaping of every value, and what prospect-facing ones can see."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from bot.models import Deal
from bot.templating import (
    ExternalContext,
    PublicProfile,
    environment,
    render_external,
    render_external_text,
    render_internal,
)

HOSTILE = "<!channel> <https://evil.example|x> <@U999>"
ENG = PublicProfile("U_ENG", "Erin <b>", "Engineer & friend", "https://img.example/e.png")


def context(company: str = "Acme") -> ExternalContext:
    return ExternalContext(
        company=company, engineer=ENG, ae=PublicProfile("U_AE", "Alex"), response_minutes=30
    )


def test_external_values_are_escaped():
    message = render_external("external/welcome.j2", context(HOSTILE))
    dumped = json.dumps(message.blocks) + message.text
    assert "<!channel>" not in dumped and "<https://evil" not in dumped and "<@U999>" not in dumped
    assert "&lt;!channel&gt;" in dumped
    assert "Erin &lt;b&gt;" in dumped and "Engineer &amp; friend" in dumped
    assert "<@U_ENG>" in dumped  # mentions we build are real mentions


def test_topic_fits_slack_limit():
    topic = render_external_text("external/topic.j2", context("x" * 400), limit=250)
    assert len(topic) <= 250


def test_external_templates_refuse_internal_data():
    deal = Deal(crm_id="D-1", amount=Decimal(5), notes="secret")
    with pytest.raises(ValueError, match="ExternalContext"):
        render_external("external/welcome.j2", {"deal": deal})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="external template"):
        render_external("internal/brief.j2", context())


def test_external_templates_only_reference_public_fields():
    """No external template names a variable outside ExternalContext."""
    from jinja2 import meta

    env = environment()
    allowed = set(ExternalContext.__dataclass_fields__)
    for name in env.list_templates(extensions=["j2"]):
        if name.startswith("external/"):
            source = env.loader.get_source(env, name)[0]
            assert meta.find_undeclared_variables(env.parse(source)) <= allowed, name


def test_brief_carries_the_internal_facts():
    deal = Deal(
        crm_id="D-1",
        company="A&B",
        amount=Decimal("1234.5"),
        notes="<!here> promised",
        close_date=date(2030, 1, 2),
        stage_label="Contract Sent",
    )
    message = render_internal(
        "internal/brief.j2",
        deal=deal,
        channel_id="C1",
        contacts=["a@b.example"],
        ae_user_id="U_AE",
        backup_user_id=None,
        response_minutes=30,
    )
    dumped = json.dumps(message.blocks)
    assert "1,234.50" in dumped and "&lt;!here&gt; promised" in dumped and "A&amp;B" in dumped


@pytest.mark.parametrize(
    "source",
    [
        "{{ deal.__class__ }}",
        "{{ deal._sa_instance_state }}",
        "{{ rows.append(1) }}",
        "{{ (rows.append) }}",
        "{{ fn.__code__ }}",
    ],
)
def test_the_sandbox_still_refuses_internals(source: str) -> None:
    """The per-type cache of the sandbox's attribute rule must not open anything up,
    whether the attribute is first seen as unsafe or after safe ones of the same type."""
    from jinja2.exceptions import SecurityError, UndefinedError

    from bot.templating import environment

    context = {"deal": Deal(crm_id="D-1", company="Acme"), "rows": [], "fn": len}
    env = environment()
    assert env.from_string("{{ deal.company }} {{ rows | length }}").render(**context)
    with pytest.raises((SecurityError, UndefinedError)):
        env.from_string(source).render(**context)
    with pytest.raises((SecurityError, UndefinedError)):  # and again, from the cache
        env.from_string(source).render(**context)


def test_blocks_round_trip_through_slack_sdk_models() -> None:
    """Blocks are built as dicts for speed; slack_sdk's models must read each one back
    unchanged (its validation: types, lengths, required fields). Every template, with
    `careintro preview`'s sample data (so preview works for each of them, too)."""
    from slack_sdk.models.blocks import Block

    from bot.config import Settings
    from bot.preview import render, sample_facts

    for name in environment().list_templates(extensions=["j2"]):
        message = render(name, sample_facts(), Settings())
        for block in message.blocks:
            assert Block.parse(block).to_dict() == block, (name, block)
    welcome = render_external("external/welcome.j2", context())
    assert welcome.blocks[0]["accessory"]["type"] == "image"
    assert Block.parse(welcome.blocks[0]).to_dict() == welcome.blocks[0]
