"""`careintro import FILE.csv`: good rows stored, bad rows listed with reasons."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlmodel import Session, select

from bot.models import Contact, Deal, Introduction
from tests.factories import make_deal, make_member

ROWS = [
    "deal_id,company,stage,amount,close_date,owner_email,engineer_email,contacts",
    "D-1,Acme,Contract Sent,48000,2026-12-15,alex@ours.example,,cto@acme.example;ops@acme.example",
    "D-2,Globex,Appointment,not-a-number,,,,",
    "D-3,Initech,Qualified,1200,15/12/2026,,,",
    'D-4,Umbrella,Closed Won,"1,500.50",2026-11-30,,,bad@;ok@umbrella.example',
    ",Nameless,Appointment,,,,,",
]
CSV = "\n".join(ROWS) + "\n"


def run_import(path, db_url, **env):
    environ = os.environ | {"DATABASE_URL": db_url, "CAREINTRO_ENV_FILE": os.devnull} | env
    return subprocess.run([sys.executable, "-m", "bot", "import", str(path)], env=environ,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_good_rows_stored_bad_rows_listed(tmp_path, db_url, engine):
    make_member(engine)
    make_deal(engine, "D-1", company="", watched=True)
    path = tmp_path / "deals.csv"
    path.write_text(CSV)
    result = run_import(path, db_url)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "line 2: D-1 accepted" in out
    assert "line 3: rejected: amount: must be a number" in out
    assert "line 4: rejected: close_date: must be a date (YYYY-MM-DD)" in out
    assert "line 5: D-4 accepted (contacts: 'bad@' is not a valid email)" in out
    assert "line 6: rejected: deal_id: required" in out
    assert "2 rows accepted, 3 rejected, 1 introductions queued" in out
    with Session(engine) as session:
        deals = {d.crm_id: d for d in session.exec(select(Deal))}
        assert set(deals) == {"D-1", "D-4"}
        assert str(deals["D-4"].amount) == "1500.50"
        assert sorted(c.email for c in session.exec(select(Contact))) == [
            "cto@acme.example", "ok@umbrella.example", "ops@acme.example"]  # fmt: skip
        [intro] = session.exec(select(Introduction)).all()  # the watched deal moved to pre-close
        assert intro.deal_id == deals["D-1"].id


def test_unreadable_file_exits_non_zero(tmp_path, db_url):
    missing = run_import(tmp_path / "nope.csv", db_url)
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    headerless = tmp_path / "x.csv"
    headerless.write_text("a,b\n1,2\n")
    result = run_import(headerless, db_url)
    assert result.returncode == 1 and "at least deal_id" in result.stderr
