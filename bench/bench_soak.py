"""Soak and failures (issue 6, "Bad input and load"): gunicorn on PostgreSQL under a mixed load.

1. Setup: a fresh PostgreSQL database; ``flask db upgrade``, ``flask demo``, ``flask schedule
   build --publish`` (the demo event's schedule, for the agenda views) and ``flask
   import-profiles`` with profiles from ``bench/gen_profiles.py``; then, through the app's
   services, a soak event with a large capacity, members owning a profile each with an API
   token, and an organiser token; last ``flask match fit``, the refit the job worker would run
   after these changes (no job worker runs here; the setup's jobs go to a queue of the run,
   deleted at the end).
2. gunicorn (``gunicorn.conf.py``; sync workers; ``GUNICORN_MAX_REQUESTS=0`` so that worker
   recycling cannot hide memory growth) on a free loopback port.
3. A load generator in this process: an open-loop schedule at a fixed offered rate (one request
   every 1/rate seconds) served by a bounded pool of threads. The mix: directory browsing
   (queries, filters, pages), profile pages (with suggestions), API suggestions, API
   registrations (bearer tokens, unique e-mails), agenda views (HTML as the organiser; API
   schedule with the organiser token). Latency is measured from the *scheduled* start, so a
   server (or client) that falls behind shows up in the figures (no coordinated omission).
   Any status other than the expected one (200, or 201 for a registration) or any client
   exception is an error.
4. Ramp: steps of ``--step-seconds`` at increasing rates until p95 > 100 ms or an error; the
   highest passing rate is used for the soak.
5. Soak: ``--soak-seconds`` at that rate; worker RSS (``/proc/<pid>/status`` VmRSS of the
   master's children) sampled every 2 s; every acknowledged (201) registration is looked up in
   the database afterwards (registration id and attendee e-mail).
6. Failures: ``--failure-seconds`` at the same rate; ``kill -9`` of one worker, later a restart
   of PostgreSQL (``pg_ctlcluster ... restart``). Errors are counted per disruption window and
   the time from the disruption to its last error is reported; acknowledged registrations are
   checked again. PostgreSQL is started again if it is not running at the end.

Usage: ``/work/venv/bin/python bench/bench_soak.py [--quick] [--no-results]``; the figures are
printed, and written to the section "Soak and failures" of bench/RESULTS.md.
"""

import argparse
import http.client
import json
import os
import platform
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from common import Gunicorn, cpu_model, event_data, log

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VENV_BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Soak and failures"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
TARGET_P95_MS = 100.0
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
DEMO_PASSWORD = "demo-passwort"  # noqa: S105 - the documented demo account
ORGANISER = "orga@ki-tag-lausitz.example"
MEMBERS = 20
CLIENT_THREADS = 48
REQUEST_TIMEOUT = 30.0
IMPORT_CHUNK = 2000

# Share of each kind of request in the mix (sums to 100).
MIX = {
    "directory": 35,
    "profile_page": 20,
    "api_suggestions": 15,
    "registration": 15,
    "agenda": 10,
    "api_schedule": 5,
}
DIRECTORY_URLS = [
    "/directory",
    "/directory?page=2",
    "/directory?q=Rechnung&kind=sme",
    "/directory?q=Rechnung&sector=energy",
    "/directory?q=Daten&kind=sme",
    "/directory?q=Daten&kind=startup&page=3",
    "/directory?q=Wartung+Sensoren&category=predictive_maintenance&page=2",
    "/directory?q=Wartung",
    "/directory?q=Logistik&kind=startup",
    "/directory?q=Energie",
    "/directory?kind=startup",
    "/directory?kind=sme&page=5",
    "/directory?category=predictive_maintenance",
    "/directory?sector=energy&page=2",
    "/directory?q=KI&sort=name",
    "/directory?q=Qualit%C3%A4t+Bilder",
]


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def run(cmd: list[str], env: dict) -> str:
    result = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return result.stdout


# -- PostgreSQL ----------------------------------------------------------------------------


def pg_cluster() -> tuple[str, str]:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    return version, "main"


def pg_ctl(action: str) -> subprocess.CompletedProcess:
    version, name = pg_cluster()
    return subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def pg_accepts() -> bool:
    import psycopg

    try:
        with psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def ensure_pg_running() -> None:
    """Start PostgreSQL again if it does not accept connections (never leave it down)."""
    for _ in range(3):
        if pg_accepts():
            return
        log("PostgreSQL does not answer: starting it")
        pg_ctl("start")
        time.sleep(2)
    if not pg_accepts():
        log("WARNING: PostgreSQL still does not answer")


