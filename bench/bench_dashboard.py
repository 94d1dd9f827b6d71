"""The organisers' dashboard at 500 and 5,000 participants: time per page and SQL statements.

For PostgreSQL (a fresh database on postgresql://postgres@127.0.0.1:5432) and SQLite (a file in
a temporary directory) in turn:

1. create and migrate the database; insert one event with N confirmed organisations (half SMEs,
   half startups; one or two people each, 80 % checked in, 3 % no-shows), about 1.5 meeting
   requests and 0.5 marks per organisation, and a published schedule in which each SME has 0 to
   4 meetings (so a fifth of the SMEs have none); on PostgreSQL, ANALYZE the tables;
2. log an organiser in through the login form of the app (Flask test client, in process) and
   request the dashboard, its CSV of all participants and the reminder preview of "no meeting
   yet" five times each; report the median time and the number of SQL statements per request.

The number of statements must not grow with N (no N+1); the time grows with the rows read.

Usage: ``/work/main/.venv/bin/python bench/bench_dashboard.py [--backend postgresql|sqlite]
[--no-write]``; results go to the section "Organisers' dashboard" of RESULTS.md.
"""

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

from common import ORGANISER, ORGANISER_PASSWORD, cpu_model, event_data, log, organiser_app

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402 - after the path tweak, like the app imports

from matchmaker.accounts.services import create_user  # noqa: E402
from matchmaker.core.clock import utcnow  # noqa: E402
from matchmaker.directory.models import Profile  # noqa: E402
from matchmaker.events import registrations  # noqa: E402
from matchmaker.events.models import (  # noqa: E402
    CONFIRMED,
    Attendee,
    MeetingRequest,
    ProfileMark,
    Registration,
)
from matchmaker.extensions import db  # noqa: E402
from matchmaker.scheduling.models import (  # noqa: E402
    PUBLISHED,
    ScheduleMeeting,
    ScheduleVersion,
)

SIZES = (500, 5000)
REPEATS = 5
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Organisers' dashboard"


