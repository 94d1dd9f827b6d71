"""CPU of the registration request in this process: the burst of bench_registrations.py, serially.

Sets up a fresh PostgreSQL database as ``bench_registrations.py`` does (its migrations, an event
with 50 seats, 200 members with a profile each), logs the members in through the login form
(one Flask test client each, CSRF on, the gunicorn run's settings) and sends their 200
registrations one after the other, printing the CPU of this process per registration
(``time.process_time``: the app and the database driver, not PostgreSQL) and the statements.
``--profile N`` prints the N most expensive functions of a cProfile of the registrations.
For development: the other engineers' load does not distort CPU time as it does wall clock.

Usage: ``python bench/registration_cpu.py [--rounds 3] [--profile 30]``
"""

import argparse
import cProfile
import os
import pstats
import re
import secrets
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_registrations as bench

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="Fresh databases, one after another.")
    parser.add_argument("--profile", type=int, default=0, help="Print this many profile rows.")
    args = parser.parse_args()
    import sqlalchemy as sa

    admin = sa.create_engine(
        f"{bench.PG_SERVER}/postgres".replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
    )
    jobs_queue = f"reg-cpu-{uuid.uuid4().hex[:8]}"
    names = [f"reg_cpu_{uuid.uuid4().hex[:8]}" for _ in range(args.rounds)]
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        uris = [
            f"{bench.PG_SERVER}/{name}".replace("postgresql://", "postgresql+psycopg://")
            for name in names
        ]
        setups = [bench.set_up(uri, bench.ROOT, jobs_queue) for uri in uris]
        env = bench.code_env(uris[0], jobs_queue)
        env.update(SECRET_KEY=secrets.token_hex(32), LOGIN_RATE_LIMIT="100000 per minute")
        os.environ.update(env)
        from matchmaker.app import create_app
        from matchmaker.extensions import db

        for uri, setup in zip(uris, setups, strict=True):
            app = create_app({"SQLALCHEMY_DATABASE_URI": uri})
            measure(app, db, setup, args.profile)
    finally:
        bench.discard_queue(jobs_queue)
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


def measure(app, db, setup: dict, profile_rows: int) -> None:
    from sqlalchemy import event

    event_id = setup["event_id"]
    requests = []
    for index, (email, profile_id) in enumerate(setup["members"]):
        client = app.test_client()
        headers = {"Accept-Language": "de"}
        page = client.get("/account/login", headers=headers).get_data(as_text=True)
        form = {"email": email, "password": bench.PASSWORD, "csrf_token": CSRF_RE.search(page)[1]}
        assert client.post("/account/login", data=form, headers=headers).status_code == 302
        page = client.get(f"/events/{event_id}/register", headers=headers).get_data(as_text=True)
        form = {
            "csrf_token": CSRF_RE.search(page)[1],
            "profile_id": str(profile_id),
            "attendees-0-name": f"Person {index}",
            "attendees-0-email": f"person{index}@bench.example",
        }
        requests.append((client, form))
    statements = []
    with app.app_context():
        engine = db.engine

    def count(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    url = f"/events/{event_id}/register"
    profiler = cProfile.Profile(time.process_time) if profile_rows else None
    started = time.process_time()
    if profiler:
        profiler.enable()
    for client, form in requests:
        response = client.post(url, data=form, headers={"Accept-Language": "de"})
        assert response.status_code == 302, response.status_code
    if profiler:
        profiler.disable()
    cpu = time.process_time() - started
    event.remove(engine, "before_cursor_execute", count)
    n = len(requests)
    print(
        f"{n} registrations: {cpu / n * 1000:.2f} ms CPU each, "
        f"{len(statements) / n:.1f} statements each{' (profiled)' if profiler else ''}"
    )
    if profiler:
        stats = pstats.Stats(profiler).sort_stats("cumulative")
        stats.print_stats(profile_rows)
        stats.sort_stats("tottime").print_stats(profile_rows)
        for name in os.environ.get("CALLEES", "").split(","):
            if name:
                stats.sort_stats("cumulative").print_callees(name)


if __name__ == "__main__":
    sys.exit(main())
