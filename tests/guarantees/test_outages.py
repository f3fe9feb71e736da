"""A lost database is logged once when it goes and once when it is back, not at every
poll of every thread (~40 tracebacks every 10 s before), and work resumes by itself.

The real worker process talks to PostgreSQL through a TCP relay on a port of ours; the
outage closes the port and drops every connection, then opens it again.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlmodel import Session, select

from bot.models import Introduction, IntroStatus
from tests.conftest import PG_URL
from tests.flows.test_crash_resume import queue_introduction
from tests.processes import free_port, logged_worker
from tests.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL")]
OUTAGE_SECONDS = float(os.environ.get("CARE_TEST_OUTAGE_SECONDS", "20"))


class Relay:
    """127.0.0.1:port → the database's host:port, which `cut` closes and `restore` opens."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, free_port()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()

    def restore(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=True)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            assert self._listener is not None
            self._listener.close()
            for each in self._sockets:  # shut down: a close alone waits for the pump's select
                with contextlib.suppress(OSError):
                    each.shutdown(socket.SHUT_RDWR)
                each.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        try:
            while True:
                for key, _ in selector.select():
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
        except (OSError, ValueError):
            return
        finally:
            a.close()
            b.close()


def through(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_database_outage_is_logged_once_and_work_resumes(settings, fake, engine, db_url):
    parts = urlsplit(db_url)
    relay = Relay((parts.hostname or "127.0.0.1", parts.port or 5432))
    relay.restore()
    env = os.environ | {
        "SLACK_SIGNING_SECRET": "s3cret-signing",
        "SLACK_BOT_TOKEN": settings.slack_bot_token,
        "SLACK_API_URL": settings.slack_api_url,
        "DATABASE_URL": through(db_url, relay.port),
        "CARE_POLL_MS": "200",
        "CAREINTRO_ENV_FILE": os.devnull,
        "LOG_LEVEL": "INFO",
    }
    worker, lines = logged_worker(env)
    try:
        wait_for(lambda: any("started" in line for line in lines))
        time.sleep(1)
        before = len(lines)
        relay.cut()
        time.sleep(OUTAGE_SECONDS)
        relay.restore()
        queue_introduction(engine)  # work queued while it comes back

        def done() -> bool:
            with Session(engine) as session:
                intro = session.exec(select(Introduction)).first()
                return intro is not None and intro.status == IntroStatus.DONE

        wait_for(done, timeout=30, shown=lambda: "".join(lines[before:]))
        wait_for(
            lambda: any("reachable again" in line for line in lines),
            timeout=15,
            shown=lambda: "".join(lines[before:]),
        )
        time.sleep(2)
        during = [line for line in lines[before:] if " intro_id=" not in line]
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    print("".join(during))
    assert len(during) <= 5, "".join(during)
    assert any("database unreachable" in line for line in during)
    assert any("database reachable again" in line for line in during)
    assert not any("Traceback" in line for line in during)
