"""Start a real `flask jobs worker` subprocess on a test app's database and queue."""

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_worker(app, log_path: Path, **settings) -> subprocess.Popen:
    """Start a worker process for the app; settings become its environment."""
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "JOBS_QUEUE": app.config["JOBS_QUEUE"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        **{name: str(value) for name, value in settings.items()},
    }
    with log_path.open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_worker(process: subprocess.Popen) -> None:
    """Stop a worker (warm shutdown; killed if it does not end)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