class Database:
    def __init__(self) -> None:
        self.name = f"mm_soak_{uuid.uuid4().hex[:8]}"
        self.url = f"{PG_SERVER}/{self.name}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(sql)

    def create(self) -> None:
        self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def stored_registrations(self, event_id: int) -> dict[int, set[str]]:
        """Return registration id -> attendee e-mails of the event, read with psycopg."""
        import psycopg

        stored: dict[int, set[str]] = defaultdict(set)
        with psycopg.connect(self.url) as conn:
            rows = conn.execute(
                "SELECT r.id, a.email FROM registrations r"
                " JOIN attendees a ON a.registration_id = r.id WHERE r.event_id = %s",
                (event_id,),
            )
            for reg_id, email in rows:
                stored[reg_id].add(email)
        return stored


# -- setup ---------------------------------------------------------------------------------


def prepare(database: Database, env: dict, args, workdir: Path) -> dict:
    """Migrate, load the demo and bulk profiles, publish the demo schedule, create the soak data."""
    flask = [str(VENV_BIN / "flask"), "--app", "wsgi"]
    database.create()
    run([*flask, "db", "upgrade"], env)
    run([*flask, "demo"], env)
    run([*flask, "schedule", "build", "--publish", "--time-limit", "5"], env)
    profiles = workdir / "profiles.json"
    run(
        [
            sys.executable,
            str(ROOT / "bench" / "gen_profiles.py"),
            "--smes",
            str(args.smes),
            "--startups",
            str(args.startups),
            "--seed",
            "6",
            "-o",
            str(profiles),
        ],
        env,
    )
    document = json.loads(profiles.read_text(encoding="utf-8"))
    rows = [("smes", r) for r in document["smes"]] + [("startups", r) for r in document["startups"]]
    for number, start in enumerate(range(0, len(rows), IMPORT_CHUNK)):
        part: dict[str, list] = {"smes": [], "startups": []}
        for key, row in rows[start : start + IMPORT_CHUNK]:
            part[key].append(row)
        path = workdir / f"import-{number}.json"
        path.write_text(json.dumps(part, ensure_ascii=False), encoding="utf-8")
        run([*flask, "import-profiles", "--in-process", str(path)], env)
    data = soak_data(database.url, env["JOBS_QUEUE"])
    # What the job worker does after the import and the soak's profiles (a refit of the stored
    # model): without it every worker would serve suggestions from the demo's model and
    # vectorise each of the 2,500 newer profiles on every request for it.
    run([*flask, "match", "fit"], env)
    import psycopg

    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    return data


def soak_data(url: str, jobs_queue: str) -> dict:
    """Create the soak event, members with profiles and tokens; collect the request targets."""
    from sqlalchemy import select

    from matchmaker.accounts.models import User
    from matchmaker.api import services as api
    from matchmaker.app import create_app
    from matchmaker.core import clock
    from matchmaker.directory import services as directory
    from matchmaker.directory.models import Profile
    from matchmaker.events import registrations
    from matchmaker.events.models import Event
    from matchmaker.extensions import db
    from matchmaker.scheduling import versions

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://"),
            "SECRET_KEY": "soak-setup",
            "JOBS_QUEUE": jobs_queue,
        }
    )
    with app.app_context():
        demo = db.session.scalar(select(Event).where(Event.title.like("KI-Tag Lausitz%")))
        version = versions.published_version(demo)
        if version is None:
            raise SystemExit("the demo event has no published schedule")
        agenda_profiles = sorted(p for p in versions.participants_of(version) if p)
        now = clock.local_now()
        # the maximum capacity; beyond it registrations still answer 201 (waiting list)
        event = registrations.create_event(event_data("Soak-Test", 10_000, now))
        members = []
        for n in range(MEMBERS):
            user = User(email=f"soak{n}@bench.example", name=f"Soak {n}", is_organiser=False)
            user.password_hash = "!"  # noqa: S105 - no password: API tokens only
            db.session.add(user)
            db.session.flush()
            profile = directory.create_profile(
                "sme" if n % 2 else "startup",
                {
                    "name": f"Soak-Firma {n:02d}",
                    "city": "Cottbus",
                    "description": "Wir suchen KI für Rechnungen, Wartung und Qualitätsprüfung.",
                    "language": "de",
                    "tags": [],
                    "categories": [],
                },
                user,
            )
            _token, secret = api.create_token(user, "soak")
            members.append({"profile": profile.ref, "secret": secret})
        organiser = db.session.scalar(select(User).where(User.email == ORGANISER))
        _token, organiser_secret = api.create_token(organiser, "soak")
        db.session.commit()
        rng = random.Random(6)
        all_profiles = db.session.execute(
            select(Profile.id, Profile.external_ref).where(Profile.deleted_at.is_(None))
        ).all()
        sample = rng.sample(all_profiles, min(300, len(all_profiles)))
        data = {
            "event_id": event.id,
            "demo_event_id": demo.id,
            "agenda_profiles": agenda_profiles,
            "members": members,
            "organiser_secret": organiser_secret,
            "profile_ids": [p.id for p in sample],
            "profile_refs": [p.external_ref or str(p.id) for p in sample],
            "profile_count": len(all_profiles),
        }
        db.session.remove()
        db.engine.dispose()
    return data


