"""Registrations under concurrency: gunicorn with 4 workers, 200 members race for 50 seats.

For PostgreSQL (a fresh database on postgresql://postgres@127.0.0.1:5432) and SQLite (a file in
a temporary directory) in turn:

1. create and migrate the database; create an event with 50 seats and 200 members, each with a
   profile, through the app's services;
2. start ``gunicorn -w 4`` on a free loopback port and log the 200 members in through the login
   form (real sessions and CSRF tokens; no back door);
3. fire 200 registrations at once (one thread each, released by a barrier) and check: every
   request answered with a redirect, 200 registrations stored, arrival numbers ``seq`` 1..200
   without gaps, exactly 50 seats confirmed (seq 1..50) and 150 waiting in seq order;
4. fire 20 cancellations of confirmed seats at once (each with the confirmation page's field)
   and check that exactly seq 51..70 were promoted, in that order, and that 50 seats are still
   taken.

"Arrival order" is the order in which the server accepted the registrations: the arrival
number is taken under the event's row lock in the same transaction as the registration.
"Nothing lost" also covers the e-mails: every registration, cancellation and promotion has its
outbox message, composed (subject and body written) by the time the burst has drained.

A job worker (``flask --app wsgi jobs worker``, as ``./dev start`` runs it) serves a queue of
the run's own; the burst starts once it is idle (after the matching refit the new profiles ask
for). Code that leaves the confirmation e-mails to the worker is timed until the last of them
is composed: the drain is from releasing the registrations until the last answer *and* the last
confirmation composed (polled every 10 ms after the last answer); the last answer alone is
given too. The client threads send pre-encoded requests on raw sockets (the same for both codes),
so that they take little CPU from the server's cores.

Before and after, in one run: ``--compare REF`` checks out the code of a git commit (by default
main's 90c4815, before the short locks of issue 14) in a temporary worktree and runs the same
scenario on it and on this checkout alternately, ``--rounds`` times per backend (the order
flips every round), each on a fresh database set up by that code's own migrations and
services. The summary gives the median drain time of each and their ratio.

Usage: ``python bench/bench_registrations.py [--backend postgresql|sqlite] [--compare [REF]]
[--rounds N] [--no-write]``; results go to the section "Registrations under concurrency" of
RESULTS.md.
"""

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from pathlib import Path

from common import Session, cpu_model, event_data, free_port, send_prepared

ROOT = Path(__file__).resolve().parent.parent

import sqlalchemy as sa  # noqa: E402 - the code under test is put on the path by --setup

SEATS = 50
MEMBERS = 200
CANCELLATIONS = 20
WORKERS = 4
PASSWORD = "bench-passwort-123"  # noqa: S105 - throwaway accounts in a throwaway database
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
RESULTS = ROOT / "bench" / "RESULTS.md"
BEFORE = "90c4815"  # main before issue 14: notifications rendered under the event's lock
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
FLASK = str(Path(sys.executable).parent / "flask")
REDIS_URL = "redis://127.0.0.1:6379/0"
SECTION = "## Registrations under concurrency"


def parallel(functions, limit: int | None = None) -> list:
    """Run callables in threads; release them together by a barrier unless limited."""
    results: list = [None] * len(functions)
    errors: list = []
    if limit:
        semaphore = threading.Semaphore(limit)

        def run(i, f):
            with semaphore:
                try:
                    results[i] = f()
                except Exception as exc:
                    errors.append(exc)

    else:
        barrier = threading.Barrier(len(functions))

        def run(i, f):
            try:
                barrier.wait(timeout=60)
                results[i] = f()
            except Exception as exc:
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} client errors, first: {errors[0]!r}")
    return results


