"""Helpers the benchmark scripts share: log lines, a free port, the CPU model, event data.

The scripts run as ``python bench/<script>.py``, so this directory is on ``sys.path``.
"""

import socket
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path


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