# -- server --------------------------------------------------------------------------------


class Server(Gunicorn):
    startup_seconds = 90

    def __init__(self, env: dict, workers: int, threads: int, workdir: Path) -> None:
        worker_class = "sync" if threads == 1 else "gthread"
        super().__init__(env, workers, worker_class, threads, workdir / "gunicorn.log", "info")

    def healthy(self) -> bool:
        return raw_request(self.port, "GET", "/healthz")[0] == 200

    def workers(self) -> list[int]:
        """Return the pids of the master's children (the workers)."""
        children = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.process.pid:
                children.append(int(entry))
        return sorted(children)


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def raw_request(port, method, path, body=None, headers=None, timeout=10.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def organiser_cookie(port: int) -> str:
    """Log the organiser in through the login form once; return the Cookie header."""
    jar: dict[str, str] = {}

    def keep(headers):
        for name, value in headers:
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                jar[key] = rest.split(";", 1)[0]

    status, headers, body = raw_request(port, "GET", "/account/login")
    keep(headers)
    match = CSRF_RE.search(body.decode())
    if status != 200 or not match:
        raise SystemExit(f"no login form ({status})")
    form = urlencode({"email": ORGANISER, "password": DEMO_PASSWORD, "csrf_token": match.group(1)})
    status, headers, _ = raw_request(
        port,
        "POST",
        "/account/login",
        form,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
        },
    )
    keep(headers)
    if status != 302:
        raise SystemExit(f"organiser login answered {status}")
    return "; ".join(f"{k}={v}" for k, v in jar.items())


# -- load ----------------------------------------------------------------------------------


class Load:
    """The mixed workload; each call of ``request()`` picks and sends one request."""

    def __init__(self, port: int, data: dict, cookie: str) -> None:
        self.port = port
        self.data = data
        self.cookie = cookie
        self.kinds = [k for k, w in MIX.items() for _ in range(w)]
        self.local = threading.local()
        self.counter = iter(range(10**9))
        self.lock = threading.Lock()
        self.run_id = uuid.uuid4().hex[:6]

    def connection(self) -> http.client.HTTPConnection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
            self.local.conn = conn
        return conn

    def plan(self, rng: random.Random) -> tuple[str, str, str, dict, str | None, dict | None]:
        """Return (kind, method, path, headers, body, registration) for one request."""
        kind = rng.choice(self.kinds)
        d = self.data
        headers = {"Accept-Language": "de"}
        if kind == "directory":
            return kind, "GET", rng.choice(DIRECTORY_URLS), headers, None, None
        if kind == "profile_page":
            return kind, "GET", f"/profiles/{rng.choice(d['profile_ids'])}", headers, None, None
        if kind == "api_suggestions":
            ref = rng.choice(d["profile_refs"])
            return kind, "GET", f"/api/v1/profiles/{ref}/suggestions", headers, None, None
        if kind == "agenda":
            headers["Cookie"] = self.cookie
            profile = rng.choice(d["agenda_profiles"])
            return (
                kind,
                "GET",
                f"/events/{d['demo_event_id']}/agenda/{profile}",
                headers,
                None,
                None,
            )
        if kind == "api_schedule":
            headers["Authorization"] = f"Bearer {d['organiser_secret']}"
            return kind, "GET", f"/api/v1/events/{d['demo_event_id']}/schedule", headers, None, None
        with self.lock:
            n = next(self.counter)
        member = d["members"][n % len(d["members"])]
        email = f"soak-{self.run_id}-{n}@bench.example"
        body = json.dumps(
            {"profile": member["profile"], "attendees": [{"name": f"Gast {n}", "email": email}]}
        )
        headers["Authorization"] = f"Bearer {member['secret']}"
        headers["Content-Type"] = "application/json"
        path = f"/api/v1/events/{d['event_id']}/registrations"
        return kind, "POST", path, headers, body, {"email": email}

    def send(self, method, path, headers, body) -> tuple[int, bytes]:
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            if response.will_close:
                conn.close()
            return response.status, payload
        except Exception:
            conn.close()
            self.local.conn = None
            raise

    def phase(self, rate: float, seconds: float, label: str, actions=None) -> dict:
        """Offer ``rate`` requests/s for ``seconds``; run ``actions`` [(offset, fn)] on time."""
        import queue

        jobs: queue.Queue = queue.Queue()
        records: list[dict] = []
        records_lock = threading.Lock()
        rng = random.Random(hash((label, rate)) & 0xFFFF)
        stop = object()

        def worker():
            while True:
                item = jobs.get()
                if item is stop:
                    return
                scheduled, (kind, method, path, headers, body, reg) = item
                started = time.monotonic()
                status, error = 0, None
                try:
                    status, payload = self.send(method, path, headers, body)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"[:120]
                    payload = b""
                ended = time.monotonic()
                expected = 201 if kind == "registration" else 200
                record = {
                    "kind": kind,
                    "scheduled": scheduled,
                    "start": started,
                    "end": ended,
                    "status": status,
                    "ok": error is None and status == expected,
                    "error": error or (None if status == expected else f"HTTP {status}"),
                }
                if reg is not None:
                    record["email"] = reg["email"]
                    if status == 201:
                        try:
                            record["reg_id"] = json.loads(payload)["id"]
                        except (ValueError, KeyError):
                            record["ok"] = False
                            record["error"] = "201 without id"
                with records_lock:
                    records.append(record)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(CLIENT_THREADS)]
        for t in threads:
            t.start()
        pending = sorted(actions or [], key=lambda a: a[0])
        action_log = []
        action_threads = []
        t0 = time.monotonic() + 0.05
        total = int(rate * seconds)
        for i in range(total):
            scheduled = t0 + i / rate
            while pending and t0 + pending[0][0] <= scheduled:
                _offset, fn = pending.pop(0)
                at = time.monotonic() - t0

                def fire(fn=fn, at=at):
                    action_log.append((at, fn()))

                th = threading.Thread(target=fire)
                th.start()
                action_threads.append(th)
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            jobs.put((scheduled, self.plan(rng)))
        for _ in threads:
            jobs.put(stop)
        for t in threads:
            t.join(timeout=REQUEST_TIMEOUT + 10)
        for th in action_threads:
            th.join(timeout=180)
        for r in records:
            for key in ("scheduled", "start", "end"):
                r[key] -= t0
        return summarise(label, rate, seconds, records, action_log)