def code_env(uri: str, jobs_queue: str) -> dict:
    """Return the environment the code under test runs in (server, worker, set-up)."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=uri,
        REDIS_URL=REDIS_URL,
        JOBS_QUEUE=jobs_queue,
        MATCHING_REFIT_DELAY="0",  # the set-up's refit runs at once, well before the burst
        JOBS_MAINTENANCE_SECONDS="3600",  # no maintenance run during the burst
    )
    env.pop("MAIL_SERVER", None)
    return env


def set_up(uri: str, code: Path, jobs_queue: str) -> dict:
    """Set up the database with the code under test (its migrations and services)."""
    output = subprocess.run(
        [sys.executable, __file__, "--setup", uri, "--code", str(code)],
        cwd=code,  # Flask-Migrate finds the code's migrations/ from the working directory
        env=code_env(uri, jobs_queue),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def set_up_here(uri: str) -> dict:
    """Migrate the database and create the event and the members through the services."""
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from matchmaker.accounts.models import User
    from matchmaker.app import create_app
    from matchmaker.core import clock
    from matchmaker.directory import services as directory
    from matchmaker.events import registrations
    from matchmaker.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "bench-setup"})
    with app.app_context():
        upgrade()
        now = clock.local_now()
        event = registrations.create_event(event_data("Benchmark-Konferenz", SEATS, now))
        # One cheap hash for all throwaway accounts keeps setup and logins from dominating.
        password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        members = []
        for n in range(MEMBERS):
            user = User(email=f"member{n}@bench.example", name=f"Member {n}", is_organiser=False)
            user.password_hash = password_hash
            db.session.add(user)
            db.session.flush()
            profile = directory.create_profile(
                "sme" if n % 2 else "startup",
                {
                    "name": f"Firma {n:03d}",
                    "city": "Cottbus",
                    "description": "Wir suchen KI für Rechnungen und Wartung.",
                    "language": "de",
                    "tags": [],
                    "categories": [],
                },
                user,
            )
            members.append((user.email, profile.id))
        db.session.commit()
        event_id = event.id
        db.session.remove()
        db.engine.dispose()
    return {"event_id": event_id, "members": members}


def start_server(uri: str, port: int, log: Path, code: Path, jobs_queue: str) -> subprocess.Popen:
    """Start gunicorn with four workers of the code under test; wait until it answers."""
    env = code_env(uri, jobs_queue)
    env.update(
        SECRET_KEY=secrets.token_hex(32),
        LOGIN_RATE_LIMIT="100000 per minute",  # 200 logins from one address are expected here
        GUNICORN_ACCESSLOG="/dev/null",
    )
    process = subprocess.Popen(
        [GUNICORN, "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=code,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if Session(port).request("GET", "/healthz")[0] == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"gunicorn did not start; see {log}")


def start_worker(uri: str, log: Path, code: Path, jobs_queue: str) -> subprocess.Popen:
    """Start the code's job worker on the run's queue."""
    env = code_env(uri, jobs_queue)
    env["SECRET_KEY"] = secrets.token_hex(32)
    return subprocess.Popen(
        [FLASK, "--app", "wsgi", "jobs", "worker"],
        cwd=code,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def wait_until_idle(jobs_queue: str, timeout: float = 300) -> None:
    """Wait until the worker is up, the queue empty and no job running (1.5 s in a row)."""
    from redis import Redis
    from rq import Queue, Worker
    from rq.registry import StartedJobRegistry

    connection = Redis.from_url(REDIS_URL)
    queue = Queue(jobs_queue, connection=connection)
    started = StartedJobRegistry(jobs_queue, connection=connection)
    quiet, deadline = 0, time.monotonic() + timeout
    while quiet < 3:
        if time.monotonic() > deadline:
            raise RuntimeError("the job worker did not become idle")
        workers = Worker.all(queue=queue)
        busy = not workers or queue.count or started.count
        busy = busy or any(w.get_state() != "idle" for w in workers)
        quiet = 0 if busy else quiet + 1
        time.sleep(0.5)
    connection.close()


def discard_queue(jobs_queue: str) -> None:
    """Delete the run's queue and its marks from Redis."""
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(REDIS_URL)
    Queue(jobs_queue, connection=connection).delete(delete_jobs=True)
    marks = list(connection.scan_iter(f"matchmaker:{jobs_queue}:*"))
    if marks:
        connection.delete(*marks)
    connection.close()


def log_in(port: int, email: str, event_id: int) -> tuple[Session, str]:
    """Log a member in through the form; return the session and a CSRF token."""
    session = Session(port)
    token = session.csrf("/account/login")
    status, _h, _b = session.request(
        "POST", "/account/login", {"email": email, "password": PASSWORD, "csrf_token": token}
    )
    if status != 302:
        raise RuntimeError(f"login of {email} answered {status}")
    return session, session.csrf(f"/events/{event_id}/register")


