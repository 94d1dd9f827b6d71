"""Helpers the benchmark scripts share: log lines, a free port, the CPU model, event data.

The scripts run as ``python bench/<script>.py``, so this directory is on ``sys.path``.
"""

import http.client
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def log(message: str) -> None:
    """Print a progress line with the time of day."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    """Return a TCP port on the loopback interface that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_model() -> str:
    """Return the CPU's model name from /proc/cpuinfo."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def event_data(title: str, capacity: int, now: datetime) -> dict:
    """Return the data of an event 60 days ahead whose registration is open at ``now``."""
    return {
        "title": title,
        "date": date.today() + timedelta(days=60),
        "venue": "Cottbus",
        "description": "",
        "capacity": capacity,
        "registration_opens": now - timedelta(days=1),
        "registration_closes": now + timedelta(days=30),
        "first_slot": clock(10, 0),
        "slot_minutes": 20,
        "slot_count": 8,
        "morning_slots": 4,
        "breaks": [{"after_slot": 4, "minutes": 60, "label": "Mittag"}],
        "table_count": 15,
        "table_names": [],
        "max_meetings": 6,
    }


class Gunicorn:
    """gunicorn serving the app with the project's gunicorn.conf.py on a free loopback port."""

    startup_seconds = 60

    def __init__(
        self,
        env: dict,
        workers: int,
        worker_class: str,
        threads: int,
        log_path: Path,
        loglevel: str,
    ) -> None:
        self.port = free_port()
        env = dict(env)
        env.update(
            GUNICORN_BIND=f"127.0.0.1:{self.port}",
            WEB_CONCURRENCY=str(workers),
            GUNICORN_WORKER_CLASS=worker_class,
            GUNICORN_THREADS=str(threads),
            GUNICORN_ACCESSLOG="/dev/null",  # "" makes gunicorn fail ("'' isn't writable")
            GUNICORN_LOGLEVEL=loglevel,
            # Worker recycling (every 5000 requests in production) would restart workers
            # every few seconds under load and hide memory growth.
            GUNICORN_MAX_REQUESTS="0",
        )
        self.log_path = log_path
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.time() + self.startup_seconds
        while True:
            try:
                if self.healthy():
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.time() > deadline:
                self.stop()
                raise SystemExit(f"gunicorn did not start; see {log_path}")
            time.sleep(0.2)

    def healthy(self) -> bool:
        """Return whether /healthz answers 200."""
        raise NotImplementedError

    def stop(self, timeout: float = 40) -> None:
        """Stop gunicorn gracefully, or kill it after ``timeout`` seconds."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


LOCATION_RE = re.compile(rb"^location: *([^\r\n]*)", re.I | re.M)


def send_prepared(port: int, request: bytes) -> tuple[int, str]:
    """Send a prepared request on a fresh connection; return the status and the Location.

    Costs the client far less CPU than http.client (no header objects, no parsing beyond the
    status line), so that a burst's client threads take little from the server's cores.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head = b"".join(chunks).split(b"\r\n\r\n", 1)[0]
    location = LOCATION_RE.search(head)
    return int(head.split(b" ", 2)[1]), location.group(1).decode() if location else ""


class Session:
    """A minimal HTTP client with one cookie jar (the Flask session cookie)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None):
        """Send one request on a fresh connection; return (status, headers, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Accept-Language": "de"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read().decode("utf-8", "replace")
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key] = rest.split(";", 1)[0]
            return response.status, dict(response.getheaders()), data
        finally:
            conn.close()

    def prepared(self, method: str, path: str, form: dict) -> bytes:
        """Return one form request as the bytes to send (see :func:`send_prepared`)."""
        body = urlencode(form).encode()
        head = [
            f"{method} {path} HTTP/1.1",
            f"Host: 127.0.0.1:{self.port}",
            "Accept-Language: de",
            "Content-Type: application/x-www-form-urlencoded",
            f"Content-Length: {len(body)}",
            "Connection: close",
        ]
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body

    def csrf(self, path: str) -> str:
        """Load a page and return its CSRF token."""
        status, _headers, body = self.request("GET", path)
        match = CSRF_RE.search(body)
        if status != 200 or not match:
            raise RuntimeError(f"no CSRF token on {path} (status {status})")
        return match.group(1)


ORGANISER = "orga@bench.example"
ORGANISER_PASSWORD = "bench-passwort-123"  # noqa: S105 - a throwaway account in a throwaway database
PG_BENCH_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


@contextmanager
def organiser_app(backend: str, prefix: str, fill: Callable[[], object]) -> Iterator[tuple]:
    """Yield ``(app, client, filled)``: a fresh database filled by ``fill``, an organiser logged in.

    For the in-process page benchmarks (Flask test client): a new PostgreSQL database or SQLite
    file, migrated; ``fill()`` runs in an app context and its result is yielded as ``filled``
    (it should create the organiser ``ORGANISER`` with ``ORGANISER_PASSWORD``). PostgreSQL is
    analysed after the fill, as autovacuum would be within a minute of a bulk import: without
    statistics the planner picks nested loops. Everything is dropped afterwards.
    """
    import shutil
    import tempfile
    import uuid

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from matchmaker.app import create_app
    from matchmaker.extensions import db

    admin = name = folder = None
    if backend == "postgresql":
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(f"{PG_BENCH_SERVER}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        uri = f"{PG_BENCH_SERVER}/{name}"
    else:
        folder = tempfile.mkdtemp(prefix=f"{prefix}-")
        uri = f"sqlite:///{folder}/bench.db"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": uri,
            "SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": "localhost",
            "RATELIMIT_ENABLED": False,
        }
    )
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            filled = fill()
            if backend == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(sa.text("ANALYZE"))
        client = app.test_client()
        with app.app_context():
            response = client.post(
                "/account/login", data={"email": ORGANISER, "password": ORGANISER_PASSWORD}
            )
            assert response.status_code == 302, response.status_code
        yield app, client, filled
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
