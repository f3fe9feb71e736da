"""Command line: `python -m bot …`, also installed as `careintro …`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading

from dotenv import load_dotenv

from bot.config import ConfigError, Settings
from bot.logs import configure_logging


def main(argv: list[str] | None = None) -> int:
    """Run one command. A reader that closes the pipe early (`careintro preview … | head`)
    ends it quietly, as Python's note on SIGPIPE advises, instead of with a traceback."""
    try:
        code = _main(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at devnull so that fails no more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return code


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="careintro", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="HTTP server (and the worker, unless --no-worker)")
    serve.add_argument("--port", type=int, default=None, help="default: $PORT or 3000")
    serve.add_argument("--socket", action="store_true", help="Socket Mode (needs SLACK_APP_TOKEN)")
    serve.add_argument("--no-worker", action="store_true", help="run the worker as its own process")
    serve.add_argument(
        "--threads",
        type=_positive,
        default=8,
        help="request threads (default 8); acks are CPU-bound, see bench/README.md",
    )
    commands.add_parser("worker", help="the background worker alone")
    commands.add_parser("migrate", help="apply database migrations")
    preview = commands.add_parser(
        "preview", help="print a template rendered with a sample or stored deal"
    )
    preview.add_argument("template", help="e.g. external/welcome.j2 or welcome")
    preview.add_argument("--deal", help="a stored deal's id")
    commands.add_parser("sandbox", help="run the whole bot against a local Slack emulator")
    remind = commands.add_parser("remind", help="send this week's reminder DMs now")
    remind.add_argument(
        "--dry-run", action="store_true", help="print them instead; send and record nothing"
    )
    importer = commands.add_parser("import", help="upsert deals from a CSV export")
    importer.add_argument(
        "file", help="our CSV (deal_id, …), a HubSpot deal export or a Salesforce report"
    )
    importer.add_argument(
        "--day-first", action="store_true", help="dates like 15/12/2026 are day/month/year"
    )
    args = parser.parse_args(argv)

    load_dotenv(os.environ.get("CAREINTRO_ENV_FILE", ".env"))
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    try:
        if args.command == "sandbox":
            from bot.sandbox import run_sandbox

            return run_sandbox()
        settings = Settings.from_env()
        secrets = (
            settings.slack_signing_secret,
            settings.crm_webhook_secret,
            settings.hubspot_client_secret,
        )
        configure_logging(secrets=secrets)
        return _run(args, settings)
    except ConfigError as exc:
        print(f"careintro: {exc}", file=sys.stderr)
        return 2


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {value!r}")
    return number


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.checks import check_database, check_slack_token

    if args.command == "migrate":
        return _migrate(settings)
    if args.command == "remind":
        from bot.cli.remind import remind_now

        if not args.dry_run:
            settings.require("worker")
        check_database(settings.database_url)
        print("\n".join(remind_now(settings, dry_run=args.dry_run)))
        return 0
    if args.command == "preview":
        from bot.preview import preview

        if args.deal:
            check_database(settings.database_url)
        return preview(settings, args.template, deal_id=args.deal)
    if args.command == "import":
        check_database(settings.database_url)
        return _import(settings, args.file, day_first=args.day_first)
    if args.command == "worker":
        from bot.runtime import build_runtime

        settings.require("worker")
        check_database(settings.database_url)
        check_slack_token(settings)
        runtime = build_runtime(settings, with_worker=True)
        assert runtime.worker is not None
        runtime.worker.run_all()
        return 0
    return _serve(args, settings)


def _migrate(settings: Settings) -> int:
    from bot.cli.checks import check_database
    from bot.db import migrate
    from bot.templating import terminal_phrase

    check_database(settings.database_url, need_head=False)
    done = migrate(settings.database_url)
    if done.applied:
        print(terminal_phrase("cli.migrate.applied", before=done.before, after=done.after))
    else:
        print(terminal_phrase("cli.migrate.nothing", at=done.after))
    return 0


def _import(settings: Settings, file: str, *, day_first: bool) -> int:
    """All or nothing: a bad file or row is one line and exit code 2, nothing imported."""
    from pathlib import Path

    from sqlalchemy.exc import SQLAlchemyError

    from bot.cli.csv_import import CsvReadError, import_csv
    from bot.db import make_engine, migrate_if_sqlite
    from bot.templating import terminal_phrase

    migrate_if_sqlite(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        report = import_csv(engine, settings, Path(file), day_first=day_first)
    except CsvReadError as exc:
        print(f"careintro: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        reason = str(exc.orig if getattr(exc, "orig", None) else exc).splitlines()[0]
        print(f"careintro: {terminal_phrase('cli.import.db_failed', reason=reason)}",
              file=sys.stderr)  # fmt: skip
        return 2
    finally:
        engine.dispose()
    print(report.summary(settings))
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    """Every check (settings, database, token, port, Socket Mode) before a worker thread
    starts, so that a failed start leaves nothing half-running. In Socket Mode the HTTP
    server still answers /healthz and the CRM webhooks."""
    from bot.cli.checks import check_database, check_slack_token, open_socket_mode, port_error
    from bot.runtime import SOCKET_CLOSE_SECONDS, HttpServer, build_runtime, close_within
    from bot.worker import STOP_GRACE_SECONDS, stop_on_signals

    settings.require("socket" if args.socket else "http")
    check_database(settings.database_url)
    check_slack_token(settings)
    runtime = build_runtime(settings, with_worker=not args.no_worker, socket_mode=args.socket)
    port = args.port or settings.port
    try:
        server = HttpServer(runtime, port=port, threads=args.threads)
    except OSError as exc:
        raise port_error(exc, port) from None
    socket = None
    if args.socket:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        socket = SocketModeHandler(runtime.bolt, settings.slack_app_token)
        socket.client.wss_uri = open_socket_mode(settings, runtime.bolt.client)
    worker = runtime.worker
    if worker:
        worker.start()

    def stop() -> None:
        """SIGTERM: Socket Mode closes first (no envelope is acked after), introductions
        are handed back between steps; SystemExit then ends Socket Mode's wait, or
        waitress's loop, which gives the requests under way up to 5 s, and the process."""
        if socket is not None:
            close_within(socket.close, SOCKET_CLOSE_SECONDS)  # no new envelopes acked
        if worker:
            worker.stop(timeout=STOP_GRACE_SECONDS)
        if socket is not None:
            server.stop()
        raise SystemExit(0)

    stop_on_signals(stop)
    logging.getLogger("bot").info("serving on port %s", server.port)
    if socket is not None:
        server.start()
        socket.connect()
        # Not Bolt's `start()`, whose wait never wakes: a SIGTERM the kernel hands to
        # another thread would only run its Python handler once the main thread runs
        # again. Waking each second runs it within one.
        idle = threading.Event()
        while not idle.wait(1.0):
            pass
        return 0
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
