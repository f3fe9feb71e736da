"""`careintro import FILE.csv`: our CSV, a HubSpot deal export and a Salesforce
Opportunity report (tests/data/), their notes and watched columns kept, all or nothing
(a bad row: its line, exit code 2, one line), and an imported watched pre-close deal
introduced by the worker with its notes in the engineer's brief."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.crm.csv_values import amount_text, read_date
from bot.crm.records import RecordError
from bot.emulator.salesforce.ids import to18
from bot.models import Contact, CrmEvent, Deal, Introduction, IntroStatus
from tests.factories import make_deal, make_member

DATA = Path(__file__).resolve().parent.parent / "data"
OURS = (
    "deal_id,company,stage,amount,close_date,owner_email,engineer_email,contacts,notes,watched\n"
    "D-1,Acme,Contract Sent,48000,2026-12-15,alex@ours.example,,cto@acme.example;ops@acme.example"
    ",Promised SSO,yes\n"
    'D-4,Umbrella,Qualified,"1,500.50",2026-11-30,,,,,\n'
)


def run_import(path: Path, db_url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = os.environ | {"DATABASE_URL": db_url, "CAREINTRO_ENV_FILE": os.devnull} | env
    return subprocess.run([sys.executable, "-m", "bot", "import", str(path), *args], env=environ,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def deals_and_contacts(engine) -> tuple[dict[str, Deal], dict[str, list[Contact]]]:
    with Session(engine) as session:
        deals = {d.crm_id: d for d in session.exec(select(Deal))}
        contacts: dict[str, list[Contact]] = {}
        for contact in session.exec(select(Contact).order_by(Contact.id)):
            crm_id = next(k for k, d in deals.items() if d.id == contact.deal_id)
            contacts.setdefault(crm_id, []).append(contact)
        return deals, contacts


def test_our_csv_keeps_notes_and_watched(tmp_path, db_url, engine):
    path = tmp_path / "deals.csv"
    path.write_text(OURS)
    result = run_import(path, db_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("CareIntro CSV: 2 deals imported (2 new, 0 updated); "
                             "1 watched, 1 will be introduced\n")  # fmt: skip
    deals, contacts = deals_and_contacts(engine)
    assert deals["D-1"].notes == "Promised SSO" and deals["D-1"].watched
    assert deals["D-1"].owner_email == "alex@ours.example"  # the worker matches it to the AE
    assert not deals["D-4"].watched and deals["D-4"].amount == Decimal("1500.50")
    assert [c.email for c in contacts["D-1"]] == ["cto@acme.example", "ops@acme.example"]
    again = run_import(path, db_url)  # the same file again: the same deals, no second intro
    assert "2 deals imported (0 new, 2 updated)" in again.stdout
    assert "0 will be introduced, 1 introduced or under way already" in again.stdout
    with Session(engine) as session:
        assert len(session.exec(select(Introduction)).all()) == 1


def test_a_hubspot_deal_export(tmp_path, db_url, engine):
    result = run_import(DATA / "hubspot-deals.csv", db_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("HubSpot deal export: 3 deals imported (3 new, 0 updated); "
                             "2 watched, 2 will be introduced\n")  # fmt: skip
    deals, contacts = deals_and_contacts(engine)
    acme, globex, initech = (deals[f"1834120710{n}"] for n in (1, 2, 3))
    assert (acme.company, acme.stage, acme.amount) == ("Acme Corp", "contractsent", 48000)
    assert str(acme.close_date) == "2026-12-15" and acme.watched and acme.source == "csv"
    assert acme.notes.startswith("Promised SSO by January") and "\nCall them" in acme.notes
    assert acme.owner_email is None  # HubSpot exports the owner's name, not an email
    people = [(c.email, c.first_name, c.last_name, c.crm_contact_id) for c in contacts[acme.crm_id]]
    assert people == [("cto@acme.example", "Ada", "Lovelace", "7010001"),
                      (None, "Bob", "Nomail", "7010002")]  # fmt: skip
    assert globex.company == "Globex - Pilot"  # no company: the deal's name, as the connector
    assert globex.amount == Decimal("12500.50") and not globex.watched
    assert initech.stage == "decisionmakerboughtin" and initech.watched


def test_a_salesforce_opportunity_report(tmp_path, db_url, engine):
    result = run_import(DATA / "salesforce-opportunities.csv", db_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("Salesforce Opportunity report: 2 deals imported (2 new, 0 updated);"
                             " 1 watched, 1 will be introduced\n")  # fmt: skip
    deals, contacts = deals_and_contacts(engine)
    umbrella = deals[to18("0065g00000AbCdE")]  # the id the API (and the connector) uses
    assert umbrella.crm_id == "0065g00000AbCdEAAV"
    assert (umbrella.company, umbrella.stage, umbrella.amount) == (
        "Umbrella Corp", "negotiationreview", Decimal("96000.00"))  # fmt: skip
    assert str(umbrella.close_date) == "2026-12-15" and umbrella.probability == 0.9
    assert umbrella.owner_email == "alex@ours.example" and umbrella.watched
    assert umbrella.notes == "Promised a 30-minute first response in the contract."
    roles = [(c.email, c.first_name, c.crm_contact_id) for c in contacts[umbrella.crm_id]]
    assert roles == [("uma@umbrella.example", "Uma", to18("0035g00000XyZaB")),
                     ("ops@umbrella.example", "Otto", to18("0035g00000XyZaC"))]  # fmt: skip
    hooli = deals[to18("0065g00000AbCdF")]
    assert not hooli.watched and str(hooli.close_date) == "2027-01-31"
    assert hooli.crm_id not in contacts  # the footer after the blank line is not a deal


def test_excel_semicolons_bom_and_european_numbers(tmp_path, db_url, engine):
    path = tmp_path / "deals.csv"
    path.write_bytes(
        "\ufeffDeal ID;Company;Stage;Amount;Close Date;Watched\r\n"
        "D-9;Société Générale;Proposal/Price Quote;48.000,00 €;15.12.2026;1\r\n".encode()
    )
    result = run_import(path, db_url)
    assert result.returncode == 0, result.stderr
    assert "CareIntro CSV: 1 deal imported (1 new, 0 updated); 1 watched" in result.stdout
    deal = deals_and_contacts(engine)[0]["D-9"]
    assert (deal.company, deal.amount, str(deal.close_date)) == (
        "Société Générale", Decimal("48000.00"), "2026-12-15")  # fmt: skip


DATE_REASON = "close_date: must be a date: YYYY-MM-DD, MM/DD/YYYY or DD.MM.YYYY"
BAD_CELLS = [
    ("watched", "maybe", "watched: must be yes, no, true, false, 1 or 0, not 'maybe'"),
    ("amount", "lots", "amount: must be a number such as 48000, 48,000.00 or $48,000.00"),
    ("close_date", "15/12/2026", f"{DATE_REASON}, not '15/12/2026'"),
    ("contacts", "bad@", "contacts: 'bad@' is not a valid email"),
    ("owner_email", "alex", "owner_email: not a valid email"),
]


@pytest.mark.parametrize(("column", "value", "reason"), BAD_CELLS)
def test_a_bad_row_imports_nothing(tmp_path, db_url, engine, column, value, reason):
    make_deal(engine, "D-1", company="Before")
    path = tmp_path / "deals.csv"
    columns = ["deal_id", "company", "stage", column]
    lines = [",".join(columns), "D-1,Acme,Contract Sent,", "D-2,Globex,Appointment,",
             f"D-3,Initech,Qualified,{value}"]  # fmt: skip
    lines[1] += {"watched": "yes", "amount": "1", "close_date": "2026-12-15"}.get(column, "")
    path.write_text("\n".join(lines) + "\n")
    result = run_import(path, db_url)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"careintro: {path} line 4: {reason}"), result.stderr
    assert result.stderr.endswith("; nothing imported\n") and result.stderr.count("\n") == 1
    deals, _ = deals_and_contacts(engine)
    assert set(deals) == {"D-1"} and deals["D-1"].company == "Before"  # line 2 not applied


def test_files_that_cannot_be_imported(tmp_path, db_url):
    def fails(path: Path, *args: str) -> str:
        result = run_import(path, db_url, *args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        return result.stderr

    assert "cannot read" in fails(tmp_path / "nope.csv")
    headerless = tmp_path / "x.csv"
    headerless.write_text("a,b\n1,2\n")
    assert "at least deal_id" in fails(headerless)
    no_id = tmp_path / "report.csv"
    no_id.write_text('"Opportunity Name","Stage"\n"Umbrella","Closed Won"\n')
    assert "Salesforce Opportunity report but has no Opportunity ID column" in fails(no_id)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"deal_id,company\nD-1,Acme\nD-2,Soci\xe9t\xe9\n")
    assert f"{latin} line 3: not UTF-8 text" in fails(latin)
    clash = tmp_path / "clash.csv"
    clash.write_text("deal_id,stage\nD-1,Qualified\nD-1,Closed Won\n")
    assert "line 3: deal D-1 is also on line 2 with another stage" in fails(clash)
    hubspot = tmp_path / "hubspot.csv"  # its first deal's notes take two lines (2 and 3)
    hubspot.write_text((DATA / "hubspot-deals.csv").read_text("utf-8-sig").replace("TRUE", "maybe"))
    assert f"{hubspot} line 5: watched: must be yes" in fails(hubspot)
    day_first = tmp_path / "uk.csv"
    day_first.write_text("deal_id,close_date\nD-1,15/12/2026\n")
    assert run_import(day_first, db_url, "--day-first").returncode == 0


def test_a_row_that_starts_watching_a_deal_already_at_a_preclose_stage(tmp_path, db_url, engine):
    make_deal(engine, "D-1", stage="contractsent", stage_label="Contract Sent")
    path = tmp_path / "deals.csv"
    path.write_text("deal_id,stage,watched\nD-1,Contract Sent,yes\n")
    result = run_import(path, db_url)
    assert "1 watched, 1 will be introduced" in result.stdout, result.stderr
    with Session(engine) as session:
        [intro] = session.exec(select(Introduction)).all()
        assert intro.status == IntroStatus.PENDING


def test_with_auto_watch_all_every_deal_is_watched(tmp_path, db_url):
    path = tmp_path / "deals.csv"
    path.write_text(OURS)
    result = run_import(path, db_url, CARE_AUTO_WATCH="all")
    assert "2 watched (CARE_AUTO_WATCH=all), 1 will be introduced" in result.stdout, result.stderr


@pytest.mark.parametrize("name", ["hubspot-deals.csv", "salesforce-opportunities.csv"])
def test_an_imported_watched_deal_is_introduced_with_its_notes(tmp_path, bot, fake, db_url, name):
    make_member(bot.engine)
    path = tmp_path / name
    shutil.copy(DATA / name, path)
    result = run_import(path, db_url)
    assert result.returncode == 0, result.stderr
    intros = bot.wait_idle_for_one()
    assert intros and all(i.status == IntroStatus.DONE for i in intros), intros
    brief = json.dumps(fake.dm_messages("U_ENG"))
    assert "Promised" in brief  # the notes column, in the engineer's handoff brief
    if name.startswith("salesforce"):  # Owner Email is matched to the AE, who is told
        assert "Umbrella Corp" in json.dumps(fake.dm_messages("U_AE"))
        invited = sorted(c.args["emails"] for c in fake.calls_to("conversations.inviteShared"))
        assert invited == ["uma@umbrella.example"]  # one pending invitation at a time
        hooli = wait_for_ae(bot.engine, to18("0065g00000AbCdF"))  # not introduced, not watched
        assert hooli == "U_AE"  # the worker matched its owner: it is in the AE's status
        _, answer = bot.command("status", user="U_AE")
        assert "Hooli" in json.dumps(answer)
    else:
        assert "Bob Nomail" in brief  # listed, never invited


def wait_for_ae(engine, crm_id: str, timeout: float = 15) -> str | None:
    """The deal's AE once the worker has applied every stored CRM event."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as session:
            if all(e.processed_at for e in session.exec(select(CrmEvent))):
                return session.exec(select(Deal).where(Deal.crm_id == crm_id)).one().ae_user_id
        time.sleep(0.05)
    raise AssertionError("the worker did not apply the import's events")


