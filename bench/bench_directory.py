"""Directory under load (issue 2): the directory page against a bare endpoint, same run.

    /work/venv/bin/python bench/bench_directory.py            # both databases, 20 s per run
    /work/venv/bin/python bench/bench_directory.py --quick    # 5 s per run, to try things
    /work/venv/bin/python bench/bench_directory.py --db sqlite --no-results

For each database (SQLite file, fresh PostgreSQL database): create it, migrate, import
12,000 generated profiles (bench/gen_profiles.py: 10,000 SMEs, 2,000 startups), start
gunicorn with the project's gunicorn.conf.py (2 sync workers), warm up, then run wrk
(16 connections, 2 threads) alternately on ``/healthz`` and on directory searches with a
text search plus a filter. Every directory run is bracketed by bare runs; its ratio is
taken against the mean of the bare runs before and after it, so load from other work on
the machine hits both sides alike. Target: ratio >= 20 % and p95 <= 50 ms.

Prints a table and rewrites the section "## Directory under load" of bench/RESULTS.md.
Needs ``wrk`` (Debian package) and, for PostgreSQL, a server reachable at --pg-url.
"""

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from common import Gunicorn, cpu_model, log

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SECTION = "## Directory under load"
TARGET_RATIO = 0.20
TARGET_P95_MS = 50.0
DIRECTORY_URLS = (
    # text search + sector filter: a selective query (few dozen hits)
    "/directory?q=Rechnung&sector=energy",
    # a common word + kind filter: thousands of hits, sorted and paginated
    "/directory?q=Daten&kind=sme",
    # two words + category filter, second page
    "/directory?q=Wartung+Sensoren&category=predictive_maintenance&page=2",
)
SETTLE_SECONDS = 5

WRK_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\"requests\": %d, \"duration_us\": %d, \"socket_errors\": %d, " ..
    "\"status_errors\": %d, \"p50_us\": %d, \"p90_us\": %d, \"p95_us\": %d, " ..
    "\"p99_us\": %d, \"mean_us\": %.1f, \"max_us\": %d}\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.mean, latency.max))