def summarise(label, rate, seconds, records, actions) -> dict:
    latencies = [(r["end"] - r["scheduled"]) * 1000 for r in records]
    service = [(r["end"] - r["start"]) * 1000 for r in records]
    per_kind = {}
    for kind in MIX:
        lat = [(r["end"] - r["scheduled"]) * 1000 for r in records if r["kind"] == kind]
        per_kind[kind] = {"n": len(lat), "p50": percentile(lat, 0.5), "p95": percentile(lat, 0.95)}
    errors = [r for r in records if not r["ok"]]
    span = max((r["end"] for r in records), default=seconds)
    return {
        "label": label,
        "rate": rate,
        "seconds": seconds,
        "requests": len(records),
        "achieved": len(records) / max(span, seconds),
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies, default=0.0),
        "service_p95": percentile(service, 0.95),
        "errors": len(errors),
        "error_kinds": Counter(r["error"] for r in errors).most_common(5),
        "per_kind": per_kind,
        "records": records,
        "actions": actions,
    }


def line(result: dict) -> str:
    return (
        f"{result['label']}: offered {result['rate']:g}/s, {result['requests']} requests, "
        f"p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms, p99 {result['p99']:.1f} ms, "
        f"max {result['max']:.0f} ms, errors {result['errors']}"
        + (f" {result['error_kinds']}" if result["errors"] else "")
    )


# -- memory --------------------------------------------------------------------------------


