"""`careintro preview`: each template with the data the bot gives it, a stored deal's own
channel and contacts, and a reader that stops early (`| head`) ends it quietly."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlmodel import Session

from bot.models import Contact, Introduction, IntroStatus
from tests.factories import make_deal


def preview(*args: str, db_url: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DATABASE_URL": db_url, "CAREINTRO_ENV_FILE": os.devnull}
    return subprocess.run([sys.executable, "-m", "bot", "preview", *args], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_the_brief_lists_the_contacts_emails(tmp_path):
    result = preview("brief", db_url=f"sqlite:///{tmp_path}/x.db")
    assert result.returncode == 0, result.stderr
    assert "*Contacts* cto@acme.example\n" in result.stdout
    assert "deal_id=" not in result.stdout and "InviteState" not in result.stdout


def test_a_stored_deal_shows_its_own_channel_and_contacts(db_url, engine):
    deal = make_deal(engine, "D-77", company="Stored & Co")
    with Session(engine) as session:
        session.add(Introduction(deal_id=deal.id, status=IntroStatus.DONE, channel_id="C0STORED1",
                                 channel_name="care-stored-co", engineer_user_id="U_ENG2",
                                 ae_user_id="U_AE"))  # fmt: skip
        session.add(Contact(deal_id=deal.id, email="buyer@stored.example"))
        session.add(Contact(deal_id=deal.id, email="cfo@stored.example"))
        session.commit()
    brief = preview("brief", "--deal", "D-77", db_url=db_url)
    assert brief.returncode == 0, brief.stderr
    assert "The introduction is live in #care-stored-co." in brief.stdout
    assert "*Contacts* buyer@stored.example, cfo@stored.example\n" in brief.stdout
    assert "acme" not in brief.stdout.lower()  # nothing of the sample deal
    status = preview("status", "--deal", "D-77", db_url=db_url)
    assert "• buyer@stored.example: waiting" in status.stdout, status.stderr
    assert "done in #care-stored-co" in status.stdout and "acme" not in status.stdout.lower()


def test_a_stored_deal_not_yet_introduced_has_no_channel(db_url, engine):
    make_deal(engine, "D-78", company="Fresh Ltd")
    brief = preview("brief", "--deal", "D-78", db_url=db_url)
    assert brief.returncode == 0, brief.stderr
    assert "live in (no channel yet)" in brief.stdout and "*Contacts* none yet" in brief.stdout


def test_a_reader_that_closes_the_pipe_ends_it_without_a_traceback(tmp_path):
    """`careintro preview welcome | head -1`: the pipe closes before the output is written."""
    env = os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
                        "CAREINTRO_ENV_FILE": os.devnull}  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "bot", "preview", "welcome"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before the interpreter has even started: every write fails
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 1
    assert stderr == ""


def test_head_gets_its_line_and_nothing_is_printed_on_stderr(tmp_path):
    env = os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
                        "CAREINTRO_ENV_FILE": os.devnull}  # fmt: skip
    result = subprocess.run(["sh", "-c", f"{sys.executable} -m bot preview home | head -1"],
                            env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.stdout.startswith("── internal/home.j2") and result.stderr == ""
