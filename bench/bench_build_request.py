"""The request that starts a schedule build answers at once, whatever the event's size (issue 14).

    /work/main/.venv/bin/python bench/bench_build_request.py [--sizes 100 5000] [--repeats 15]
        [--backend postgresql|sqlite] [--no-write]

For each size, on a fresh database (PostgreSQL on 127.0.0.1:5432, or a SQLite file):

1. migrate it and write an organiser, the event (16 slots, 700 tables) and the participants:
   profiles, each confirmed with one attendee, plus a meeting request between every tenth pair;
   the rows are written in bulk as ``bench_pipeline.py`` does (the participants' side is not
   what this measures);
2. count the SQL statements of one build request, in process (the Flask test client, CSRF on,
   Redis at 127.0.0.1:6379 with a queue of its own);
3. start gunicorn (2 sync workers, the project's ``gunicorn.conf.py``) on that queue, which no
   worker serves, log the organiser in through the login form and time ``--repeats`` presses
   (after three untimed ones that warm the workers up) of the schedule page's "build" button
   (POST with the CSRF token, answer not followed). After each, the queued job is cancelled
   with the job page's button, so the next press takes the path of a new build again, not the
   "one is already queued" answer.

The figures (median, p90, max per size and the ratio of the medians) go to the section
"## Starting a schedule build" of RESULTS.md. A build request only checks the form, records
the job and puts it on the queue; nothing in it reads the participants.
"""

import argparse
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from datetime import time as clock
from pathlib import Path

import common
import sqlalchemy as sa
from common import CSRF_RE, ROOT, Gunicorn, Session, cpu_model, log

sys.path.insert(0, str(ROOT))

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
ORGANISER = "orga@build-request.example"
PASSWORD = "build-request-passwort-1"  # noqa: S105 - throwaway account in a throwaway database
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Starting a schedule build"
JOB_RE = re.compile(r"/jobs/(\d+)")
# Untimed presses first: a worker's first request loads templates and translations.
WARM_UP = 3


def event_data(size: int, now) -> dict:
    """Return a one-day brokerage with room for ``size`` participants."""
    return {
        **common.event_data(f"Börse mit {size} Teilnehmenden", size, now),
        "date": date.today() + timedelta(days=30),
        "venue": "Messe Cottbus",
        "registration_opens": now - timedelta(days=10),
        "registration_closes": now + timedelta(days=20),
        "first_slot": clock(9, 0),
        "slot_count": 16,
        "morning_slots": 8,
        "breaks": [{"after_slot": 8, "minutes": 60, "label": "Mittagspause"}],
        "table_count": 700,
        "max_meetings": 8,
    }


def prepare(uri: str, size: int) -> int:
    """Migrate, write the organiser, the event and its participants in bulk; return the event id."""
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from matchmaker.accounts.models import User
    from matchmaker.app import create_app
    from matchmaker.core import clock as app_clock
    from matchmaker.directory.models import Profile
    from matchmaker.events import registrations
    from matchmaker.events.models import ACCEPTED, CONFIRMED, Attendee, MeetingRequest, Registration
    from matchmaker.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "build-request-setup"})
    with app.app_context():
        upgrade()
        organiser = User(email=ORGANISER, name="Messe-Team", is_organiser=True)
        organiser.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        db.session.add(organiser)
        event = registrations.create_event(event_data(size, app_clock.local_now()))
        db.session.flush()
        profiles = [
            Profile(
                kind="sme" if n % 2 else "startup",
                name=f"Firma {n:05d}",
                description="Wir suchen KI für Rechnungen und Wartung.",
                tags=[],
            )
            for n in range(size)
        ]
        db.session.add_all(profiles)
        db.session.flush()
        now = app_clock.utcnow()
        for seq, profile in enumerate(profiles, start=1):
            registration = Registration(
                event_id=event.id,
                profile_id=profile.id,
                status=CONFIRMED,
                seq=seq,
                priority=seq,
                locale="de",
                confirmed_at=now,
            )
            email = f"teilnehmer{profile.id}@build-request.example"
            registration.attendees.append(
                Attendee(event_id=event.id, name=f"Person {seq}", email=email, email_key=email)
            )
            db.session.add(registration)
        event.last_seq = size
        for a, b in zip(profiles[0::20], profiles[1::20], strict=False):
            db.session.add(
                MeetingRequest(
                    event_id=event.id,
                    from_profile_id=a.id,
                    to_profile_id=b.id,
                    status=ACCEPTED,
                    message="",
                )
            )
        db.session.commit()
        event_id = event.id
        db.session.remove()
        db.engine.dispose()
    return event_id


def statements_of_one_request(uri: str, event_id: int, queue: str) -> list[str]:
    """Count the SQL statements of one build request, in process; cancel the job again."""
    from matchmaker.app import create_app
    from matchmaker.extensions import db
    from matchmaker.jobs import services
    from matchmaker.jobs.models import Job

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "build-request", "JOBS_QUEUE": queue}
    )
    client = app.test_client()
    token = CSRF_RE.search(client.get("/account/login").get_data(as_text=True)).group(1)
    form = {"email": ORGANISER, "password": PASSWORD, "csrf_token": token}
    if client.post("/account/login", data=form).status_code != 302:
        raise SystemExit("organiser login failed")
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(" ".join(statement.split()[:4]))

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.post(f"/events/{event_id}/schedule/build", data={"csrf_token": token})
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    match = JOB_RE.search(response.headers.get("Location", ""))
    if response.status_code != 302 or not match:
        raise SystemExit(f"the build request answered {response.status_code}")
    with app.app_context():
        services.cancel(db.session.get(Job, int(match.group(1))))
        db.session.commit()
        db.engine.dispose()
    return statements


