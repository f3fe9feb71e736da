"""Helpers for tests that run CareIntro as a real process."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_healthy(process: subprocess.Popen, port: int, timeout: float = 60) -> None:
    """Until `GET /healthz` answers; fails if the process ends or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            assert process.poll() is None, "the app exited at start"
            assert time.monotonic() < deadline, "the app did not answer /healthz"
            time.sleep(0.05)


def logged_worker(env: dict[str, str]) -> tuple[subprocess.Popen[str], list[str]]:
    """`careintro worker` with `env`, and the lines it logs, collected as they come."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", "worker"], env=env, stderr=subprocess.PIPE, text=True
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(worker.stderr or ()), daemon=True).start()
    return worker, lines