def cpu_seconds(accept, children: bool = False) -> float:
    """Sum the CPU seconds (user + system) of the processes ``accept(pid, ppid, cmdline)`` takes.

    ``children``: with the CPU of their ended children they waited for (the worker's horses).
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # the process ended meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        if accept(int(entry.name), int(fields[1]), command):
            total += sum(int(f) for f in fields[11 : 15 if children else 13]) / tick
    return total


def burst_cpu(server_pid: int, worker_pid: int, database: str | None):
    """Return a reader of the CPU seconds of gunicorn's workers, the job worker (with its
    horses), the database's backends and this process (the client threads)."""

    def read() -> tuple[float, float, float, float]:
        workers = cpu_seconds(lambda pid, ppid, _cmd: ppid == server_pid)
        # the worker with its ended horses, and a horse still running
        job_worker = cpu_seconds(lambda pid, _ppid, _cmd: pid == worker_pid, children=True)
        job_worker += cpu_seconds(lambda _pid, ppid, _cmd: ppid == worker_pid)
        backends = (
            cpu_seconds(
                lambda _pid, _ppid, cmd: cmd.startswith("postgres:") and f" {database} " in cmd
            )
            if database
            else float("nan")  # SQLite runs inside the workers
        )
        return workers, job_worker, backends, time.process_time()

    return read


def timed(function):
    """Wrap a call so that it returns (result, seconds)."""

    def run():
        start = time.perf_counter()
        result = function()
        return result, time.perf_counter() - start

    return run


def db_state(uri: str, event_id: int) -> list[dict]:
    """Read the registrations of the event straight from the database."""
    engine = sa.create_engine(uri)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT r.id, r.seq, r.priority, r.status, r.profile_id, r.promoted_at,"
                    " (SELECT count(*) FROM attendees a WHERE a.registration_id = r.id"
                    "  AND a.cancelled_at IS NULL) AS seats"
                    " FROM registrations r WHERE r.event_id = :e ORDER BY r.seq"
                ),
                {"e": event_id},
            ).mappings()
            return [dict(r) for r in rows]
    finally:
        engine.dispose()


def outbox_state(uri: str, event_id: int) -> dict[str, tuple[int, int]]:
    """Count the event's outbox messages per kind: (all, composed with subject and body)."""
    engine = sa.create_engine(uri)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT kind, count(*) AS n,"
                    " sum(CASE WHEN subject <> '' AND body <> '' THEN 1 ELSE 0 END) AS composed"
                    " FROM outbox_messages WHERE event_id = :e GROUP BY kind"
                ),
                {"e": event_id},
            ).mappings()
            return {r["kind"]: (r["n"], r["composed"] or 0) for r in rows}
    finally:
        engine.dispose()


def wait_for_mail(uri: str, event_id: int, count: int, timeout: float = 60) -> bool:
    """Poll (every 10 ms) until ``count`` confirmations are composed; say whether the first
    look found them all already."""
    engine = sa.create_engine(uri)
    query = sa.text(
        "SELECT count(*) FROM outbox_messages WHERE event_id = :e AND kind = 'registered'"
        " AND body <> ''"
    )
    try:
        with engine.connect() as conn:
            deadline, first = time.monotonic() + timeout, True
            while conn.execute(query, {"e": event_id}).scalar() < count:
                conn.rollback()  # a fresh snapshot for the next look
                if time.monotonic() > deadline:
                    return False
                first = False
                time.sleep(0.01)
            return first
    finally:
        engine.dispose()


def check_mail(outbox: dict[str, tuple[int, int]], expected: dict[str, int]) -> list[str]:
    """Return the e-mails missing or not composed (nothing lost, nothing half-written)."""
    problems = []
    for kind, count in expected.items():
        stored, composed = outbox.get(kind, (0, 0))
        if stored != count or composed != count:
            problems.append(
                f"{kind} e-mails: {stored} stored, {composed} composed, expected {count}"
            )
    return problems


def check_registrations(rows: list[dict]) -> list[str]:
    """Return the violated expectations after the registration burst."""
    problems = []
    if len(rows) != MEMBERS:
        problems.append(f"{len(rows)} registrations stored, expected {MEMBERS}")
    if [r["seq"] for r in rows] != list(range(1, len(rows) + 1)):
        problems.append("arrival numbers have gaps or duplicates")
    confirmed = [r for r in rows if r["status"] == "confirmed"]
    waiting = [r for r in rows if r["status"] == "waiting"]
    if sum(r["seats"] for r in confirmed) != SEATS:
        problems.append(f"{sum(r['seats'] for r in confirmed)} seats confirmed, expected {SEATS}")
    if [r["seq"] for r in confirmed] != list(range(1, SEATS + 1)):
        problems.append("confirmed registrations are not the first arrivals")
    if len(waiting) != MEMBERS - SEATS:
        problems.append(f"{len(waiting)} waiting, expected {MEMBERS - SEATS}")
    if [r["seq"] for r in sorted(waiting, key=lambda r: (r["priority"], r["seq"]))] != [
        r["seq"] for r in waiting
    ]:
        problems.append("waiting list is not in arrival order")
    if len({r["profile_id"] for r in rows}) != len(rows):
        problems.append("a member was registered twice")
    return problems


