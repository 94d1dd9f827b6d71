"""A 5,000-participant B2B brokerage end to end: import, match, build, PDF, publish (issue 14).

    /work/main/.venv/bin/python bench/bench_pipeline.py [--smes 3000 --startups 2000]
        [--slots 16 --tables 700] [--backend postgresql|sqlite] [--no-results]
        [--setup-only | --prepared DIR]

What it does, as an organiser would, on a fresh database (PostgreSQL on 127.0.0.1:5432, or a
SQLite file) and the Redis at 127.0.0.1:6379 (a queue of its own, so no other worker takes the
jobs):

1. generates the profiles with ``gen_profiles.py`` (German, some English and mixed needs and
   offerings) and the event: 16 slots (morning 1-8, coffee and lunch breaks), 700 tables, at
   most 8 meetings each;
2. **import**: ``flask import-profiles`` of the whole file, which hands a file of more than
   ``IMPORT_JOB_ROWS`` rows to an import job and follows its progress (the organisers' path for
   large files); the one ``flask jobs worker`` of the run is started before it;
3. the participants' side (not an organiser stage; rows written in bulk, see
   ``participants``): every profile registers one attendee, 29 % block slots (morning or
   afternoon only, or 1-3 slots), 15 % cap their meetings, 30 % send a meeting request (70 %
   accepted, 1 in 10 between two SMEs), 40 % mark "Unbedingt treffen" (must meet) and 20 %
   "Kein Interesse" (not interested);
4. starts gunicorn (2 workers), logs the organiser in through the login form;
5. **match**: the organisers' match overview and one SME's suggestions;
6. **build**, **pdf**, **publish**: each started with the schedule page's buttons (POST with the
   CSRF token), then the job page is polled once a second until the job ends, recording the
   progress and step it shows; the PDF is downloaded and its pages counted, the publish's e-mails
   are counted in the outbox;
7. reads the draft's score and the solver's bound from the build, and checks the schedule with
   the judge (``/work/shared/tools/check_schedule.py``) on the problem and schedule documents
   the app exports.

Memory: every 0.25 s the resident set of every process of the app (gunicorn master and workers,
the RQ worker and its work horses, the import command) is read from /proc; per stage the peak
of their sum and of the largest single process are reported. PostgreSQL and Redis are not counted.

Results go to the section "## 5,000-participant brokerage pipeline" of RESULTS.md.
"""

import argparse
import http.client
import itertools
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

from common import CSRF_RE, ROOT, VENV_BIN, Gunicorn, Session, cpu_model, log
from gen_profiles import generate

sys.path.insert(0, str(ROOT))

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## 5,000-participant brokerage pipeline"
JUDGE = Path("/work/shared/tools/check_schedule.py")
ORGANISER = "orga@pipeline.example"
PASSWORD = "pipeline-passwort-1"  # noqa: S105 - throwaway account in a throwaway database
TARGET_SECONDS = 600
TARGET_MIB = 4096
JOB_RE = re.compile(r"/jobs/(\d+)")
STATUS_RE = re.compile(r'id="job" data-status="(\w+)"')
PROGRESS_RE = re.compile(r'id="job-progress" max="100" value="(\d+)"')
STEP_RE = re.compile(r'id="job-step">([^<]*)<')
CONFIRMED_RE = re.compile(r'name="confirmed" type="hidden" value="([^"]+)"')


# -- processes and memory ----------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            found.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    return found


def rss_mib(pid: int) -> float:
    """Return a process's resident set in MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(roots: list[int]) -> float:
    """Return the CPU time (user + system) the process trees under ``roots`` used so far.

    Every live process counts its own time and that of the children it has reaped (a work
    horse's time moves to the worker when it ends).
    """
    children = _children()
    total, todo = 0, list(roots)
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(value) for value in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


class MemorySampler(threading.Thread):
    """Sample the RSS of the app's process trees; keep per-stage peaks (sum and largest)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.roots: dict[str, int] = {}
        self.stage = "setup"
        self.peaks: dict[str, dict[str, float]] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.25):
            children = _children()
            total, largest, by_root = 0.0, 0.0, {}
            for name, root in list(self.roots.items()):
                tree, todo = [], [root]
                while todo:
                    pid = todo.pop()
                    tree.append(pid)
                    todo.extend(children.get(pid, []))
                sizes = [rss_mib(pid) for pid in tree]
                by_root[name] = sum(sizes)
                total += by_root[name]
                largest = max([largest, *sizes])
            peak = self.peaks.setdefault(self.stage, {"sum": 0.0, "largest": 0.0})
            peak["sum"] = max(peak["sum"], total)
            peak["largest"] = max(peak["largest"], largest)
            for name, size in by_root.items():
                peak[name] = max(peak.get(name, 0.0), size)


