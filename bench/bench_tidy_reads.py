"""What the import, the match overview and the schedule build read: CPU time and statements.

On SQLite (a file in a temporary directory), with profiles from ``gen_profiles.py``:

1. ``flask import-profiles`` of the generated file (in process): CPU seconds, statements;
2. the first model is fitted; the organisers' match overview, page 1 and page 2 at threshold 0,
   three requests each: median CPU per request, statements, and the profile rows read in full
   (the ids a statement reading ``profiles.description`` asks for; the whole table when it asks
   for no ids), first with the model of the current profiles, then with one profile added since;
3. an event with ``--participants`` confirmed organisations and a schedule build
   (``building.build``, solver capped at 2 s) with the model behind by one profile:
   statements and profile rows read in full.

CPU is ``time.process_time`` of this process (the other engineers' load does not distort it).
Run it once in the tree to compare (``--root /work/main``) and once here; the figures go to
the section "Reads of the import, the match overview and the build" of RESULTS.md.

Usage: ``/work/main/.venv/bin/python bench/bench_tidy_reads.py [--root DIR] [--smes N]
[--startups N] [--participants N]``
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import cpu_model, event_data, log  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=HERE.parent)
    parser.add_argument("--smes", type=int, default=2000)
    parser.add_argument("--startups", type=int, default=500)
    parser.add_argument("--participants", type=int, default=200)
    args = parser.parse_args()
    sys.path.insert(0, str(args.root.resolve()))
    run(args)


def run(args) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import event as sa_event
    from sqlalchemy import func, select

    from matchmaker.accounts.services import create_user
    from matchmaker.app import create_app
    from matchmaker.directory import services as directory
    from matchmaker.directory.models import Profile
    from matchmaker.events import registrations
    from matchmaker.extensions import db
    from matchmaker.matching import artefacts
    from matchmaker.scheduling import building

    log(f"matchmaker from {Path(building.__file__).parents[2]}")

    folder = Path(tempfile.mkdtemp(prefix="bench-tidy-"))
    source = folder / "profiles.json"
    subprocess.run(
        [
            *(sys.executable, str(HERE / "gen_profiles.py"), "--smes", str(args.smes)),
            *("--startups", str(args.startups), "--seed", "5", "-o", str(source)),
        ],
        check=True,
    )
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db",
            "SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "SCHEDULE_TIME_LIMIT": 2.0,
            "SCHEDULE_WORKERS": 1,
            "MATCHING_LOAD_IN_BACKGROUND": False,
        }
    )
    seen: list[tuple[str, object]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append((" ".join(statement.split()), parameters))

    def profile_rows(total: int) -> int:
        rows = 0
        for sql, parameters in seen:
            if sql.startswith("SELECT") and "profiles.description" in sql:
                values = parameters.values() if isinstance(parameters, dict) else parameters
                asked = [v for v in values if isinstance(v, int)]
                rows += len(asked) if " IN (" in sql else total
        return rows

    def measured(action) -> tuple[float, int, int]:
        total = db.session.scalar(select(func.count()).select_from(Profile))
        db.session.expire_all()
        seen.clear()
        sa_event.listen(db.engine, "before_cursor_execute", before)
        try:
            start = time.process_time()
            action()
            cpu = time.process_time() - start
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", before)
        return cpu, len(seen), profile_rows(total)

    figures: dict[str, tuple[float, int, int]] = {}
    with app.app_context():
        upgrade(directory=str(args.root / "migrations"))
        runner = app.test_cli_runner()

        def import_file():
            result = runner.invoke(args=["import-profiles", "--in-process", str(source)])
            assert result.exit_code == 0, result.output

        figures["import (CLI, in process)"] = measured(import_file)
        log(f"import: {figures['import (CLI, in process)']}")
        artefacts.refit()
        create_user("orga@bench.example", "Orga", "bench-passwort", organiser=True)
        db.session.commit()
    client = app.test_client()
    with app.app_context():
        response = client.post(
            "/account/login", data={"email": "orga@bench.example", "password": "bench-passwort"}
        )
        assert response.status_code == 302
    for state in ("model current", "one profile newer"):
        with app.app_context():
            if state == "one profile newer":
                data = {"name": "Nachzügler", "city": "Cottbus", "language": "de"}
                data |= {"description": "Wir suchen KI.", "tags": [], "categories": []}
                directory.create_profile("sme", data, None)
                db.session.commit()
            for page in (1, 2):
                url = f"/organiser/matches?threshold=0&page={page}"
                assert client.get(url).status_code == 200  # the model is loaded
                runs = [measured(lambda url=url: client.get(url)) for _ in range(3)]
                label = f"overview page {page}, {state}"
                figures[label] = (
                    statistics.median(r[0] for r in runs),
                    runs[-1][1],
                    runs[-1][2],
                )
                log(f"{label}: {figures[label]}")
    with app.app_context():
        now = datetime.now()
        event = registrations.create_event(event_data("Bench", args.participants * 2, now))
        db.session.commit()
        half = args.participants // 2
        smes = db.session.scalars(
            select(Profile).where(Profile.kind == "sme").order_by(Profile.id).limit(half)
        ).all()
        startups = db.session.scalars(
            select(Profile).where(Profile.kind == "startup").order_by(Profile.id).limit(half)
        ).all()
        for number, profile in enumerate([*smes, *startups]):
            registrations.register(event.id, profile, [(f"P {number}", f"p{number}@bench.example")])
        db.session.commit()

        def build():
            building.build(event, None)
            db.session.rollback()

        figures[f"build, {args.participants} participants, model behind"] = measured(build)
        log(f"build: {figures[f'build, {args.participants} participants, model behind']}")
    print(f"\nroot {args.root}; {cpu_model()}; {args.smes} SMEs + {args.startups} startups")
    print("| what | CPU s | statements | profile rows read in full |")
    print("|---|---:|---:|---:|")
    for label, (cpu, statements, rows) in figures.items():
        print(f"| {label} | {cpu:.3f} | {statements} | {rows} |")
    print(json.dumps({k: list(v) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
