"""The publish and reminder confirmation pages at 5,000 participants: time, statements, size.

For each backend (a fresh PostgreSQL database on postgresql://postgres@127.0.0.1:5432, or a SQLite
file in a temporary directory):

1. create and migrate the database; insert 5,000 organisations (3,000 SMEs, 2,000 startups,
   one or two people each) registered at two events of 16 slots and 700 tables, and for each
   a schedule of about 11,200 meetings whose stored problem lists every participant and
   110,000 candidate meetings (the size of the pipeline's build, issue 14):

   * "first": one draft, nothing published (the first publication e-mails everybody);
   * "again": version 1 published, version 2 a draft in which 150 pairs of meetings swapped
     their tables (about 600 participants changed);

2. log an organiser in (Flask test client, in process) and request each page REPEATS times:
   the publish confirmation of both events, the reminder preview of "no request yet" (nobody
   sent one: everybody), and the recipients' CSV downloads where the app has them (a route
   that answers 404 is reported as absent). Report the median wall time, the median CPU time
   of this process, the SQL statements of one request and the size of the answer.

Wall-clock figures are only comparable within one run on this shared machine: run it under
``flock /work/bench.lock`` and note the load average it prints.

Usage: ``/work/main/.venv/bin/python bench/bench_publish_page.py [--backend sqlite|postgresql]
[--participants 5000] [--repeats 5]``. It prints its figures and writes no file.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

from common import ORGANISER, ORGANISER_PASSWORD, event_data, log, organiser_app

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402 - after the path tweak, like the app imports

from matchmaker.accounts.services import create_user  # noqa: E402
from matchmaker.core.clock import utcnow  # noqa: E402
from matchmaker.directory.models import Profile  # noqa: E402
from matchmaker.events import registrations  # noqa: E402
from matchmaker.events.models import CONFIRMED, Attendee, Registration  # noqa: E402
from matchmaker.extensions import db  # noqa: E402
from matchmaker.scheduling.models import (  # noqa: E402
    DRAFT,
    PUBLISHED,
    ScheduleMeeting,
    ScheduleVersion,
)
from matchmaker.scheduling.problem import meeting_key  # noqa: E402

SLOTS, TABLES, CANDIDATES, SWAPS = 16, 700, 110_000, 150


def make_profiles(size: int) -> list[int]:
    """Insert the organisations (60 % SMEs); return their ids, SMEs first."""
    smes = size * 3 // 5
    db.session.execute(
        sa.insert(Profile),
        [
            {"kind": "sme" if i < smes else "startup", "name": f"Organisation {size - i:05d}"}
            for i in range(size)
        ],
    )
    return list(db.session.scalars(sa.select(Profile.id).order_by(Profile.id)))


def make_event(title: str, ids: list[int]) -> int:
    """Create an event with every profile confirmed, one or two people each; return its id."""
    data = {**event_data(title, len(ids) * 2, datetime.now()), "slot_count": SLOTS}
    data.update(table_count=TABLES, morning_slots=8, max_meetings=8, breaks=[])
    event = registrations.create_event(data)
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
    event.last_seq = len(ids)
    seats = db.session.execute(
        sa.select(Registration.profile_id, Registration.id).where(Registration.event_id == event.id)
    ).all()
    people = [
        {
            "registration_id": registration_id,
            "event_id": event.id,
            "name": f"Person {pid}-{person}",
            "email": f"p{pid}-{person}@bench.example",
            "email_key": f"p{pid}-{person}@bench.example",
        }
        for pid, registration_id in seats
        for person in range(1 + pid % 2)
    ]
    db.session.execute(sa.insert(Attendee), people)
    return event.id


def problem(ids: list[int], smes: int, rng: random.Random) -> dict:
    """Return a stored problem of the pipeline's size: every participant, many candidates."""
    pairs = {(rng.choice(ids[:smes]), rng.choice(ids[smes:])) for _ in range(CANDIDATES)}
    return {
        "slots": SLOTS,
        "tables": TABLES,
        "morning_slots": 8,
        "participants": [
            {"id": f"p{pid}", "side": "sme" if n < smes else "startup", "unavailable": []}
            for n, pid in enumerate(ids)
        ],
        "meetings": [
            {
                "id": meeting_key(a, b),
                "a": f"p{a}",
                "b": f"p{b}",
                "score": round(rng.random(), 4),
                "required": False,
                "window": None,
                "fixed_slot": None,
                "requested": False,
            }
            for a, b in pairs
        ],
    }


def placed(ids: list[int], smes: int) -> list[tuple[int, int, int, int]]:
    """Return (a, b, slot, table) of a full schedule: every table of every slot used once."""
    sme_ids, startup_ids = ids[:smes], ids[smes:]
    seen, rows = set(), []
    for slot in range(1, SLOTS + 1):
        for table in range(1, TABLES + 1):
            a = sme_ids[(slot * TABLES + table) % len(sme_ids)]
            b = startup_ids[(slot * 131 + table * 3) % len(startup_ids)]
            if (a, b) not in seen:
                seen.add((a, b))
                rows.append((a, b, slot, table))
    return rows