def timed_command(cmd: list[str], env: dict, sampler: MemorySampler, name: str) -> dict:
    """Run a command, sampled as ``name``; return its seconds, peak RSS (from wait4) and output."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        sampler.roots[name] = process.pid
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        sampler.roots.pop(name, None)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    if process.returncode != 0:
        sys.stderr.write(text)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return {
        "seconds": time.perf_counter() - t0,
        "cpu": usage.ru_utime + usage.ru_stime,
        "maxrss_mib": usage.ru_maxrss / 1024,
        "output": text.strip(),
    }


# -- the event ---------------------------------------------------------------------------------


def event_data(args, now: datetime) -> dict:
    """Return the brokerage: one day, 16 slots of 20 minutes, breaks, 700 tables."""
    morning = args.slots // 2
    return {
        "title": "Lausitzer B2B-Kooperationsbörse",
        "date": date.today() + timedelta(days=30),
        "venue": "Messe Cottbus",
        "description": "KMU treffen Startups: KI für Verwaltung, Produktion und Handel.",
        "capacity": args.smes + args.startups,
        "registration_opens": now - timedelta(days=10),
        "registration_closes": now + timedelta(days=20),
        "first_slot": clock(9, 0),
        "slot_minutes": 20,
        "slot_count": args.slots,
        "morning_slots": morning,
        "breaks": [
            {"after_slot": morning // 2, "minutes": 15, "label": "Kaffeepause"},
            {"after_slot": morning, "minutes": 60, "label": "Mittagspause"},
            {"after_slot": morning + morning // 2, "minutes": 15, "label": "Kaffeepause"},
        ],
        "table_count": args.tables,
        "table_names": [],
        "max_meetings": 8,
    }


REQUEST_TEXTS = [
    "Wir würden gern über die automatische Erfassung unserer Eingangsrechnungen sprechen.",
    "Ihr Angebot zur vorausschauenden Wartung passt zu unseren Anlagen - haben Sie Zeit?",
    "Können wir uns zu Ihrer Lösung für Energieprognosen austauschen?",
    "Wir suchen Unterstützung bei der Digitalisierung unserer Dokumente.",
    "Gern würden wir Ihnen unseren Anwendungsfall in der Qualitätsprüfung vorstellen.",
    "Let's talk about your customer service assistant.",
    "",
]


def participants(url: str, args) -> dict:
    """Register everybody and store their availability and wishes, in bulk.

    The rows are those the events use cases write (a confirmed registration with one attendee,
    availability, meeting requests sent and accepted, marks), written directly: one by one
    through the use cases they take tens of minutes at this size on a busy machine, and the
    participants' side is not what this benchmark measures.
    """
    from sqlalchemy import select

    from matchmaker.app import create_app
    from matchmaker.core import clock as app_clock
    from matchmaker.directory.models import Profile
    from matchmaker.events import registrations
    from matchmaker.events.models import (
        ACCEPTED,
        CONFIRMED,
        MUST_MEET,
        NOT_INTERESTED,
        PENDING,
        Attendee,
        Availability,
        MeetingRequest,
        ProfileMark,
        Registration,
    )
    from matchmaker.extensions import db

    rng = random.Random(14)
    url = url.replace("postgresql://", "postgresql+psycopg://")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "pipeline-setup"})
    counts = {"registered": 0, "blocked": 0, "requests": 0, "accepted": 0}
    counts.update({"must_meet": 0, "not_interested": 0})
    with app.app_context():
        event = registrations.create_event(event_data(args, app_clock.local_now()))
        db.session.flush()
        rows = db.session.execute(
            select(Profile.id, Profile.kind, Profile.language).order_by(Profile.id)
        ).all()
        smes = [pid for pid, kind, _lang in rows if kind == "sme"]
        startups = [pid for pid, kind, _lang in rows if kind == "startup"]
        now = app_clock.utcnow()
        for seq, (pid, _kind, language) in enumerate(rows, start=1):
            email = f"teilnehmer{pid}@pipeline.example"
            registration = Registration(
                event_id=event.id,
                profile_id=pid,
                status=CONFIRMED,
                seq=seq,
                priority=seq,
                locale="en" if language == "en" else "de",
                confirmed_at=now,
            )
            registration.attendees.append(
                Attendee(
                    event_id=event.id,
                    name=f"Ansprechpartner {pid}",
                    email=email,
                    email_key=email,
                )
            )
            db.session.add(registration)
            event.last_seq = seq
            counts["registered"] += 1
        slots = range(1, args.slots + 1)
        half = args.slots // 2
        for pid, _kind, _lang in rows:
            draw = rng.random()
            if draw < 0.12:  # only in the morning or only in the afternoon
                blocked = list(slots[half:]) if rng.random() < 0.5 else list(slots[:half])
            elif draw < 0.30:  # an appointment or a late arrival
                blocked = sorted(rng.sample(list(slots), rng.randint(1, 3)))
            else:
                blocked = []
            desired = rng.choice([4, 5, 6]) if rng.random() < 0.15 else None
            if blocked or desired is not None:
                db.session.add(
                    Availability(
                        event_id=event.id,
                        profile_id=pid,
                        unavailable_slots=blocked,
                        desired_meetings=desired,
                    )
                )
                counts["blocked"] += bool(blocked)
        pairs: set[tuple[int, int]] = set()

        def fresh_pair(pool_a, pool_b):
            while True:
                a, b = rng.choice(pool_a), rng.choice(pool_b)
                key = (min(a, b), max(a, b))
                if a != b and key not in pairs:
                    pairs.add(key)
                    return (a, b) if rng.random() < 0.6 else (b, a)

        for n in range(len(rows) * 3 // 10):
            sender, target = fresh_pair(smes, startups) if n % 10 else fresh_pair(smes, smes)
            accepted = rng.random() < 0.7
            db.session.add(
                MeetingRequest(
                    event_id=event.id,
                    from_profile_id=sender,
                    to_profile_id=target,
                    message=rng.choice(REQUEST_TEXTS),
                    status=ACCEPTED if accepted else PENDING,
                    answered_at=now if accepted else None,
                )
            )
            counts["requests"] += 1
            counts["accepted"] += accepted
        for kind, share in ((MUST_MEET, 0.4), (NOT_INTERESTED, 0.2)):
            for _n in range(int(len(rows) * share)):
                sender, target = fresh_pair(smes, startups)
                db.session.add(
                    ProfileMark(
                        event_id=event.id, from_profile_id=sender, to_profile_id=target, kind=kind
                    )
                )
                counts[kind] += 1
        db.session.commit()
        counts["event_id"] = event.id
        db.session.remove()
        db.engine.dispose()
    return counts


# -- web and jobs ------------------------------------------------------------------------------


class Server(Gunicorn):
    """gunicorn with the app on a free port."""

    def healthy(self) -> bool:
        return Session(self.port).request("GET", "/healthz")[0] == 200


def log_in(port: int) -> Session:
    """Log the organiser in through the login form."""
    session = Session(port)
    token = session.csrf("/account/login")
    form = {"email": ORGANISER, "password": PASSWORD, "csrf_token": token}
    status, _headers, _body = session.request("POST", "/account/login", form)
    if status != 302:
        raise SystemExit(f"organiser login answered {status}")
    return session


def timed_get(session: Session, path: str) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    status, _headers, body = session.request("GET", path)
    return time.perf_counter() - t0, status, body


def follow_job(session: Session, start: tuple[int, dict, str], label: str) -> dict:
    """Poll the job page once a second until the job ends; return its timeline."""
    status, headers, _body = start
    match = JOB_RE.search(headers.get("Location", ""))
    if status != 302 or not match:
        raise SystemExit(f"{label}: starting the job answered {status} {headers.get('Location')}")
    job_id = int(match.group(1))
    t0 = time.perf_counter()
    seen: list[tuple[float, int, str]] = []
    polls, slow_polls, longest_poll = 0, 0, 0.0
    while True:
        took, code, body = timed_get(session, f"/jobs/{job_id}")
        polls += 1
        longest_poll = max(longest_poll, took)
        slow_polls += took > 1.0
        if code != 200:
            raise SystemExit(f"{label}: job page answered {code}")
        state = STATUS_RE.search(body).group(1)
        progress = int(PROGRESS_RE.search(body).group(1))
        step = STEP_RE.search(body).group(1).strip()
        now = time.perf_counter() - t0
        if not seen or seen[-1][1:] != (progress, step):
            seen.append((now, progress, step))
            log(f"  {label}: {state} {progress} % {step}")
        if state not in ("queued", "running"):
            error = re.search(r'id="job-error"><p>([^<]*)<', body)
            if state != "finished":
                log(f"  {label}: {error.group(1) if error else state}")
            break
        time.sleep(1.0)
    changes = [b[0] - a[0] for a, b in itertools.pairwise(seen)]
    return {
        "job_id": job_id,
        "state": state,
        "seconds": time.perf_counter() - t0,
        "polls": polls,
        "updates": len(seen),
        "longest_still": max(changes, default=0.0),
        "longest_poll": longest_poll,
        "slow_polls": slow_polls,
        "body": body,
    }


def download(session: Session, path: str) -> bytes:
    """Return the body of a GET as bytes (a file download)."""
    conn = http.client.HTTPConnection("127.0.0.1", session.port, timeout=300)
    try:
        cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}")
        return data
    finally:
        conn.close()


def start_job(session: Session, path: str, token: str, extra: dict | None = None):
    return session.request("POST", path, {"csrf_token": token, **(extra or {})})


# -- the run -----------------------------------------------------------------------------------


class Database:
    """A fresh database: PostgreSQL (dropped at the end) or a SQLite file."""

    def __init__(self, backend: str, workdir: Path) -> None:
        self.backend = backend
        if backend == "postgresql":
            self.name = f"mm_pipeline_{uuid.uuid4().hex[:8]}"
            self.url = f"{PG_SERVER}/{self.name}"
        else:
            self.url = f"sqlite:///{workdir / 'pipeline.db'}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(sql)

    def create(self) -> None:
        if self.backend == "postgresql":
            self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.backend == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def scalar(self, sql: str, *params):
        """Return the first column of the first row of a query."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            with engine.connect() as conn:
                return conn.execute(
                    sa.text(sql), {str(i): p for i, p in enumerate(params)}
                ).scalar()
        finally:
            engine.dispose()

    def analyze(self) -> None:
        if self.backend == "postgresql":
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute("ANALYZE")


