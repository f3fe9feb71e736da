"""Wiring for a running process: settings -> engine -> app, worker, web server."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import App
from sqlalchemy import Engine
from waitress.server import create_server

from bot.app import build_app
from bot.config import Settings
from bot.db import make_engine, migrate_if_sqlite
from bot.services import Services
from bot.slack.client import make_client
from bot.tasks import build_worker
from bot.web import create_web_app
from bot.worker import Worker

log = logging.getLogger(__name__)
SOCKET_CLOSE_SECONDS = 5.0


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    worker: Worker | None
    bolt: App
    services: Services
    socket_mode: bool = False  # Slack's requests come over Socket Mode, not /slack/events


def build_runtime(
    settings: Settings,
    *,
    with_worker: bool,
    socket_mode: bool = False,
    crm_time_scale: float = 1.0,
) -> Runtime:
    """The app of one process; `crm_time_scale`: see `bot.tasks.build_worker`."""
    engine = make_engine(settings.database_url)
    migrate_if_sqlite(settings.database_url)
    client = make_client(settings)
    worker = (
        build_worker(engine, settings, client, crm_time_scale=crm_time_scale)
        if with_worker
        else None
    )
    services = Services(
        engine=engine, settings=settings, hand_off=worker.wake if worker else lambda: None
    )
    bolt = build_app(services, client=client, socket_mode=socket_mode)
    return Runtime(settings=settings, engine=engine, worker=worker, bolt=bolt, services=services,
                   socket_mode=socket_mode)  # fmt: skip


class HttpServer:
    """The production WSGI server (waitress) on a thread-pool, bound at construction."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        host: str = "0.0.0.0",  # noqa: S104 (a dyno's server listens on every interface)
        port: int = 3000,
        threads: int = 8,
    ) -> None:
        web = create_web_app(
            runtime.bolt,
            runtime.engine,
            runtime.settings,
            runtime.services.hand_off,
            slack_events=not runtime.socket_mode,
        )
        self.server = create_server(web, host=host, port=port, threads=threads, ident="careintro")
        self.port: int = self.server.effective_port  # type: ignore[union-attr]
        self._thread: threading.Thread | None = None
        self._stopping = False

    def serve_forever(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):
            # `stop()` closes the sockets under the poll loop of another thread; the
            # loop may then trip over a closed descriptor on its way out.
            if not self._stopping:
                raise

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, name="careintro-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self.server.close()


def close_within(close: Callable[[], None], seconds: float) -> None:
    """Run `close` for at most `seconds`. slack_sdk's Socket Mode `close()` waits for the
    lock its receiving thread keeps taking, and joins threads with no timeout: a SIGTERM
    must not wait on that (the process exits anyway; the socket dies with it)."""
    closing = threading.Thread(target=close, name="careintro-socket-close", daemon=True)
    closing.start()
    closing.join(seconds)
    if closing.is_alive():
        log.warning("Socket Mode did not close within %s s; exiting without it", seconds)