def add_version(event_id: int, number: int, status: str, document: dict, rows) -> None:
    """Insert a schedule version with its meetings in bulk."""
    version = ScheduleVersion(event_id=event_id, number=number, status=status, problem=document)
    if status == PUBLISHED:
        version.published_at = utcnow()
    db.session.add(version)
    db.session.flush()
    db.session.execute(
        sa.insert(ScheduleMeeting),
        [
            {
                "version_id": version.id,
                "key": meeting_key(a, b),
                "profile_a_id": a,
                "profile_b_id": b,
                "slot": slot,
                "table": table,
            }
            for a, b, slot, table in rows
        ],
    )


def swapped(rows, rng: random.Random) -> list[tuple[int, int, int, int]]:
    """Return the schedule with SWAPS pairs of meetings of one slot at each other's tables."""
    rows = list(rows)
    by_slot: dict[int, list[int]] = {}
    for index, (_a, _b, slot, _table) in enumerate(rows):
        by_slot.setdefault(slot, []).append(index)
    for _ in range(SWAPS):
        i, j = rng.sample(by_slot[rng.randint(1, SLOTS)], 2)
        (a, b, slot, table_i), (c, d, _slot, table_j) = rows[i], rows[j]
        rows[i], rows[j] = (a, b, slot, table_j), (c, d, slot, table_i)
    return rows


def fill(size: int) -> dict[str, int]:
    """Insert the organisations, both events and their versions; return the event ids."""
    rng = random.Random(size)
    ids = make_profiles(size)
    smes = size * 3 // 5
    document = problem(ids, smes, rng)
    schedule = placed(ids, smes)
    first = make_event("Erstveröffentlichung", ids)
    add_version(first, 1, DRAFT, document, schedule)
    again = make_event("Neuveröffentlichung", ids)
    add_version(again, 1, PUBLISHED, document, schedule)
    add_version(again, 2, DRAFT, document, swapped(schedule, rng))
    create_user(ORGANISER, "Orga", ORGANISER_PASSWORD, organiser=True)
    db.session.commit()
    log(f"{size} organisations, {len(schedule)} meetings per version, two events")
    return {"first": first, "again": again}


def measure(app, client, url: str, repeats: int) -> dict | None:
    """Return median wall and CPU seconds, statements and bytes of ``url`` (None on 404)."""
    statements: list[int] = []

    def count(*_args):
        statements.append(1)

    walls, cpus, size = [], [], 0
    for _ in range(repeats):
        statements.clear()
        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", count)
            try:
                cpu, wall = time.process_time(), time.perf_counter()
                response = client.get(url)
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", count)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, (url, response.status_code)
        size = len(response.data)
    return {
        "wall": statistics.median(walls),
        "cpu": statistics.median(cpus),
        "statements": len(statements),
        "kib": size / 1024,
    }


def pages(ids: dict[str, int]) -> list[tuple[str, str]]:
    """Return the (label, URL) of every page measured."""
    first, again = ids["first"], ids["again"]
    return [
        ("publish page, first publication", f"/events/{first}/schedule/publish"),
        ("publish page, re-publication", f"/events/{again}/schedule/publish"),
        ("publish recipients CSV, first", f"/events/{first}/schedule/publish/recipients.csv"),
        ("reminder page, no request", f"/events/{again}/reminders?audience=no_request"),
        (
            "reminder recipients CSV",
            f"/events/{again}/reminders/recipients.csv?audience=no_request",
        ),
    ]


def run(backend: str, size: int, repeats: int) -> None:
    """Fill one backend and print the figures of every page."""
    with organiser_app(backend, "bench_publish", lambda: fill(size)) as (app, client, ids):
        print(f"\n{backend}, {size} participants, median of {repeats}, load {load()}")
        print(f"{'page':36} {'wall ms':>8} {'CPU ms':>8} {'stmts':>6} {'KiB':>8}")
        for label, url in pages(ids):
            figures = measure(app, client, url, repeats)
            if figures is None:
                print(f"{label:36} {'absent (404)':>8}")
                continue
            print(
                f"{label:36} {figures['wall'] * 1000:8.0f} {figures['cpu'] * 1000:8.0f} "
                f"{figures['statements']:6d} {figures['kib']:8.0f}"
            )


def load() -> str:
    """Return the 1, 5 and 15 minute load averages."""
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), action="append")
    parser.add_argument("--participants", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for backend in args.backend or ("sqlite", "postgresql"):
        run(backend, args.participants, args.repeats)
    print(f"\nload average at the end: {load()}")


if __name__ == "__main__":
    main()