def judge(session: Session, event_id: int, workdir: Path) -> dict:
    """Run the judge on the problem and the schedule the app exports."""
    documents = {}
    for name in ("problem", "schedule"):
        status, _headers, body = session.request("GET", f"/events/{event_id}/schedule/{name}.json")
        if status != 200:
            raise SystemExit(f"{name}.json answered {status}")
        documents[name] = workdir / f"{name}.json"
        documents[name].write_text(body, encoding="utf-8")
    if not JUDGE.exists():
        return {"ok": None, "output": f"{JUDGE} not found"}
    checked = subprocess.run(
        [sys.executable, str(JUDGE), str(documents["problem"]), str(documents["schedule"])],
        capture_output=True,
        text=True,
        check=False,
    )
    return {"ok": checked.returncode == 0, "output": checked.stdout.strip()[-600:]}


def pdf_pages(data: bytes) -> int:
    """Count the pages of a PDF."""
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def start_worker(env: dict, sampler: MemorySampler, workdir: Path) -> subprocess.Popen:
    """Start the run's one ``flask jobs worker`` (sampled as ``worker``)."""
    worker_log = (workdir / "worker.log").open("a")
    worker = subprocess.Popen(
        [str(VENV_BIN / "flask"), "--app", "wsgi", "jobs", "worker"],
        cwd=ROOT,
        env=env,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    sampler.roots["worker"] = worker.pid
    return worker


def prepare(args, database, env: dict, sampler: MemorySampler, workdir: Path, result: dict):
    """Migrate, start the worker, import the profiles through a job (timed), let everybody
    register; return the event id and the worker."""
    flask = [str(VENV_BIN / "flask"), "--app", "wsgi"]
    stages = result["stages"]
    result["database_url"] = database.url
    timed_command([*flask, "db", "upgrade"], env, sampler, "migrate")
    timed_command(
        [*flask, "create-organiser", ORGANISER, "--name", "Messe-Team", "--password", PASSWORD],
        env,
        sampler,
        "cli",
    )
    profiles = workdir / "profiles.json"
    document = generate(args.smes, args.startups, seed=14)
    profiles.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    worker = start_worker(env, sampler, workdir)
    log(f"import of {args.smes} SMEs and {args.startups} startups")
    sampler.stage = "import"
    cpu0 = cpu_seconds([worker.pid])
    done = timed_command([*flask, "import-profiles", str(profiles)], env, sampler, "import")
    output = done["output"].splitlines()
    stages["import"] = {
        "seconds": done["seconds"],
        "cpu": done["cpu"] + cpu_seconds([worker.pid]) - cpu0,
        "note": f"{output[0]} ({len(output) - 2} progress updates seen); {output[-1]}",
    }
    database.analyze()
    log("participants: registrations, blocked slots, requests and wishes (bulk)")
    sampler.stage = "participants"
    t0 = time.perf_counter()
    counts = participants(database.url, args)
    result["participants"] = counts
    result["participants_seconds"] = time.perf_counter() - t0
    database.analyze()
    event_id = counts["event_id"]
    log(f"participants: {counts} in {result['participants_seconds']:.0f} s")
    result["event_id"] = event_id
    result["memory_import"] = sampler.peaks.get("import", {})
    return event_id, worker


def run(args, workdir: Path) -> dict:
    database = Database(args.backend, workdir)
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database.url,
        SECRET_KEY="pipeline-bench-secret",  # noqa: S106 - a throwaway app
        MATCHMAKER_ENV="development",
        JOBS_QUEUE=f"pipeline-{uuid.uuid4().hex[:8]}",
        REDIS_URL="redis://127.0.0.1:6379/0",
        FLASK_APP="wsgi",
    )
    sampler = MemorySampler()
    sampler.start()
    result: dict = {"stages": {}, "load_start": os.getloadavg()[0]}
    stages = result["stages"]
    server = worker = None
    if args.prepared:
        # a database made by --setup-only: its import and participants are taken from that run
        earlier = json.loads((Path(args.prepared) / "result.json").read_text())
        database.url, database.name = earlier["database_url"], earlier["database_url"][-20:]
        env["DATABASE_URL"] = database.url
        for key in ("participants", "participants_seconds", "event_id"):
            result[key] = earlier[key]
        stages["import"] = earlier["stages"]["import"]
        result["memory_import"] = earlier["memory_import"]
        event_id = earlier["event_id"]
    else:
        database.create()
    try:
        if not args.prepared:
            event_id, worker = prepare(args, database, env, sampler, workdir, result)
            if args.setup_only:
                log(f"database ready: {database.url} (event {event_id})")
                return result

        sampler.stage = "start"
        server = Server(env, 2, "gthread", 4, workdir / "gunicorn.log", "warning")
        sampler.roots["web"] = server.process.pid
        if worker is None:
            worker = start_worker(env, sampler, workdir)
        session = log_in(server.port)

        def app_cpu() -> float:
            return cpu_seconds([server.process.pid, worker.pid])

        pipeline_t0 = time.perf_counter()

        log("match: the organisers' overview and one SME's suggestions")
        sampler.stage = "match"
        cpu0 = app_cpu()
        t0 = time.perf_counter()
        took_overview, status, _body = timed_get(session, "/organiser/matches")
        if status != 200:
            raise SystemExit(f"/organiser/matches answered {status}")
        sme = database.scalar("SELECT min(id) FROM profiles WHERE kind = 'sme'")
        took_profile, status, body = timed_get(session, f"/profiles/{sme}")
        if status != 200:
            raise SystemExit(f"/profiles/{sme} answered {status}")
        stages["match"] = {
            "cpu": app_cpu() - cpu0,
            "seconds": time.perf_counter() - t0,
            "note": f"overview {took_overview:.1f} s, one profile with suggestions "
            f"{took_profile:.2f} s",
        }

        took_page, status, body = timed_get(session, f"/events/{event_id}/schedule")
        token = CSRF_RE.search(body).group(1)
        log(f"build (schedule page {took_page:.2f} s)")
        sampler.stage = "build"
        cpu0 = app_cpu()
        t0 = time.perf_counter()
        answer = start_job(session, f"/events/{event_id}/schedule/build", token)
        build_answer = time.perf_counter() - t0
        followed = follow_job(session, answer, "build")
        stats = database.scalar(
            "SELECT stats FROM schedule_versions WHERE event_id = :0 ORDER BY id DESC LIMIT 1",
            event_id,
        )
        stats = json.loads(stats) if isinstance(stats, str) else stats or {}
        stages["build"] = {
            "cpu": app_cpu() - cpu0,
            **followed,
            "seconds": time.perf_counter() - t0,
            "note": f"request answered in {build_answer:.2f} s; {stats.get('placed')} meetings, "
            f"{stats.get('summary', '')}",
        }
        result["schedule"] = {
            k: stats.get(k)
            for k in ("score", "score_bound", "gap", "placed", "unscheduled", "holes", "seconds")
        }
        result["schedule"]["status"] = stats.get("status")
        result["schedule"]["optimal"] = stats.get("optimal")
        result["candidates"] = database.scalar(
            "SELECT count(*) FROM schedule_meetings m JOIN schedule_versions v"
            " ON v.id = m.version_id WHERE v.event_id = :0",
            event_id,
        )

        log("pdf of all agendas")
        sampler.stage = "pdf"
        cpu0 = app_cpu()
        t0 = time.perf_counter()
        answer = start_job(session, f"/events/{event_id}/schedule/agendas.pdf", token)
        followed = follow_job(session, answer, "pdf")
        pdf = download(session, f"/jobs/{followed['job_id']}/download")
        pages = pdf_pages(pdf) if followed["state"] == "finished" else 0
        stages["pdf"] = {
            "cpu": app_cpu() - cpu0,
            **followed,
            "seconds": time.perf_counter() - t0,
            "note": f"{pages} pages, {len(pdf) / 2**20:.1f} MiB",
        }
        result["pdf_pages"] = pages

        log("publish with e-mails")
        sampler.stage = "publish"
        cpu0 = app_cpu()
        t0 = time.perf_counter()
        took_confirm, status, body = timed_get(session, f"/events/{event_id}/schedule/publish")
        confirmed = CONFIRMED_RE.search(body)
        if status != 200 or not confirmed:
            raise SystemExit(f"publish confirmation page answered {status}")
        answer = start_job(
            session,
            f"/events/{event_id}/schedule/publish",
            token,
            {"confirmed": confirmed.group(1)},
        )
        followed = follow_job(session, answer, "publish")
        mails = database.scalar(
            "SELECT count(*) FROM outbox_messages WHERE event_id = :0 AND kind = 'schedule'",
            event_id,
        )
        stages["publish"] = {
            "cpu": app_cpu() - cpu0,
            **followed,
            "seconds": time.perf_counter() - t0,
            "note": f"confirmation page {took_confirm:.1f} s; {mails} e-mails in the outbox",
        }
        result["mails"] = mails
        result["total_seconds"] = time.perf_counter() - pipeline_t0 + stages["import"]["seconds"]
        result["judge"] = judge(session, event_id, workdir)
        result["load_end"] = os.getloadavg()[0]
        for name in stages:
            stages[name].pop("body", None)
    finally:
        sampler.halt.set()
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        if server is not None:
            server.stop()
        if not (args.keep or args.prepared):
            database.drop()
        else:
            log(f"kept database {database.url}")
    result["memory"] = sampler.peaks
    return result