end
"""


def machine() -> str:
    return f"nproc {os.cpu_count()}, {cpu_model()}, {platform.system()} {platform.release()}"


def run(cmd: list[str], env: dict, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return result


# -- databases ---------------------------------------------------------------------------


class SQLiteDatabase:
    label = "SQLite"
    reused = False

    def __init__(self, workdir: Path) -> None:
        self.url = f"sqlite:///{workdir / 'bench.db'}"

    def create(self) -> None:
        pass

    def drop(self) -> None:
        pass


class ReusedDatabase:
    """A database migrated and imported before (``--reuse``): neither created nor dropped."""

    reused = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.label = "SQLite" if url.startswith("sqlite") else "PostgreSQL"

    def create(self) -> None:
        pass

    def drop(self) -> None:
        pass


class PostgresDatabase:
    label = "PostgreSQL"
    reused = False

    def __init__(self, server_url: str) -> None:
        import psycopg

        self.psycopg = psycopg
        self.server_url = server_url
        self.name = f"mm_bench_{os.getpid()}"
        base = server_url.rsplit("/", 1)[0]
        self.url = f"{base}/{self.name}"

    def _admin(self, sql: str) -> None:
        with self.psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(sql)

    def create(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def prepare(database, env: dict, profiles: Path) -> float:
    """Migrate and import; return the import time in seconds (None for a reused database)."""
    if database.reused:
        return None
    database.create()
    run([str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"], env)
    started = time.perf_counter()
    flask = [str(VENV_BIN / "flask"), "--app", "wsgi"]
    run([*flask, "import-profiles", "--in-process", str(profiles)], env)
    elapsed = time.perf_counter() - started
    if database.label == "PostgreSQL":
        run([sys.executable, "-c", ANALYZE_PY, database.url], env)
    return elapsed


# After a bulk load: statistics for the planner, visibility map for index-only scans.
ANALYZE_PY = (
    "import psycopg, sys; psycopg.connect(sys.argv[1], autocommit=True).execute('VACUUM ANALYZE')"
)


# -- server and load ---------------------------------------------------------------------


class Server(Gunicorn):
    def __init__(self, env: dict, workers: int, worker_class: str, threads: int) -> None:
        log_path = Path(env["BENCH_WORKDIR"]) / "gunicorn.log"
        super().__init__(env, workers, worker_class, threads, log_path, "warning")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def healthy(self) -> bool:
        return self.get("/healthz")[0] == 200

    def get(self, path: str) -> tuple[int, str]:
        with urllib.request.urlopen(self.base + path, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()


def wrk(url: str, seconds: int, connections: int, threads: int, script: Path) -> dict:
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"^WRKJSON (.*)$", result.stdout, re.M)
    if not match:
        raise SystemExit("wrk gave no summary:\n" + result.stdout + result.stderr)
    data = json.loads(match.group(1))
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    data["p95_ms"] = data["p95_us"] / 1000
    return data


def hits(html: str) -> str:
    match = re.search(r"(\d+) (?:Profile|profiles?) ", html)
    return match.group(1) if match else "?"


def measure(server: Server, args, script: Path) -> dict:
    """Warm up, then bare / directory / bare / directory / ... / bare."""
    for path in ("/healthz", *DIRECTORY_URLS):
        for _ in range(5):
            status, _body = server.get(path)
            if status != 200:
                raise SystemExit(f"{path}: HTTP {status}")
    matches = {path: hits(server.get(path)[1]) for path in DIRECTORY_URLS}
    warm = max(2, args.duration // 5)
    wrk(server.base + DIRECTORY_URLS[0], warm, args.connections, args.wrk_threads, script)
    wrk(server.base + "/healthz", warm, args.connections, args.wrk_threads, script)

    def load(path: str) -> dict:
        # Let the workers finish requests still queued from the previous run (wrk stops
        # waiting at the end of a run, the server does not), so runs do not overlap.
        time.sleep(SETTLE_SECONDS)
        data = wrk(server.base + path, args.duration, args.connections, args.wrk_threads, script)
        log(
            f"  {path}: {data['rps']:.0f} req/s, p50 {data['p50_us'] / 1000:.1f} ms, "
            f"p95 {data['p95_ms']:.1f} ms, p99 {data['p99_us'] / 1000:.1f} ms"
            + (
                f", errors {data['socket_errors']}+{data['status_errors']}"
                if data["socket_errors"] or data["status_errors"]
                else ""
            )
        )
        return data

    bare_runs = [load("/healthz")]
    directory = []
    for path in DIRECTORY_URLS:
        data = load(path)
        bare_runs.append(load("/healthz"))
        bare = (bare_runs[-2]["rps"] + bare_runs[-1]["rps"]) / 2
        data.update(path=path, matches=matches[path], bare_rps=bare, ratio=data["rps"] / bare)
        data["ok"] = data["ratio"] >= TARGET_RATIO and data["p95_ms"] <= TARGET_P95_MS
        data["ok"] = data["ok"] and not data["status_errors"]
        directory.append(data)
    return {"bare": bare_runs, "directory": directory}


# -- report ------------------------------------------------------------------------------


def table(results: dict) -> list[str]:
    lines = [
        "| database | directory URL | hits | bare req/s | directory req/s | ratio | p50 ms "
        "| p95 ms | p99 ms | pass |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, result in results.items():
        for d in result["directory"]:
            lines.append(
                f"| {label} | `{d['path']}` | {d['matches']} | {d['bare_rps']:.0f} "
                f"| {d['rps']:.0f} | {d['ratio'] * 100:.1f} % | {d['p50_us'] / 1000:.1f} "
                f"| {d['p95_ms']:.1f} | {d['p99_us'] / 1000:.1f} | {'yes' if d['ok'] else 'NO'} |"
            )
    return lines


def bare_line(label: str, result: dict) -> str:
    runs = ", ".join(f"{b['rps']:.0f}" for b in result["bare"])
    p95 = max(b["p95_ms"] for b in result["bare"])
    return f"- {label}: bare `/healthz` runs {runs} req/s (p95 at most {p95:.1f} ms)"


def write_results(text: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    match = pattern.search(current)
    if match:
        # Hand-written notes (from "### Notes" to the end of the section) are kept.
        old = match.group(0)
        notes = old[old.index(NOTES) :] if NOTES in old else ""
        text = text + ("\n" + notes.rstrip("\n") + "\n" if notes else "")
        following = current[match.end() :]
        text = text.rstrip("\n") + ("\n\n" if following else "\n")
        updated = pattern.sub(lambda _m: text, current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    path.write_text(updated, encoding="utf-8")


def section(results: dict, args, imports: dict, failures: dict, uncached: dict) -> str:
    verdict = not failures and all(d["ok"] for r in results.values() for d in r["directory"])
    lines = [
        SECTION,
        "",
        f"Issue 2: the directory page must sustain at least {TARGET_RATIO:.0%} of the bare "
        f"endpoint's requests per second with p95 latency at most {TARGET_P95_MS:.0f} ms, "
        "on SQLite and on PostgreSQL.",
        "",
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} with "
        "`bench/bench_directory.py"
        + (" --quick" if args.quick else "")
        + "`; "
        + f"machine: {machine()} (shared with other work; load average at start "
        + f"{args.load_at_start}).",
        "",
        f"Setup: {args.smes:,} SME + {args.startups:,} startup profiles from "
        f"`bench/gen_profiles.py --seed {args.seed}`; gunicorn with `gunicorn.conf.py`, "
        f"{args.workers} `{args.worker_class}` workers"
        + (f" x {args.threads} threads" if args.worker_class == "gthread" else "")
        + ", access log off, worker recycling off, directory caches on (the default); "
        f"wrk {args.connections} connections, {args.wrk_threads} threads, {args.duration} s "
        "per run on loopback, runs alternating bare / directory / bare ...; each directory "
        "run's ratio is against the mean of the bare runs just before and after it.",
        "",
        *table(results),
        "",
        *[bare_line(label, r) for label, r in results.items()],
        *[f"- import of the profiles into {k}: {v:.0f} s" for k, v in imports.items()],
        *[f"- {k}: no figures, the run failed: {v}" for k, v in failures.items()],
        "",
        f"**Verdict: {'PASS' if verdict else 'FAIL'}**",
        "",
    ]
    if uncached:
        lines += [
            "For comparison, the same runs with the per-worker directory caches switched off "
            "(`DIRECTORY_CACHE=0`: every request loads the filter lists, runs the search and "
            "renders the whole page); not part of the verdict:",
            "",
            *table(uncached),
            "",
            *[bare_line(label, r) for label, r in uncached.items()],
            "",
        ]
    return "\n".join(lines) + "\n"


NOTES = "### Notes (directory)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s per wrk run")
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--smes", type=int, default=10_000)
    parser.add_argument("--startups", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--no-results", action="store_true", help="do not touch RESULTS.md")
    parser.add_argument(
        "--reuse",
        action="append",
        default=[],
        metavar="URL",
        help="measure this database, already migrated and holding the profiles (kept); "
        "one per --db",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--no-uncached",
        dest="uncached",
        action="store_false",
        help="skip the comparison runs with the directory caches off (DIRECTORY_CACHE=0)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = 5
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found (apt-get install -y wrk)")
    args.load_at_start = "{:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg())
    log(f"machine: {machine()}; load {args.load_at_start}")

    workdir = Path(tempfile.mkdtemp(prefix="mm-bench-"))
    script = workdir / "p95.lua"
    script.write_text(WRK_LUA)
    profiles = workdir / "profiles.json"
    sys.path.insert(0, str(ROOT / "bench"))
    import gen_profiles

    gen_profiles.main(
        [
            f"--smes={args.smes}",
            f"--startups={args.startups}",
            f"--seed={args.seed}",
            "-o",
            str(profiles),
        ]
    )
    reused = {database.label: database for database in map(ReusedDatabase, args.reuse)}
    databases = []
    if args.db in ("sqlite", "both"):
        databases.append(reused.get("SQLite") or SQLiteDatabase(workdir))
    if args.db in ("postgresql", "both"):
        databases.append(reused.get("PostgreSQL") or PostgresDatabase(args.pg_url))

    results: dict[str, dict] = {}
    uncached: dict[str, dict] = {}
    imports: dict[str, float] = {}
    failures: dict[str, str] = {}
    try:
        for database in databases:
            env = dict(os.environ)
            env.update(
                DATABASE_URL=database.url,
                SECRET_KEY="bench-secret-key-not-for-production",  # noqa: S106
                MATCHMAKER_ENV="production",
                BENCH_WORKDIR=str(workdir),
            )
            log(f"{database.label}: migrate and import {args.smes + args.startups} profiles")
            try:
                seconds = prepare(database, env, profiles)
                if seconds is not None:
                    imports[database.label] = seconds
                    log(f"{database.label}: imported in {seconds:.0f} s")
                server = Server(env, args.workers, args.worker_class, args.threads)
                try:
                    results[database.label] = measure(server, args, script)
                finally:
                    server.stop()
                if args.uncached:
                    # The same runs with the per-worker directory caches switched off, for
                    # comparison (not part of the verdict).
                    log(f"{database.label}: again with DIRECTORY_CACHE=0")
                    server = Server(
                        {**env, "DIRECTORY_CACHE": "0"},
                        args.workers,
                        args.worker_class,
                        args.threads,
                    )
                    try:
                        uncached[database.label] = measure(server, args, script)
                    finally:
                        server.stop()
            except (SystemExit, subprocess.CalledProcessError) as exc:
                # e.g. the shared PostgreSQL server restarted under us: report the others
                failures[database.label] = str(exc)
                log(f"{database.label}: FAILED ({exc})")
            finally:
                database.drop()
    finally:
        if args.keep:
            log(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print("\n".join(table(results)))
    for label, result in results.items():
        print(bare_line(label, result))
    if uncached:
        print("\nwith DIRECTORY_CACHE=0 (not part of the verdict):")
        print("\n".join(table(uncached)))
    for label, reason in failures.items():
        print(f"- {label}: no figures, the run failed: {reason}")
    ok = not failures and all(d["ok"] for r in results.values() for d in r["directory"])
    print(f"\nverdict: {'PASS' if ok else 'FAIL'} (ratio >= 20 % and p95 <= 50 ms everywhere)")
    if not args.no_results:
        if results:
            write_results(section(results, args, imports, failures, uncached))
        log("updated bench/RESULTS.md")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