def fill(size: int) -> int:
    """Insert the event and its participants in bulk; return the event's id."""
    rng = random.Random(size)
    event = registrations.create_event(
        {
            **event_data("Dashboard-Bench", size * 2, datetime.now()),
            "table_count": size,
        }
    )
    db.session.flush()
    half = size // 2
    db.session.execute(
        sa.insert(Profile),
        [
            {"kind": "sme" if i < half else "startup", "name": f"Organisation {i:05d}"}
            for i in range(size)
        ],
    )
    ids = list(db.session.scalars(sa.select(Profile.id).order_by(Profile.id)))
    smes, startups = ids[:half], ids[half:]
    db.session.execute(
        sa.insert(Registration),
        [
            {
                "event_id": event.id,
                "profile_id": pid,
                "status": CONFIRMED,
                "seq": n + 1,
                "priority": n + 1,
                "confirmed_at": utcnow(),
            }
            for n, pid in enumerate(ids)
        ],
    )
    event.last_seq = size
    registrations_of = dict(
        db.session.execute(sa.select(Registration.profile_id, Registration.id)).all()
    )
    people = []
    for pid in ids:
        for person in range(1 + (pid % 2)):
            email = f"p{pid}-{person}@bench.example"
            people.append(
                {
                    "registration_id": registrations_of[pid],
                    "event_id": event.id,
                    "name": f"Person {pid}-{person}",
                    "email": email,
                    "email_key": email,
                    "checked_in_at": utcnow() if rng.random() < 0.8 else None,
                    "no_show": rng.random() < 0.03,
                }
            )
    db.session.execute(sa.insert(Attendee), people)
    pairs = set()
    for _ in range(size * 3 // 2):
        sender, target = rng.choice(smes), rng.choice(startups)
        if rng.random() < 0.5:
            sender, target = target, sender
        pairs.add((sender, target))
    statuses = ("pending", "accepted", "declined", "withdrawn")
    db.session.execute(
        sa.insert(MeetingRequest),
        [
            {
                "event_id": event.id,
                "from_profile_id": a,
                "to_profile_id": b,
                "status": rng.choice(statuses),
            }
            for a, b in pairs
        ],
    )
    marks = {(rng.choice(smes), rng.choice(startups)) for _ in range(size // 2)}
    db.session.execute(
        sa.insert(ProfileMark),
        [
            {
                "event_id": event.id,
                "from_profile_id": a,
                "to_profile_id": b,
                "kind": rng.choice(("must_meet", "not_interested")),
            }
            for a, b in marks
        ],
    )
    version = ScheduleVersion(event_id=event.id, number=1, status=PUBLISHED)
    version.published_at = utcnow()
    db.session.add(version)
    db.session.flush()
    meetings = []
    for index, sme in enumerate(smes):
        for slot in range(index % 5):
            startup = startups[(index * 7 + slot * 13) % len(startups)]
            meetings.append(
                {
                    "version_id": version.id,
                    "key": f"{sme}-{startup}-{slot}",
                    "profile_a_id": sme,
                    "profile_b_id": startup,
                    "slot": slot + 1,
                    "table": index + 1,
                }
            )
    db.session.execute(sa.insert(ScheduleMeeting), meetings)
    create_user(ORGANISER, "Orga", ORGANISER_PASSWORD, organiser=True)
    db.session.commit()
    log(
        f"{size} organisations, {len(people)} people, {len(pairs)} requests, "
        f"{len(meetings)} meetings"
    )
    return event.id


def measure(app, client, url: str) -> tuple[float, int]:
    """Return the median seconds of REPEATS requests and the statements of one."""
    statements = []

    def count(*_args):
        statements.append(1)

    times = []
    for _ in range(REPEATS):
        statements.clear()
        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", count)
            try:
                start = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - start)
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", count)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), len(statements)


def run(backend: str, size: int) -> dict:
    """Measure the three pages on one backend at one size."""
    with organiser_app(backend, "bench_dash", lambda: fill(size)) as (app, client, event_id):
        figures = {}
        for label, url in (
            ("dashboard", f"/events/{event_id}/dashboard"),
            ("participants.csv", f"/events/{event_id}/dashboard/participants.csv"),
            ("reminder preview", f"/events/{event_id}/reminders?audience=no_meeting"),
        ):
            figures[label] = measure(app, client, url)
            log(
                f"{backend} {size}: {label} {figures[label][0] * 1000:.0f} ms, "
                f"{figures[label][1]} statements"
            )
        return figures


def write(results: dict, load: tuple[float, float]) -> None:
    """Replace the section of RESULTS.md with this run's table."""
    lines = [
        SECTION,
        "",
        f"Recorded by `bench/bench_dashboard.py` on {datetime.now():%Y-%m-%d}; nproc "
        f"{os.cpu_count()}, CPU {cpu_model()}, Python {platform.python_version()}. "
        f"The machine is shared (1-min load average {load[0]:.1f} at the start, {load[1]:.1f} "
        "at the end); compare the sizes within one backend, not absolute times.",
        "",
        "Median of 5 requests through the Flask test client (in process, logged-in organiser); "
        "statements = SQL statements of one request (session and login included). "
        "PostgreSQL is measured after `ANALYZE` (what autovacuum does within a minute of a "
        "bulk import): straight after inserting 5,000 organisations without statistics the "
        "planner chose nested loops and the dashboard took 10.8 s (load 14).",
        "",
        "| backend | organisations | page | median | statements |",
        "|---|---|---|---|---|",
    ]
    for (backend, size), figures in results.items():
        for label, (seconds, statements) in figures.items():
            lines.append(
                f"| {backend} | {size:,} | {label} | {seconds * 1000:.0f} ms | {statements} |"
            )
    text = RESULTS.read_text()
    block = "\n".join(lines) + "\n"
    if SECTION in text:
        head, rest = text.split(SECTION, 1)
        tail = rest[rest.find("\n## ") + 1 :] if "\n## " in rest else ""
        text = head + block + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), action="append")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    results = {}
    for backend in args.backend or ("sqlite", "postgresql"):
        for size in SIZES:
            results[(backend, size)] = run(backend, size)
    load = (load_start, os.getloadavg()[0])
    if not args.no_write:
        write(results, load)


if __name__ == "__main__":
    main()