# -- report ------------------------------------------------------------------------------------


def machine() -> str:
    return f"nproc {os.cpu_count()}, CPU {cpu_model()}, Python {platform.python_version()}"


def render(args, result: dict) -> str:
    stages, memory = result["stages"], dict(result["memory"])
    memory["import"] = result.get("memory_import") or memory.get("import", {})
    sched = result["schedule"]
    score, bound = sched.get("score") or 0, sched.get("score_bound") or 0
    within = (bound - score) / bound * 100 if bound else float("nan")
    peak = max(m["sum"] for m in memory.values())
    lines = [
        SECTION,
        "",
        f"Recorded by `bench/bench_pipeline.py` on {date.today().isoformat()} ({args.backend}, "
        f"Redis, gunicorn 2 gthread workers x 4 threads, one `flask jobs worker`); {machine()}; "
        f"load average {result['load_start']:.1f} at the start, {result['load_end']:.1f} at "
        "the end (shared machine).",
        "",
        f"Event: {args.smes:,} SMEs + {args.startups:,} startups, {args.slots} slots, "
        f"{args.tables} tables, at most 8 meetings each. Participants (rows written in bulk, "
        f"{result['participants_seconds']:.0f} s, not an organiser stage): "
        + ", ".join(f"{k} {v}" for k, v in result["participants"].items() if k != "event_id")
        + ".",
        "",
        "| stage | seconds | CPU seconds | peak RSS, all app processes | largest process "
        "| progress seen | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("import", "match", "build", "pdf", "publish"):
        stage, mem = stages.get(name, {}), memory.get(name, {})
        seen = (
            f"{stage['updates']} updates in {stage['polls']} polls, longest still "
            f"{stage['longest_still']:.0f} s, slowest poll {stage['longest_poll']:.2f} s"
            if "polls" in stage
            else "–"
        )
        lines.append(
            f"| {name} | {stage.get('seconds', 0):.1f} | {stage.get('cpu', 0):.1f} "
            f"| {mem.get('sum', 0):.0f} MiB "
            f"| {mem.get('largest', 0):.0f} MiB | {seen} | {stage.get('note', '')} |"
        )
    total = result["total_seconds"]
    cpu = sum(stages[name].get("cpu", 0) for name in stages)
    lines += [
        f"| **all** | **{total:.0f}** (target ≤ {TARGET_SECONDS}) | {cpu:.0f} "
        f"| **{peak:.0f} MiB** (target ≤ {TARGET_MIB}) | | | |",
        "",
        f"Schedule: score {score} of bound {bound} (solver units), {within:.2f} % below the "
        f"bound (target ≤ 1 %); {sched.get('placed')} meetings placed, {sched.get('holes')} holes, "
        f"solver status {sched.get('status')}, {sched.get('seconds')} s in the solver. "
        f"Judge: {'valid' if result['judge']['ok'] else result['judge']['output']}"
        f" `{result['judge']['output'][:300]}`.",
        f"PDF: {result['pdf_pages']} pages. Publish: {result['mails']} e-mails in the outbox.",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    current = RESULTS.read_text(encoding="utf-8")
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _m: text + "\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text + "\n"
    RESULTS.write_text(updated, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smes", type=int, default=3000)
    parser.add_argument("--startups", type=int, default=2000)
    parser.add_argument("--slots", type=int, default=16)
    parser.add_argument("--tables", type=int, default=700)
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--no-results", action="store_true", help="do not touch RESULTS.md")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--prepared", help="directory of a --setup-only run: use its database (kept afterwards)"
    )
    parser.add_argument(
        "--setup-only", action="store_true", help="stop after the participants (implies --keep)"
    )
    args = parser.parse_args(argv)
    args.keep = args.keep or args.setup_only
    workdir = Path(tempfile.mkdtemp(prefix="pipeline-"))
    try:
        result = run(args, workdir)
        (workdir / "result.json").write_text(json.dumps(result, indent=1, default=str))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.setup_only:
        return 0
    text = render(args, result)
    print(text)
    print(json.dumps(result, indent=1, default=str))
    if not args.no_results:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
