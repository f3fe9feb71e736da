"""Serving a fake on 127.0.0.1: one lifecycle for the Slack, HubSpot and Salesforce fakes."""

from __future__ import annotations

import threading
from socketserver import BaseServer
from types import TracebackType
from typing import Self


class ServedFake:
    """start / stop / `with`: the server runs in a daemon thread on an OS-chosen port."""

    _server: BaseServer | None = None
    _thread: threading.Thread | None = None

    def _make_server(self) -> BaseServer:
        raise NotImplementedError

    def _before_stop(self) -> None:
        """Release whatever could keep a request thread waiting (hung calls)."""

    def start(self) -> Self:
        """Serve in a daemon thread; returns self for chaining. A stopped fake may start
        again (on the same port, if it keeps one: `FakeSlack`)."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError(f"{type(self).__name__} is already started")
        self._server = self._make_server()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"fake-{type(self).__name__.removeprefix('Fake').lower()}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        self._before_stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self if self._server is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _origin(self, scheme: str = "http") -> str:
        """`http://127.0.0.1:PORT` of the running server (`https://` for one behind TLS)."""
        if self._server is None:
            raise RuntimeError(f"call {type(self).__name__}.start() first")
        host, port = self._server.server_address[:2]  # type: ignore[misc]
        return f"{scheme}://{host}:{port}"