@pytest.mark.parametrize(("text", "amount"), [
    ("48000", "48000"), ("$48,000.00", "48000.00"), ("48.000,00 €", "48000.00"),
    ("USD 1 500", "1500"), ("1,234,567.89", "1234567.89"), ("48,000", "48000"),
    ("48.000", "48000"), ("1,5", "1.5"), ("99.90", "99.90"), ("-250", "-250"),
])  # fmt: skip
def test_amounts_as_exports_write_them(text, amount):
    assert amount_text(text) == amount


@pytest.mark.parametrize("text", ["lots", "1,23,4", "$", "12.34.5", "4 8 0 0 0 x"])
def test_amounts_that_are_refused(text):
    with pytest.raises(RecordError, match="amount: must be a number"):
        amount_text(text)


@pytest.mark.parametrize(("text", "day_first", "iso"), [
    ("2026-12-15", False, "2026-12-15"), ("2026-12-15 00:00", False, "2026-12-15"),
    ("2026-12-15T08:00:00.000Z", False, "2026-12-15"), ("12/15/2026", False, "2026-12-15"),
    ("1/5/2027", False, "2027-01-05"), ("1/5/2027", True, "2027-05-01"),
    ("15.12.2026", False, "2026-12-15"),
])  # fmt: skip
def test_dates_as_exports_write_them(text, day_first, iso):
    assert read_date(text, day_first=day_first).isoformat() == iso


def test_a_watched_deal_without_a_company_waits_for_one(tmp_path, db_url):
    path = tmp_path / "deals.csv"
    path.write_text("deal_id,stage,watched\nD-1,Contract Sent,yes\nD-2,Contract Sent,yes\n")
    result = run_import(path, db_url)
    assert result.stdout.endswith("2 watched, 0 will be introduced, 2 wait for a company name\n")