class MemorySampler:
    def __init__(self, server: Server, interval: float = 2.0) -> None:
        self.server = server
        self.interval = interval
        self.samples: list[tuple[float, int, int]] = []  # (t, pid, KiB)
        self.loads: list[float] = []
        self.running = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.running.set()
        self.thread.start()

    def loop(self) -> None:
        while self.running.is_set():
            now = time.monotonic() - self.t0
            for pid in self.server.workers():
                kib = rss_kib(pid)
                if kib is not None:
                    self.samples.append((now, pid, kib))
            self.loads.append(loadavg())
            time.sleep(self.interval)

    def stop(self) -> dict:
        self.running.clear()
        self.thread.join(timeout=10)
        per_pid: dict[int, list[tuple[float, int]]] = defaultdict(list)
        for t, pid, kib in self.samples:
            per_pid[pid].append((t, kib))
        workers = {}
        for pid, points in per_pid.items():
            mib = [k / 1024 for _t, k in points]
            workers[pid] = {
                "start": mib[0],
                "end": mib[-1],
                "max": max(mib),
                "slope": slope([t for t, _k in points], mib) * 60,
                "samples": len(points),
            }
        # Total over the samples at which all workers were seen
        by_time: dict[float, list[int]] = defaultdict(list)
        for t, _pid, kib in self.samples:
            by_time[t].append(kib)
        count = max((len(v) for v in by_time.values()), default=0)
        totals = [(t, sum(v) / 1024) for t, v in sorted(by_time.items()) if len(v) == count]
        return {
            "workers": workers,
            "total_start": totals[0][1] if totals else 0,
            "total_end": totals[-1][1] if totals else 0,
            "total_max": max((m for _t, m in totals), default=0),
            "total_slope": slope([t for t, _m in totals], [m for _t, m in totals]) * 60,
            "load_mean": statistics.fmean(self.loads) if self.loads else 0,
            "load_max": max(self.loads, default=0),
            "load_min": min(self.loads, default=0),
        }


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope (units of y per unit of x)."""
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


# -- checks --------------------------------------------------------------------------------


def check_acknowledged(database: Database, event_id: int, records: list[dict]) -> dict:
    stored = database.stored_registrations(event_id)
    acked = [r for r in records if r["kind"] == "registration" and r["status"] == 201]
    missing = [r for r in acked if r["email"] not in stored.get(r.get("reg_id"), set())]
    not_acked = [r for r in records if r["kind"] == "registration" and r["status"] != 201]
    emails = {e for s in stored.values() for e in s}
    stored_unacked = [r for r in not_acked if r["email"] in emails]
    return {
        "acknowledged": len(acked),
        "found": len(acked) - len(missing),
        "missing": len(missing),
        "not_acknowledged": len(not_acked),
        "stored_not_acknowledged": len(stored_unacked),
    }


def disruption_windows(result: dict, phase_seconds: float) -> list[dict]:
    """Split the failure phase at each disruption; count errors by the time they ended."""
    actions = sorted(result["actions"], key=lambda a: a[0])
    marks = [(at, info) for at, info in actions]
    windows = []
    first = marks[0][0] if marks else phase_seconds
    before = [r for r in result["records"] if r["end"] < first]
    windows.append(
        {
            "name": "before",
            "start": 0.0,
            "errors": sum(not r["ok"] for r in before),
            "requests": len(before),
        }
    )
    for i, (at, info) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else float("inf")
        inside = [r for r in result["records"] if at <= r["end"] < end]
        errs = [r for r in inside if not r["ok"]]
        after = [r for r in inside if r["start"] >= at + 10]
        last_error = max((r["end"] for r in errs), default=None)
        windows.append(
            {
                "name": info["name"],
                "start": at,
                "info": info,
                "requests": len(inside),
                "errors": len(errs),
                "error_kinds": Counter(r["error"] for r in errs).most_common(4),
                "error_by_kind": dict(Counter(r["kind"] for r in errs)),
                "recovered_after": (last_error - at) if last_error is not None else 0.0,
                "p95_after_10s": percentile(
                    [(r["end"] - r["scheduled"]) * 1000 for r in after], 0.95
                ),
                "errors_after_10s": sum(not r["ok"] for r in after),
            }
        )
    return windows


# -- disruptions ---------------------------------------------------------------------------


def kill_worker(server: Server) -> dict:
    pids = server.workers()
    victim = pids[0]
    t = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    replaced = None
    while time.monotonic() - t < 60:
        now = server.workers()
        if victim not in now and len(now) == len(pids):
            replaced = time.monotonic() - t
            break
        time.sleep(0.05)
    return {"name": "kill -9 worker", "pid": victim, "replaced_after": replaced}


def restart_pg() -> dict:
    t = time.monotonic()
    result = pg_ctl("restart")
    took = time.monotonic() - t
    up = None
    while time.monotonic() - t < 120:
        if pg_accepts():
            up = time.monotonic() - t
            break
        time.sleep(0.2)
    return {
        "name": "PostgreSQL restart",
        "rc": result.returncode,
        "stderr": result.stderr.strip()[-200:],
        "restart_command": took,
        "accepting_after": up,
    }


# -- report --------------------------------------------------------------------------------


NOTES = "### Notes (soak)"


def write_section(text: str) -> None:
    """Replace the section's measured part; keep its hand-written notes (from NOTES on)."""
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    found = pattern.search(current)
    if found:
        old = found.group(0)
        notes = old[old.index(NOTES) :] if NOTES in old else ""
        text = text.rstrip("\n") + "\n\n" + notes if notes else text
        updated = pattern.sub(lambda _m: text, current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(updated, encoding="utf-8")


def report(ctx: dict) -> str:
    ramp, soak, fail = ctx["ramp"], ctx["soak"], ctx["failure"]
    mem = ctx["memory"]
    a_soak, a_fail = ctx["ack_soak"], ctx["ack_failure"]
    out = [
        SECTION,
        "",
        f"Recorded by `bench/bench_soak.py` on {date.today().isoformat()}; nproc {os.cpu_count()}, "
        f"{ctx['cpu']}, Python {platform.python_version()}; "
        f"1-min load average {ctx['load_start']:.1f} "
        f"at the start, {mem['load_min']:.1f}–{mem['load_max']:.1f} (mean {mem['load_mean']:.1f}) "
        f"during the soak, {ctx['load_end']:.1f} at the end. The machine is shared with other "
        "engineers' test runs, and the Python load generator runs on the same two cores as "
        "gunicorn and PostgreSQL.",
        "",
        f"Setup: PostgreSQL {ctx['pg_version']}, fresh database; demo data with its published "
        f"schedule plus {ctx['smes']} SMEs and {ctx['startups']} startups from "
        f"`gen_profiles.py` ({ctx['profiles']} profiles); gunicorn `gunicorn.conf.py` with "
        f"{ctx['workers']} sync workers, 1 thread each, `GUNICORN_MAX_REQUESTS=0` (the production "
        "setting of 5000 would recycle the workers during the soak and hide growth). Four sync "
        "workers on two cores: the requests are CPU-bound Python (templates, matching) under "
        "the GIL, so threads add nothing; two workers per core keep both cores busy while one "
        "waits on PostgreSQL; every worker holds its own fitted matching model, so more workers "
        "only cost memory and fits.",
        "",
        "Mix: " + ", ".join(f"{k} {v}%" for k, v in MIX.items()) + " (directory: "
        f"{len(DIRECTORY_URLS)} queries/filters/pages; profile pages with suggestions and API "
        "suggestions over 300 sampled profiles; registrations via the JSON API with bearer "
        f"tokens of {MEMBERS} members, unique e-mails, on an event with a large capacity; "
        "agenda: the HTML agenda as the logged-in organiser and the API schedule with an "
        f"organiser token). Open loop at a fixed offered rate, {CLIENT_THREADS} client threads; "
        "latency from the scheduled send time (includes any client-side queueing); error = "
        "any status other than 200/201 or a client exception.",
        "",
        f"### Ramp ({ctx['step_seconds']} s per step)",
        "",
        "| offered req/s | requests | p50 | p95 | p99 | errors | pass |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in ramp:
        ok = r["p95"] <= TARGET_P95_MS and r["errors"] == 0
        out.append(
            f"| {r['rate']:g} | {r['requests']} | {r['p50']:.1f} ms | {r['p95']:.1f} ms | "
            f"{r['p99']:.1f} ms | {r['errors']} | {'yes' if ok else 'no'} |"
        )
    verdict_p95 = soak["p95"] <= TARGET_P95_MS
    flat = mem["flat"]
    out += [
        "",
        f"### Soak ({ctx['soak_seconds']} s at {soak['rate']:g} req/s)",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| offered / achieved rate | {soak['rate']:g} / {soak['achieved']:.1f} req/s "
        f"| highest with p95 ≤ 100 ms ({ctx['rate_choice']}) |",
        f"| requests | {soak['requests']} | |",
        f"| p50 / p95 / p99 / max | {soak['p50']:.1f} / {soak['p95']:.1f} / {soak['p99']:.1f} / "
        f"{soak['max']:.0f} ms | p95 ≤ 100 ms ({'met' if verdict_p95 else 'NOT met'}) |",
        f"| errors | {soak['errors']} | 0 |",
        f"| worker RSS, sum of {len(mem['workers'])} workers: start / end / max | "
        f"{mem['total_start']:.0f} / {mem['total_end']:.0f} / {mem['total_max']:.0f} MiB | |",
        f"| worker RSS slope (sum) | {mem['total_slope']:+.2f} MiB/min | flat "
        f"({'yes' if flat else 'NO'}) |",
        f"| acknowledged registrations / found in the database | {a_soak['acknowledged']} / "
        f"{a_soak['found']} | all |",
        "",
        "Per kind (p50 / p95): "
        + "; ".join(
            f"{k} {v['p50']:.0f} / {v['p95']:.0f} ms (n={v['n']})"
            for k, v in soak["per_kind"].items()
        )
        + ".",
        "",
        "Per worker RSS (MiB, start → end, max, slope): "
        + "; ".join(
            f"pid {pid}: {w['start']:.0f} → {w['end']:.0f}, max {w['max']:.0f}, "
            f"{w['slope']:+.2f}/min"
            for pid, w in sorted(mem["workers"].items())
        )
        + f". Flat = the fitted growth over the soak stays below {ctx['flat_limit']} MiB per "
        "worker.",
        "",
        f"### Failures ({ctx['failure_seconds']} s at {fail['rate']:g} req/s)",
        "",
        "| window | requests | errors | errors by kind | last error after | p95 from +10 s "
        "| detail |",
        "|---|---|---|---|---|---|---|",
    ]
    for w in ctx["windows"]:
        if w["name"] == "before":
            out.append(f"| before the first disruption | {w['requests']} | {w['errors']} | | | | |")
            continue
        info = w["info"]
        if w["name"].startswith("kill"):
            detail = (
                f"worker {info['pid']} killed at {w['start']:.0f} s; replaced after "
                f"{info['replaced_after']:.1f} s"
                if info["replaced_after"] is not None
                else f"worker {info['pid']} killed; NOT replaced within 60 s"
            )
        else:
            detail = (
                f"restart at {w['start']:.0f} s, rc {info['rc']}, command took "
                f"{info['restart_command']:.1f} s, accepting after "
                + (f"{info['accepting_after']:.1f} s" if info["accepting_after"] else "NEVER")
            )
        kinds = ", ".join(f"{k} {n}" for k, n in w["error_by_kind"].items()) or "–"
        errs = "; ".join(f"{e} ×{n}" for e, n in w["error_kinds"]) or ""
        out.append(
            f"| {w['name']} | {w['requests']} | {w['errors']}{' (' + errs + ')' if errs else ''} "
            f"| {kinds} | {w['recovered_after']:.1f} s | {w['p95_after_10s']:.0f} ms "
            f"(errors {w['errors_after_10s']}) | {detail} |"
        )
    out += [
        "",
        f"Whole failure phase: {fail['requests']} requests, {fail['errors']} errors, p95 "
        f"{fail['p95']:.1f} ms. Acknowledged registrations / found in the database: "
        f"{a_fail['acknowledged']} / {a_fail['found']} (missing {a_fail['missing']}); "
        f"{a_fail['not_acknowledged']} registrations not acknowledged, of which "
        f"{a_fail['stored_not_acknowledged']} were nevertheless stored (the client never "
        "learnt of them). After the phase, a sweep of every request kind: "
        f"{ctx['sweep']}. PostgreSQL running at the end: {ctx['pg_up_end']}.",
        "",
    ]
    return "\n".join(out)


# -- main ----------------------------------------------------------------------------------


def sweep(load: Load) -> str:
    """Send each kind of request a few times sequentially; return 'n/m ok'."""
    rng = random.Random(99)
    ok = total = 0
    for _ in range(60):
        kind, method, path, headers, body, _reg = load.plan(rng)
        total += 1
        try:
            status, _p = load.send(method, path, headers, body)
            ok += status == (201 if kind == "registration" else 200)
        except Exception:  # noqa: S112
            continue
    return f"{ok}/{total} ok"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short phases, for trying it out")
    parser.add_argument("--rates", default="1,2,3,4,6,8,10,12,16,20,25,30,40")
    parser.add_argument("--step-seconds", type=int, default=30)
    parser.add_argument("--soak-seconds", type=int, default=300)
    parser.add_argument("--failure-seconds", type=int, default=150)
    parser.add_argument("--rate", type=float, help="skip the ramp and soak at this rate")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--smes", type=int, default=2000)
    parser.add_argument("--startups", type=int, default=500)
    parser.add_argument("--flat-limit", type=float, default=10.0, help="MiB per worker per soak")
    parser.add_argument("--no-results", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.step_seconds, args.soak_seconds, args.failure_seconds = 8, 30, 40
        args.smes, args.startups = 400, 100

    ensure_pg_running()
    workdir = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    database = Database()
    env = dict(os.environ)
    env.pop("MAIL_SERVER", None)
    env.update(
        DATABASE_URL=database.url,
        SECRET_KEY=secrets.token_hex(32),
        MATCHMAKER_ENV="production",
        SESSION_COOKIE_SECURE="0",
        LOGIN_RATE_LIMIT="100000 per minute",
        RATELIMIT_STORAGE_URI="memory://",
        # the refit jobs the setup's commits enqueue go to a queue of this run, not the default
        JOBS_QUEUE=f"bench-soak-{database.name}",
    )
    ctx: dict = {
        "cpu": cpu_model(),
        "load_start": loadavg(),
        "smes": args.smes,
        "startups": args.startups,
        "workers": args.workers,
        "step_seconds": args.step_seconds,
        "soak_seconds": args.soak_seconds,
        "failure_seconds": args.failure_seconds,
        "flat_limit": args.flat_limit,
    }
    log(f"machine: nproc {os.cpu_count()}, {ctx['cpu']}, load {ctx['load_start']:.2f}")
    server = None
    try:
        started = time.monotonic()
        data = prepare(database, env, args, workdir)
        ctx["profiles"] = data["profile_count"]
        log(
            f"setup {time.monotonic() - started:.0f} s: {data['profile_count']} profiles, "
            f"{len(data['agenda_profiles'])} agenda participants, soak event {data['event_id']}"
        )
        import psycopg

        with psycopg.connect(database.url) as conn:
            ctx["pg_version"] = conn.execute("SHOW server_version").fetchone()[0]
        server = Server(env, args.workers, 1, workdir)
        cookie = organiser_cookie(server.port)
        load = Load(server.port, data, cookie)
        # Every URL must answer as expected before anything is measured.
        rng = random.Random(1)
        for path in DIRECTORY_URLS:
            status, _p = load.send("GET", path, {"Accept-Language": "de"}, None)
            if status != 200:
                raise SystemExit(f"{path} answered {status}")
        log("warm-up (each worker fits its matching model)")
        for _ in range(3):
            for kind in MIX:
                while True:
                    plan = load.plan(rng)
                    if plan[0] == kind:
                        break
                status, payload = load.send(*plan[1:5])
                if status != (201 if kind == "registration" else 200):
                    raise SystemExit(f"warm-up {plan[2]} answered {status}: {payload[:300]!r}")
        warm = load.phase(4, 20 if not args.quick else 8, "warm-up")
        log(line(warm))

        ramp = []
        if args.rate:
            rate = args.rate
            ctx["rate_choice"] = "given with --rate; ramp skipped"
        else:
            rate = None
            for r in [float(x) for x in args.rates.split(",")]:
                result = load.phase(r, args.step_seconds, f"ramp {r:g}/s")
                log(line(result))
                ramp.append(result)
                if result["p95"] > TARGET_P95_MS or result["errors"]:
                    break
                rate = r
            ctx["rate_choice"] = "the highest passing ramp step"
            if rate is None:
                rate = float(args.rates.split(",")[0])
                log(f"no step met the target; soaking at the lowest rate {rate:g}/s")
                ctx["rate_choice"] = "NO ramp step met it; soaked at the lowest step"
        ctx["ramp"] = ramp

        log(f"soak: {args.soak_seconds} s at {rate:g}/s; workers {server.workers()}")
        sampler = MemorySampler(server)
        sampler.start()
        soak = load.phase(rate, args.soak_seconds, "soak")
        memory = sampler.stop()
        growth = max(abs(w["slope"]) * args.soak_seconds / 60 for w in memory["workers"].values())
        memory["flat"] = growth < args.flat_limit and len(memory["workers"]) == args.workers
        ctx["soak"], ctx["memory"] = soak, memory
        log(line(soak))
        log(
            f"memory: sum of workers {memory['total_start']:.0f} -> {memory['total_end']:.0f} MiB "
            f"(max {memory['total_max']:.0f}), slope {memory['total_slope']:+.2f} MiB/min; "
            + ", ".join(
                f"{pid}: {w['start']:.0f}->{w['end']:.0f} ({w['slope']:+.2f}/min)"
                for pid, w in sorted(memory["workers"].items())
            )
            + f"; load {memory['load_mean']:.1f} (min {memory['load_min']:.1f}, max "
            f"{memory['load_max']:.1f})"
        )
        ctx["ack_soak"] = check_acknowledged(database, data["event_id"], soak["records"])
        log(f"soak registrations: {ctx['ack_soak']}")

        f = args.failure_seconds
        log(
            f"failure phase: {f} s at {rate:g}/s "
            f"(kill -9 at {0.2 * f:.0f} s, PG restart at {0.5 * f:.0f} s)"
        )
        failure = load.phase(
            rate,
            f,
            "failures",
            actions=[(0.2 * f, lambda: kill_worker(server)), (0.5 * f, restart_pg)],
        )
        ensure_pg_running()
        ctx["failure"] = failure
        log(line(failure))
        ctx["windows"] = disruption_windows(failure, f)
        for w in ctx["windows"]:
            log(
                f"  window {w['name']}: requests {w['requests']}, errors {w['errors']}"
                + (
                    f", last error {w['recovered_after']:.1f} s after, p95 from +10 s "
                    f"{w['p95_after_10s']:.0f} ms, errors from +10 s {w['errors_after_10s']}, "
                    f"{w['error_kinds']}, {w['info']}"
                    if w["name"] != "before"
                    else ""
                )
            )
        ctx["sweep"] = sweep(load)
        log(f"sweep after the failures: {ctx['sweep']}")
        ctx["ack_failure"] = check_acknowledged(database, data["event_id"], failure["records"])
        log(f"failure-phase registrations: {ctx['ack_failure']}")
        ctx["load_end"] = loadavg()
        ctx["pg_up_end"] = "yes" if pg_accepts() else "NO"
        text = report(ctx)
        print(text)
        if not args.no_results:
            write_section(text)
            log(f"written to {RESULTS}")
        ok = (
            soak["errors"] == 0
            and ctx["ack_soak"]["missing"] == 0
            and ctx["ack_failure"]["missing"] == 0
            and memory["flat"]
        )
        return 0 if ok else 1
    finally:
        if server is not None:
            server.stop()
            log(f"gunicorn log: {server.log_path}")
        ensure_pg_running()
        try:
            database.drop()
        except Exception as exc:
            log(f"could not drop {database.name}: {exc}")
        drop_queue(env)


def drop_queue(env: dict) -> None:
    """Delete the run's job queue with its jobs and its pending-refit mark from Redis."""
    from redis import Redis
    from redis.exceptions import RedisError
    from rq import Queue

    try:
        connection = Redis.from_url(env.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
        Queue(env["JOBS_QUEUE"], connection=connection).delete(delete_jobs=True)
        connection.delete(f"matchmaker:{env['JOBS_QUEUE']}:refit-pending")
    except RedisError as exc:
        log(f"could not delete the job queue {env['JOBS_QUEUE']}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
