"""Helpers for tests that drive a real gunicorn (bench.live) against the test database.

Such tests need PostgreSQL (gunicorn is another process: it must see what the test committed, so the
tests are transactional) and are skipped on SQLite, whose test database lives in the test's memory.
"""

import contextlib
import socket
import threading
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection

needs_postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                      reason="a live gunicorn shares the test database (PostgreSQL)")


def test_database_url() -> str:
    """The DATABASE_URL of the database this test runs on (pytest-django's test_<name>)."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def live_server_env() -> dict[str, str]:
    """What a live gunicorn must share with the test process: the SECRET_KEY that signs sessions."""
    return {"SECRET_KEY": settings.SECRET_KEY}


def session_cookie(user) -> dict[str, str]:
    """Cookies of a signed-in browser session for `user`, made in the database as login() would (the live
    server must run with this process' SECRET_KEY: live_server_env())."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "smarketing.auth_backends.UserWithTeamBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return {settings.SESSION_COOKIE_NAME: session.session_key}


class ClosedPort:
    """A loopback port nobody listens on: connecting is refused at once (Redis down)."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]

    def close(self) -> None:
        pass


class SilentListener:
    """A loopback port that accepts connections and never answers (Redis stalled: a hung process, a full
    network buffer). Holds every connection open until close()."""

    def __init__(self):
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(128)
        self.port = self._server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return  # closed
            self.accepted.append(conn)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)  # close() alone leaves a blocked accept() listening
        self._server.close()
        for conn in self.accepted:
            conn.close()


class TcpProxy:
    """A loopback TCP proxy to a server (PostgreSQL), which a test can take down and bring back.

    down() closes every proxied connection and stops listening, as a database restart does to the
    app: open connections break and new ones are refused. up() listens on the same port again. Only
    the connections of the process pointed at the proxy are affected; the real server is not touched.
    """

    def __init__(self, host: str, port: int):
        self._target = (host, port)
        self.port = ClosedPort().port
        self._server: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    def up(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(128)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            # shutdown() first: close() alone leaves the socket listening while a thread blocks in accept().
            with contextlib.suppress(OSError):
                self._server.shutdown(socket.SHUT_RDWR)
            self._server.close()
            self._server = None
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._connections.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return  # down()
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._connections += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for conn in (source, sink):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