def check_promotions(rows: list[dict], cancelled: set[int]) -> list[str]:
    """Return the violated expectations after the cancellation burst."""
    problems = []
    confirmed = [r for r in rows if r["status"] == "confirmed"]
    if sum(r["seats"] for r in confirmed) != SEATS:
        problems.append(f"{sum(r['seats'] for r in confirmed)} seats confirmed after cancelling")
    if {r["id"] for r in rows if r["status"] == "cancelled"} != cancelled:
        problems.append("cancelled registrations differ from the ones cancelled")
    promoted = [r for r in rows if r["promoted_at"] is not None]
    expected = list(range(SEATS + 1, SEATS + CANCELLATIONS + 1))
    if [r["seq"] for r in promoted] != expected:
        problems.append(f"promoted {[r['seq'] for r in promoted]}, expected {expected}")
    if sorted(promoted, key=lambda r: r["promoted_at"]) != promoted:
        problems.append("promotions did not happen in arrival order")
    return problems


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def run_backend(backend: str, code: Path = ROOT, label: str = "this checkout") -> dict:
    """Run the whole scenario on one database with the given code; return the figures."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-reg-{backend}-"))
    pg_name = None
    if backend == "postgresql":
        pg_name = f"bench_reg_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(
            f"{PG_SERVER}/postgres".replace("postgresql://", "postgresql+psycopg://"),
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{pg_name}"'))
        uri = f"{PG_SERVER}/{pg_name}".replace("postgresql://", "postgresql+psycopg://")
    else:
        uri = f"sqlite:///{workdir / 'bench.db'}"
    server = worker = None
    jobs_queue = f"bench-reg-{uuid.uuid4().hex[:8]}"
    try:
        started = time.perf_counter()
        setup = set_up(uri, code, jobs_queue)
        setup_seconds = time.perf_counter() - started
        event_id = setup["event_id"]
        port = free_port()
        worker = start_worker(uri, workdir / "worker.log", code, jobs_queue)
        server = start_server(uri, port, workdir / "gunicorn.log", code, jobs_queue)
        sessions = parallel(
            [(lambda e=e: log_in(port, e, event_id)) for e, _p in setup["members"]], limit=16
        )
        wait_until_idle(jobs_queue)
        requests = [
            session.prepared(
                "POST",
                f"/events/{event_id}/register",
                {
                    "csrf_token": token,
                    "profile_id": str(profile_id),
                    "attendees-0-name": f"Person {index}",
                    "attendees-0-email": f"person{index}@bench.example",
                },
            )
            for index, ((session, token), (_email, profile_id)) in enumerate(
                zip(sessions, setup["members"], strict=True)
            )
        ]

        read_cpu = burst_cpu(server.pid, worker.pid, pg_name)
        cpu_before = read_cpu()
        burst_start = time.perf_counter()
        results = parallel([timed(lambda r=r: send_prepared(port, r)) for r in requests[:MEMBERS]])
        burst_seconds = time.perf_counter() - burst_start
        composed_at_answer = wait_for_mail(uri, event_id, MEMBERS)
        drain_seconds = burst_seconds if composed_at_answer else time.perf_counter() - burst_start
        cpu_after = read_cpu()
        codes = [r[0][0] for r in results]
        latencies = [r[1] for r in results]
        errors = sum(1 for c in codes if c != 302)
        rows = db_state(uri, event_id)
        problems = check_registrations(rows)
        problems += check_mail(outbox_state(uri, event_id), {"registered": MEMBERS})

        by_profile = {profile_id: i for i, (_e, profile_id) in enumerate(setup["members"])}
        confirmed = [r for r in rows if r["status"] == "confirmed"]
        victims = confirmed[:: max(1, len(confirmed) // CANCELLATIONS)][:CANCELLATIONS]

        def cancel(row):
            session, token = sessions[by_profile[row["profile_id"]]]
            form = {"csrf_token": token, "confirm": "yes"}
            request = session.prepared("POST", f"/registrations/{row['id']}/cancel", form)
            return send_prepared(port, request)[0]

        cancel_start = time.perf_counter()
        cancel_results = parallel([timed(lambda r=r: cancel(r)) for r in victims])
        cancel_seconds = time.perf_counter() - cancel_start
        cancel_errors = sum(1 for (code, _t) in cancel_results if code != 302)
        rows_after = db_state(uri, event_id)
        problems += check_promotions(rows_after, {r["id"] for r in victims})
        problems += check_mail(
            outbox_state(uri, event_id),
            {"registered": MEMBERS, "cancelled": CANCELLATIONS, "promoted": CANCELLATIONS},
        )
        return {
            "backend": backend,
            "code": label,
            "setup_seconds": setup_seconds,
            "requests": MEMBERS,
            "errors": errors,
            "stored": len(rows),
            "confirmed": sum(1 for r in rows if r["status"] == "confirmed"),
            "waiting": sum(1 for r in rows if r["status"] == "waiting"),
            "throughput": MEMBERS / drain_seconds,
            "drain_seconds": drain_seconds,
            "burst_seconds": burst_seconds,
            # CPU per registration of the burst (until the last e-mail composed): gunicorn's
            # workers, the job worker, the database's backends, the client threads
            "app_cpu_ms": (cpu_after[0] - cpu_before[0]) / MEMBERS * 1000,
            "worker_cpu_ms": (cpu_after[1] - cpu_before[1]) / MEMBERS * 1000,
            "db_cpu_ms": (cpu_after[2] - cpu_before[2]) / MEMBERS * 1000,
            "client_cpu_ms": (cpu_after[3] - cpu_before[3]) / MEMBERS * 1000,
            "p50_ms": statistics.median(latencies) * 1000,
            "p95_ms": percentile(latencies, 0.95) * 1000,
            "max_ms": max(latencies) * 1000,
            "cancel_errors": cancel_errors,
            "promoted": sum(1 for r in rows_after if r["promoted_at"] is not None),
            "cancel_seconds": cancel_seconds,
            "cancel_p95_ms": percentile([t for _c, t in cancel_results], 0.95) * 1000,
            "problems": problems,
        }
    finally:
        for process in (server, worker):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
        discard_queue(jobs_queue)
        if pg_name:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
            admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


def machine() -> str:
    """Describe the machine: cores, CPU model, Python, load."""
    model = cpu_model()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"nproc {os.cpu_count()}, CPU {model}, Python {platform.python_version()}, "
        f"load average {load:.1f} at the start"
    )


def summary(results: list[dict]) -> list[dict]:
    """Return per backend the median drain time of the old and the new code and their ratio."""
    rows = []
    for backend in dict.fromkeys(r["backend"] for r in results):
        drains = {}
        for code in ("before", "after"):
            runs = [
                r["drain_seconds"] for r in results if (r["backend"], r["role"]) == (backend, code)
            ]
            drains[code] = statistics.median(runs) if runs else None
        if drains["before"] and drains["after"]:
            rows.append(
                {
                    "backend": backend,
                    "rounds": sum(
                        1 for r in results if (r["backend"], r["role"]) == (backend, "after")
                    ),
                    "before": drains["before"],
                    "after": drains["after"],
                    "ratio": drains["before"] / drains["after"],
                }
            )
    return rows


def render(results: list[dict], info: str, before: str | None) -> str:
    """Write the RESULTS.md section."""
    lines = [
        SECTION,
        "",
        f"Recorded by `bench/bench_registrations.py` on {date.today().isoformat()}; {info}.",
        f"gunicorn with {WORKERS} sync workers on loopback; {MEMBERS} members logged in through "
        f"the login form, then {MEMBERS} registrations (one attendee each) for {SEATS} seats fired "
        f"at once by {MEMBERS} threads (pre-encoded requests on raw sockets); then "
        f"{CANCELLATIONS} cancellations at once; a job worker on a queue of the run's own, idle "
        "when the burst starts. Arrival order = the arrival number taken under the event's row "
        f"lock. Drain = from releasing the {MEMBERS} registrations until the last answer and "
        "the last confirmation e-mail composed (polled every 10 ms after the last answer); "
        "*answers* = until the last answer alone. CPU of the job worker includes its work "
        "horses; PostgreSQL's is that of the backends alive at the end (a horse's backend "
        "that ended is not counted).",
        "",
    ]
    if before:
        lines += [
            f"Before and after in one run: the code of commit `{before}` (before the short locks) "
            "and this checkout, alternately on fresh databases; medians of the rounds.",
            "",
            "| backend | rounds | drain before | drain after | before / after |",
            "|---|---|---|---|---|",
        ]
        for row in summary(results):
            lines.append(
                f"| {row['backend']} | {row['rounds']} | {row['before']:.2f} s "
                f"| {row['after']:.2f} s | {row['ratio']:.1f}× |"
            )
        lines.append("")
    lines += [
        "| backend | code | drain | answers | CPU per registration (app / worker / PostgreSQL "
        "/ client) | requests | errors "
        "| stored | confirmed | waiting | throughput | p50 | p95 | max | cancellations "
        "| promoted in order | cancel p95 | checks |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        checks = "all passed" if not r["problems"] else "; ".join(r["problems"])
        lines.append(
            f"| {r['backend']} | {r['code']} | {r['drain_seconds']:.2f} s "
            f"| {r['burst_seconds']:.2f} s | {r['app_cpu_ms']:.1f} / {r['worker_cpu_ms']:.1f} / "
            f"{r['db_cpu_ms']:.1f} / {r['client_cpu_ms']:.1f} ms | {r['requests']} "
            f"| {r['errors']} | {r['stored']} "
            f"| {r['confirmed']} | {r['waiting']} | {r['throughput']:.0f} req/s "
            f"| {r['p50_ms']:.0f} ms | {r['p95_ms']:.0f} ms | {r['max_ms']:.0f} ms "
            f"| {CANCELLATIONS} ({r['cancel_errors']} errors) | {r['promoted']} "
            f"| {r['cancel_p95_ms']:.0f} ms | {checks} |"
        )
    lines += [
        "",
        "Latency is measured per request from the client threads, so it includes queueing "
        "behind the four workers (200 requests in flight at once). The machine is shared with "
        "other engineers' test runs, so absolute figures are noisy; the ratio of the alternating "
        "rounds and the correctness checks (no overbooking, nothing lost, order kept, every "
        "e-mail composed) are what this run shows.",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    """Replace (or append) this benchmark's section in RESULTS.md, leaving the others alone."""
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _m: text + "\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text + "\n"
    RESULTS.write_text(updated, encoding="utf-8")


