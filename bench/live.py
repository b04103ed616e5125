"""A gunicorn of this project on a free loopback port, for the load test and the fault tests.

    with LiveServer(database_url=..., redis_url=...) as server:
        requests.get(server.url + "/health/")

Production settings (DEBUG off, bench.live_settings), the given DATABASE_URL and REDIS_URL (none: the
file-system broker under ./var/), and by default the workers production runs (Dockerfile: 3 sync
workers; threads > 1 makes them gthread workers). Stopped with SIGTERM on exit.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    def __init__(self, *, database_url: str, redis_url: str = "", workers: int = 3, threads: int = 1,
                 timeout: int = 30, env: dict[str, str] | None = None, log_path: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.live_settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_HTTPS": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "live-server-" + "x" * 50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        self._command = [
            sys.executable, "-m", "gunicorn", "smarketing.wsgi", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(workers), "--threads", str(threads), "--timeout", str(timeout), "--graceful-timeout", "5",
        ]
        self._process: subprocess.Popen | None = None
        self._log = None

    def __enter__(self) -> "LiveServer":
        self._log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(self._command, cwd=ROOT, env=self._env, stdout=self._log,  # noqa: S603
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self._process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/health/", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        self.__exit__(None, None, None)
        raise RuntimeError("gunicorn did not answer /health/ within 60 s")

    def __exit__(self, *exc_info) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