class Server(Gunicorn):
    """gunicorn with the app on a free port."""

    def healthy(self) -> bool:
        """Return whether /healthz answers 200."""
        return Session(self.port).request("GET", "/healthz")[0] == 200


def time_requests(uri: str, event_id: int, queue: str, repeats: int, workdir: Path) -> list[float]:
    """Press the build button ``repeats`` times against gunicorn; return the seconds of each."""
    env = dict(os.environ)
    env.update(DATABASE_URL=uri, SECRET_KEY=uuid.uuid4().hex * 2, JOBS_QUEUE=queue)
    env.pop("MAIL_SERVER", None)
    server = Server(env, 2, "sync", 1, workdir / "gunicorn.log", "warning")
    try:
        session = Session(server.port)
        token = session.csrf("/account/login")
        form = {"email": ORGANISER, "password": PASSWORD, "csrf_token": token}
        if session.request("POST", "/account/login", form)[0] != 302:
            raise SystemExit("organiser login failed")
        token = session.csrf(f"/events/{event_id}/schedule")
        seconds = []
        for press in range(-WARM_UP, repeats):
            started = time.perf_counter()
            status, headers, _body = session.request(
                "POST", f"/events/{event_id}/schedule/build", {"csrf_token": token}
            )
            if press >= 0:
                seconds.append(time.perf_counter() - started)
            match = JOB_RE.search(headers.get("Location", ""))
            if status != 302 or not match:
                raise SystemExit(f"the build request answered {status} {headers}")
            cancelled = session.request(
                "POST", f"/jobs/{match.group(1)}/cancel", {"csrf_token": token}
            )
            if cancelled[0] != 302:
                raise SystemExit(f"cancelling the job answered {cancelled[0]}")
        return seconds
    finally:
        server.stop()


def drop_queue(queue: str) -> None:
    """Delete the RQ keys of the bench's own queue."""
    from redis import Redis

    connection = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    keys = list(connection.scan_iter(f"rq:*{queue}*"))
    if keys:
        connection.delete(*keys)


def run_size(backend: str, size: int, repeats: int) -> dict:
    """Prepare a fresh database with ``size`` participants and measure the build request."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-build-request-"))
    name = f"mm_build_request_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(f"{PG_SERVER}/postgres".replace("://", "+psycopg://", 1))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    if backend == "postgresql":
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        uri = f"{PG_SERVER}/{name}".replace("://", "+psycopg://", 1)
    else:
        uri = f"sqlite:///{workdir / 'bench.db'}"
    queue = f"bench-build-request-{uuid.uuid4().hex[:8]}"
    try:
        started = time.perf_counter()
        event_id = prepare(uri, size)
        log(f"{backend}, {size} participants written in {time.perf_counter() - started:.1f} s")
        statements = statements_of_one_request(uri, event_id, queue)
        log(f"statements of one build request: {statements}")
        seconds = time_requests(uri, event_id, queue, repeats, workdir)
        ordered = sorted(seconds)
        result = {
            "backend": backend,
            "size": size,
            "statements": len(statements),
            "median_ms": statistics.median(seconds) * 1000,
            "p90_ms": ordered[max(0, round(0.9 * len(ordered)) - 1)] * 1000,
            "max_ms": ordered[-1] * 1000,
            "load": os.getloadavg()[0],
        }
        log(f"{result}")
        return result
    finally:
        drop_queue(queue)
        if backend == "postgresql":
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


def render(results: list[dict], repeats: int, info: str) -> str:
    """Write the RESULTS.md section."""
    lines = [
        SECTION,
        "",
        f"Recorded by `bench/bench_build_request.py` on {date.today().isoformat()}; {info}.",
        f"gunicorn with 2 sync workers on loopback; the organiser presses the schedule page's "
        f"build button {repeats} times per event, after {WARM_UP} untimed presses that warm the "
        "workers up (each queued job cancelled again, so every press takes the path of a new "
        "build); the time is the POST's answer (a redirect to the "
        "job page, not followed). Statements: SQL statements of one such request, counted in "
        "process.",
        "",
        "| backend | participants | statements | median | p90 | max | load average |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['size']:,} | {r['statements']} | {r['median_ms']:.0f} ms "
            f"| {r['p90_ms']:.0f} ms | {r['max_ms']:.0f} ms | {r['load']:.1f} |"
        )
    lines.append("")
    for backend in dict.fromkeys(r["backend"] for r in results):
        mine = sorted((r for r in results if r["backend"] == backend), key=lambda r: r["size"])
        if len(mine) > 1:
            small, large = mine[0], mine[-1]
            lines.append(
                f"{backend}: median at {large['size']:,} participants / at {small['size']:,}: "
                f"{large['median_ms'] / small['median_ms']:.2f}; the slowest request "
                f"{max(r['max_ms'] for r in mine):.0f} ms (goal: under 1 s whatever the size)."
            )
    lines += ["", ""]
    return "\n".join(lines)


def write_section(text: str) -> None:
    """Replace (or append) this benchmark's section in RESULTS.md, leaving the others alone."""
    current = RESULTS.read_text(encoding="utf-8")
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _m: text, current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")


def main() -> int:
    """Measure the build request at each size and record the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 5000])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], action="append")
    parser.add_argument("--no-write", action="store_true", help="Do not touch RESULTS.md.")
    args = parser.parse_args()
    info = (
        f"nproc {os.cpu_count()}, CPU {cpu_model()}, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )
    results = [
        run_size(backend, size, args.repeats)
        for backend in args.backend or ["postgresql", "sqlite"]
        for size in args.sizes
    ]
    info += f", {os.getloadavg()[0]:.1f} at the end"
    if not args.no_write:
        write_section(render(results, args.repeats, info))
    slow = [r for r in results if r["max_ms"] >= 1000]
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