def checkout(ref: str) -> Path:
    """Check the code of ``ref`` out into a temporary detached worktree."""
    target = Path(tempfile.mkdtemp(prefix="bench-reg-before-")) / "code"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(target), ref],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return target


def remove_checkout(target: Path) -> None:
    """Remove the temporary worktree again."""
    subprocess.run(
        ["git", "worktree", "remove", "--force", str(target)], cwd=ROOT, capture_output=True
    )
    shutil.rmtree(target.parent, ignore_errors=True)


def main() -> int:
    """Run the benchmark on the chosen backends and record the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], action="append")
    parser.add_argument(
        "--compare", nargs="?", const=BEFORE, metavar="REF", help="Also run the code of REF."
    )
    parser.add_argument("--rounds", type=int, default=3, help="Rounds per backend with --compare.")
    parser.add_argument("--no-write", action="store_true", help="Do not touch RESULTS.md.")
    parser.add_argument("--setup", metavar="URI", help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:  # the set-up step, run with the code under test on the path
        sys.path.insert(0, str(args.code))
        print(json.dumps(set_up_here(args.setup)))
        return 0
    info = f"{machine()}; rounds of old and new code alternate"
    before = checkout(args.compare) if args.compare else None
    results = []
    try:
        for backend in args.backend or ["postgresql", "sqlite"]:
            for round_no in range(args.rounds if before else 1):
                plan = [("after", ROOT, "this checkout")]
                if before:
                    plan.append(("before", before, args.compare))
                    plan = plan if round_no % 2 else plan[::-1]
                for role, code, label in plan:
                    print(f"== {backend} round {round_no + 1}: {label}", flush=True)
                    result = run_backend(backend, code, label)
                    result["role"] = role
                    print(result, flush=True)
                    results.append(result)
    finally:
        if before:
            remove_checkout(before)
    for row in summary(results):
        print(
            f"{row['backend']}: drain before {row['before']:.2f} s, after {row['after']:.2f} s, "
            f"ratio {row['ratio']:.1f}x",
            flush=True,
        )
    info += f", load average {os.getloadavg()[0]:.1f} at the end"
    if not args.no_write:
        write_section(render(results, info, args.compare))
    failed = [
        r
        for r in results
        if r["role"] == "after" and (r["problems"] or r["errors"] or r["cancel_errors"])
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
