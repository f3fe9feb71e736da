"""Stage rules, one set for every source: by label or CRM id, the CRM's won/lost, the
win probability, and the behaviours kept (late on won, lost cancels, backward is nothing)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import Session, select

from bot.cli.csv_import import import_csv
from bot.crm.records import DealRecord
from bot.flows import stage_kinds, stages
from bot.flows.crm_news import apply_record
from bot.models import Deal, Introduction, IntroStatus, StageChange
from bot.store.deals import get_deal, upsert_deal
from tests.crm.conftest import CRM_SECRET, send_generic
from tests.factories import make_deal, make_member

CUSTOM_PIPELINE = "75e28846-ad0d-4be2-a027-5e1da6590b98"  # the fake's "Enterprise" pipeline


def hubspot(stage: str, stage_id: str, status: str = "open", probability: float | None = None,
            crm_id: str = "9001") -> DealRecord:  # fmt: skip
    """A deal as a HubSpot connector reads it: label, numeric id, closed flag, probability."""
    return DealRecord(crm_id=crm_id, stage=stage, stage_id=stage_id, pipeline=CUSTOM_PIPELINE,
                      stage_status=status, probability=probability, company="Acme Corp",
                      source="hubspot")  # fmt: skip


def watched_deal(session: Session, crm_id: str = "9001") -> Deal:
    deal = upsert_deal(session, crm_id=crm_id, company="Acme Corp", watched=True)
    session.commit()
    return deal


def intro_of(session: Session, crm_id: str = "9001") -> Introduction | None:
    deal = get_deal(session, crm_id=crm_id)
    assert deal is not None
    return session.exec(select(Introduction).where(Introduction.deal_id == deal.id)).first()


def test_a_custom_pipelines_numeric_stage_labelled_contract_sent_is_preclose(session, settings):
    watched_deal(session)
    record = hubspot("Contract Sent", "137498562", probability=0.9)
    assert apply_record(session, record=record, source="hubspot", settings=settings) == 1
    deal = get_deal(session, crm_id="9001")
    assert (deal.stage, deal.stage_label, deal.stage_id, deal.pipeline) == (
        "contractsent", "Contract Sent", "137498562", CUSTOM_PIPELINE)  # fmt: skip
    assert (deal.stage_status, deal.probability, deal.source) == ("open", 0.9, "hubspot")
    assert intro_of(session).status == IntroStatus.PENDING


def test_a_stage_matched_by_its_crm_id_alone_is_preclose(session, settings):
    watched_deal(session)
    custom = replace(settings, preclose_stages=frozenset({"137498562"}))
    record = hubspot("Signature", "137498562")  # a label no setting names
    assert apply_record(session, record=record, source="hubspot", settings=custom) == 1
    assert intro_of(session) is not None


@pytest.mark.parametrize(
    ("threshold", "probability", "introduced"),
    [(0.8, 0.8, True), (0.8, 0.5, False), (None, 0.99, False)],
)
def test_an_open_stage_likely_enough_to_win_is_preclose(
    session, settings, threshold, probability, introduced
):
    watched_deal(session)
    rules = replace(settings, preclose_probability=threshold)
    record = hubspot("Proposal", "137498561", probability=probability)
    apply_record(session, record=record, source="hubspot", settings=rules)
    assert (intro_of(session) is not None) is introduced


def test_a_closed_stage_is_not_preclose_whatever_its_probability(session, settings):
    """HubSpot's closed Won stage has probability 1.0: it is won (late), by the CRM's word."""
    watched_deal(session)
    rules = replace(settings, preclose_probability=0.8)
    record = hubspot("Won", "137498563", status="won", probability=1.0)
    assert apply_record(session, record=record, source="hubspot", settings=rules) == 1
    assert intro_of(session).late


def test_the_crms_won_and_lost_win_over_the_stage_names(session, settings):
    watched_deal(session)
    apply_record(session, record=hubspot("Contract Sent", "137498562"), source="hubspot",
                 settings=settings)  # fmt: skip
    lost = hubspot("Lost", "137498564", status="lost", probability=0.0)  # not "closedlost"
    apply_record(session, record=lost, source="hubspot", settings=settings)
    assert intro_of(session).status == IntroStatus.CANCELLED
    # a stage named like a won one, which the CRM says is open, is open
    watched_deal(session, "9002")
    fake_won = hubspot("Closed Won", "137498570", status="open", crm_id="9002")
    assert apply_record(session, record=fake_won, source="hubspot", settings=settings) == 0
    assert intro_of(session, "9002") is None


def test_without_the_crms_word_the_names_decide_won_and_lost(session, settings):
    watched_deal(session)
    record = DealRecord(crm_id="9001", stage="Closed Won")
    assert apply_record(session, record=record, source="webhook", settings=settings) == 1
    assert intro_of(session).late


def test_moving_back_from_preclose_changes_nothing_and_the_rank_uses_the_crm_facts(
    session, settings
):
    watched_deal(session)
    rules = replace(settings, preclose_probability=0.8)
    apply_record(session, record=hubspot("Proposal", "137498561", probability=0.85),
                 source="hubspot", settings=rules)  # fmt: skip
    intro = intro_of(session)
    intro.status = IntroStatus.CANCELLED  # so a new forward move would queue it again
    session.commit()
    back = hubspot("Discovery", "137498560", probability=0.1)
    assert apply_record(session, record=back, source="hubspot", settings=rules) == 0
    change = session.exec(select(StageChange).order_by(StageChange.id.desc())).first()
    assert change.effect == "Moving back changes nothing."
    assert intro_of(session).status == IntroStatus.CANCELLED


def test_the_same_stage_again_changes_nothing(session, settings):
    watched_deal(session)
    record = hubspot("Contract Sent", "137498562")
    apply_record(session, record=record, source="hubspot", settings=settings)
    assert apply_record(session, record=record, source="hubspot", settings=settings) == 0
    assert len(session.exec(select(StageChange)).all()) == 1


def test_rank_orders_open_preclose_and_closed(settings):
    assert stage_kinds.rank("appointmentscheduled", settings) == 0
    assert stage_kinds.rank("contractsent", settings) == 1
    assert stage_kinds.rank("closedwon", settings) == stage_kinds.rank("closedlost", settings) == 2


def test_a_source_without_crm_facts_clears_them(session, settings):
    """`stage` by hand after a CRM read: the old probability must not decide the new stage."""
    watched_deal(session)
    rules = replace(settings, preclose_probability=0.8)
    apply_record(session, record=hubspot("Won", "137498563", status="won", probability=1.0),
                 source="hubspot", settings=rules)  # fmt: skip
    deal = get_deal(session, crm_id="9001")
    stages.record_stage(session, deal=deal, label="Qualified", source="slash", settings=rules)
    assert (deal.stage_id, deal.stage_status, deal.probability) == ("", "", None)


# The same rule through every source ------------------------------------------------------

NUMERIC = frozenset({"137498562", "contractsent"})


def test_the_numeric_id_rule_through_the_generic_webhook(make_bot, fake):
    bot = make_bot(preclose_stages=NUMERIC, crm_webhook_secret=CRM_SECRET)
    make_member(bot.engine)
    make_deal(bot.engine, "D-42", watched=True)
    status, _ = send_generic(bot, {"deal_id": "D-42", "stage": "137498562"})
    assert status == 200
    [intro] = bot.wait_idle_for_one()
    assert intro.status == IntroStatus.DONE, intro.last_error


def test_the_numeric_id_rule_through_the_csv_import(tmp_path, engine, settings):
    rules = replace(settings, preclose_stages=NUMERIC)
    make_deal(engine, "D-42", watched=True)
    make_deal(engine, "D-43", watched=True)
    path = tmp_path / "deals.csv"
    path.write_text("deal_id,stage\nD-42,137498562\nD-43,Discovery\n")
    report = import_csv(engine, rules, path)
    assert (report.updated, report.introductions["queued"]) == (2, 1)
    with Session(engine) as session:
        assert intro_of(session, "D-42") is not None and intro_of(session, "D-43") is None
        assert get_deal(session, crm_id="D-42").source == "csv"


def test_the_numeric_id_rule_through_stage_by_hand(make_bot, fake):
    bot = make_bot(preclose_stages=NUMERIC)
    make_member(bot.engine)
    bot.command("watch D-9 Initech <@U_ENG>")
    status, answer = bot.command("stage D-9 137498562")
    assert status == 200 and "introduction starts now" in answer["text"]
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.DONE, intro.last_error


def test_probability_never_comes_from_a_source_that_has_none(make_bot, fake):
    """`stage` by hand and the generic webhook give no probability: names only."""
    bot = make_bot(preclose_probability=0.1)
    make_member(bot.engine)
    bot.command("watch D-9 Initech <@U_ENG>")
    _, answer = bot.command("stage D-9 Discovery")
    assert "No introduction is due" in answer["text"]
    assert bot.wait_idle() == []


def test_a_win_the_crm_declares_under_any_name_counts_everywhere(engine, settings):
    """A custom pipeline's "Signed" stage that HubSpot marks closed (probability 1): the
    history records it as won, so the Home's won-deal figures count it and the AE's
    weekly reminder no longer lists it as open."""
    from datetime import timedelta

    from bot.flows.home import team_figures
    from bot.models import utcnow
    from bot.store.reminders import digest_streams

    deal = make_deal(engine, "D-SIGNED", watched=True, registered_by="U_AE")
    with Session(engine, expire_on_commit=False) as session:
        deal = session.get(Deal, deal.id)
        stages.record_stage(session, deal=deal, label="Signed", stage_id="1375", source="hubspot",
                            settings=settings, status="won", probability=1.0)  # fmt: skip
        session.commit()
        (change,) = stages.history_of(session, deal=deal)
        assert (change.to_stage, change.kind) == ("signed", "won")
        figures = team_figures(session, settings=settings, now=utcnow() + timedelta(minutes=1))
        assert figures.won == 1
        aes = [row.crm_id for row in digest_streams(session, settings=settings).deals]
        assert "D-SIGNED" not in aes
