"""Real processes on a test app's database and job queue: a `flask jobs worker`, a gunicorn."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """Return a loopback TCP port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(app, command: list[str], log_path: Path, settings: dict) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "JOBS_QUEUE": app.config["JOBS_QUEUE"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        **{name: str(value) for name, value in settings.items()},
    }
    with log_path.open("w") as log:
        # S603: the command lines are fixed in this module, not taken from input
        return subprocess.Popen(  # noqa: S603
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start_worker(app, log_path: Path, **settings) -> subprocess.Popen:
    """Start a worker process for the app; settings become its environment."""
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker"]
    return _start(app, command, log_path, settings)


def start_gunicorn(app, port: int, log_path: Path, **settings) -> subprocess.Popen:
    """Start gunicorn (one sync worker) serving the app's database on a loopback port."""
    command = [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"]
    settings = {"GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": 1, **settings}
    return _start(app, command, log_path, settings)


def stop_worker(process: subprocess.Popen) -> None:
    """Stop a worker or gunicorn (graceful shutdown; killed if it does not end)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
