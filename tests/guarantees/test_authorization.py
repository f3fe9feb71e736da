"""Who may do what: our workspace only; the roster only for CARE_ADMINS when set."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.models import CareMember, Deal
from tests.listeners.test_modal import submission


def test_command_from_another_workspace_is_refused(bot, fake):
    status, answer = bot.command("now D-1 Acme <@U_ENG>", team="T_OTHER")
    assert status == 200
    assert "not installed for your workspace" in answer["text"]
    with Session(bot.engine) as session:
        assert session.exec(select(Deal)).all() == []


def test_interaction_from_another_workspace_is_refused(bot, fake):
    payload = submission({})
    payload["team"] = {"id": "T_OTHER"}
    status, _ = bot.interact(payload)
    assert status == 403
    assert bot.wait_idle() == []


def test_roster_changes_are_limited_to_admins_when_set(make_bot, fake):
    bot = make_bot(admins=frozenset({"U_ADMIN"}))
    _, answer = bot.command("team add <@U_ENG>", user="U_AE")
    assert "Only care admins" in answer["text"]
    _, answer = bot.command("team add <@U_ENG> backup <@U_BACKUP>", user="U_ADMIN")
    assert "joined the care roster" in answer["text"]
    _, answer = bot.command("team remove <@U_ENG>", user="U_AE")
    assert "Only care admins" in answer["text"]
    with Session(bot.engine) as session:
        [member] = session.exec(select(CareMember)).all()
        assert member.active and member.backup_user_id == "U_BACKUP"
    _, answer = bot.command("team list", user="U_AE")  # reading is for everyone
    assert "<@U_ENG>" in answer["text"] or "U_ENG" in str(answer)


def test_anyone_manages_the_roster_when_no_admins_are_set(bot, fake):
    _, answer = bot.command("team add <@U_ENG>", user="U_AE")
    assert "joined the care roster" in answer["text"]
