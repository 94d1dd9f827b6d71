"""Compare the soak's request kinds between two checkouts of the app (same run, same machine).

``bench_soak.py`` measures one checkout under gunicorn; this script puts two side by side, for
finding what makes requests cost more (issue 10: the soak lost capacity since 2026-11-25).
``--root`` names the checkout whose code and ``bench/bench_soak.py`` are used, e.g. a worktree
of the old commit (``git worktree add /tmp/nov 70273b3``) and this one:

    python bench/soak_compare.py --root /tmp/nov setup       # its soak database, kept
    python bench/soak_compare.py --root . setup
    python bench/soak_compare.py --root /tmp/nov cost -n 200 # CPU and statements per kind
    python bench/soak_compare.py --root . cost -n 200 [--profile agenda] [--sql agenda]
    flock /work/bench.lock python bench/soak_compare.py --root /tmp/nov ramp --rates 100,150
    python bench/soak_compare.py --root /tmp/nov drop

``setup`` runs the checkout's own ``bench_soak.prepare`` (the demo, 2,000 SMEs, 500 startups,
the soak event, members and tokens) on a fresh PostgreSQL database and keeps it, with the
request targets, for the other steps. ``cost`` sends each kind of the soak's mix ``-n`` times
through the Flask test client in this process (the production config of the soak) and prints
CPU (``time.process_time``) and SQL statements per request: CPU is what the other engineers'
load does not distort. ``ramp`` starts gunicorn (4 sync workers) on the kept database and
offers the soak's mix at each rate for ``--step-seconds`` (no soak, no failure phase: nothing
restarts PostgreSQL), printing latency per kind, the CPU the four workers used per request
(``/proc/<pid>/stat``; PostgreSQL's share not included) and the load average. Nothing is
written to RESULTS.md.
"""

import argparse
import cProfile
import json
import os
import pstats
import random
import re
import sys
import tempfile
import time
from pathlib import Path


def environment(url: str, root: Path) -> dict:
    """The soak's production settings for a checkout's app on ``url``."""
    return {
        "DATABASE_URL": url,
        "SECRET_KEY": "soak-compare-" + "x" * 52,
        "MATCHMAKER_ENV": "production",
        "SESSION_COOKIE_SECURE": "0",
        "LOGIN_RATE_LIMIT": "100000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
        # refit jobs the setup's commits enqueue stay off the default queue
        "JOBS_QUEUE": f"soak-compare-{root.name}",
    }


def setup(bench, args, state: Path, root: Path) -> None:
    database = bench.Database()
    env = dict(os.environ)
    env.pop("MAIL_SERVER", None)
    env.update(environment(database.url, root))
    os.environ["JOBS_QUEUE"] = env["JOBS_QUEUE"]  # the setup's in-process part
    ns = argparse.Namespace(smes=args.smes, startups=args.startups)
    started = time.time()
    data = bench.prepare(database, env, ns, Path(tempfile.mkdtemp(prefix="soak-compare-")))
    state.write_text(json.dumps({"db": database.name, "url": database.url, "data": data}))
    print(f"setup of {root}: database {database.name}, {time.time() - started:.0f} s")


def cost(bench, args, saved: dict, root: Path) -> None:
    os.environ.pop("MAIL_SERVER", None)
    os.environ.update(environment(saved["url"], root))
    from sqlalchemy import event

    import wsgi
    from matchmaker.extensions import db

    app = wsgi.app
    browser = app.test_client()
    page = browser.get("/account/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = {"email": bench.ORGANISER, "password": bench.DEMO_PASSWORD, "csrf_token": token}
    assert browser.post("/account/login", data=form).status_code == 302
    cookie = "; ".join(f"{c.key}={c.value}" for c in browser._cookies.values())
    client = app.test_client(use_cookies=False)  # the Load's plans carry their own headers
    load = bench.Load(0, saved["data"], cookie)
    load.run_id = os.urandom(3).hex()
    seen = {"n": 0, "print": False}
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def count(conn, cursor, statement, *rest):
        seen["n"] += 1
        if seen["print"]:
            print("SQL:", " ".join(statement.split())[:200])

    def plans(kind: str, rng: random.Random, n: int) -> list:
        found = []
        while len(found) < n:
            plan = load.plan(rng)
            if plan[0] == kind:
                found.append(plan)
        return found

    def send(plan) -> None:
        kind, method, path, headers, body, _registration = plan
        response = client.open(path, method=method, headers=headers, data=body)
        expected = 201 if kind == "registration" else 200
        assert response.status_code == expected, (path, response.status_code)

    kinds = args.kinds.split(",") if args.kinds else list(bench.MIX)
    rng = random.Random(5)
    for kind in kinds:  # each kind once through its first-request work (model load, templates)
        for plan in plans(kind, rng, 5):
            send(plan)
    if args.sql:
        seen["print"] = True
        send(plans(args.sql, random.Random(7), 1)[0])
        return
    rows = []
    for kind in kinds:
        measured = plans(kind, random.Random(7), args.n)
        if args.prewarm:  # every target once before: steady state of the per-artefact caches
            for plan in measured:
                send(plan)
        seen["n"] = 0
        profile = cProfile.Profile() if kind == args.profile else None
        cpu = time.process_time()
        if profile:
            profile.enable()
        for plan in measured:
            send(plan)
        if profile:
            profile.disable()
        cpu = (time.process_time() - cpu) / len(measured) * 1000
        rows.append((kind, cpu, seen["n"] / len(measured)))
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    print(f"{root} (load {os.getloadavg()[0]:.2f})")
    for kind, cpu, statements in rows:
        print(f"{kind:16s} CPU {cpu:6.2f} ms/request, {statements:5.1f} statements/request")


def workers_cpu(pids: list[int]) -> float:
    """Return the CPU seconds (user + system) the gunicorn workers ``pids`` used so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def ramp(bench, args, saved: dict, root: Path) -> None:
    env = dict(os.environ)
    env.pop("MAIL_SERVER", None)
    env.update(environment(saved["url"], root))
    server = bench.Server(env, 4, 1, Path(tempfile.mkdtemp(prefix="soak-compare-")))
    try:
        load = bench.Load(server.port, saved["data"], bench.organiser_cookie(server.port))
        rng = random.Random(1)
        for _ in range(3):  # every worker through its first requests, as bench_soak does
            for kind in bench.MIX:
                plan = load.plan(rng)
                while plan[0] != kind:
                    plan = load.plan(rng)
                status, _payload = load.send(*plan[1:5])
                assert status == (201 if kind == "registration" else 200), (plan[2], status)
        bench.log(bench.line(load.phase(4, 20, "warm-up")))
        for rate in (float(r) for r in args.rates.split(",")):
            before, cpu = os.getloadavg()[0], workers_cpu(server.workers())
            result = load.phase(rate, args.step_seconds, f"{root.name} {rate:g}/s")
            cpu = (workers_cpu(server.workers()) - cpu) / max(1, result["requests"]) * 1000
            kinds = "; ".join(
                f"{k} {v['p50']:.0f}/{v['p95']:.0f}" for k, v in result["per_kind"].items()
            )
            print(
                f"{bench.line(result)} | workers' CPU {cpu:.2f} ms/request | load {before:.2f}"
                f" -> {os.getloadavg()[0]:.2f} | p50/p95 ms: {kinds}",
                flush=True,
            )
    finally:
        server.stop()


def drop_queue(name: str) -> None:
    """Delete the setup's job queue (its refit jobs) and pending-refit mark from Redis."""
    try:
        from redis import Redis
        from rq import Queue
    except ImportError:
        return
    connection = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    Queue(name, connection=connection).delete(delete_jobs=True)
    connection.delete(f"matchmaker:{name}:refit-pending")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--state-dir", default=str(Path(tempfile.gettempdir()) / "soak-compare"))
    parser.add_argument("action", choices=["setup", "cost", "ramp", "drop"])
    parser.add_argument("-n", type=int, default=200, help="cost: requests per kind")
    parser.add_argument("--kinds", default="", help="cost: comma-separated kinds (default all)")
    parser.add_argument("--profile", default="", help="cost: cProfile this kind")
    parser.add_argument("--sql", default="", help="cost: print one request's statements")
    parser.add_argument("--prewarm", action="store_true", help="cost: send every target first")
    parser.add_argument("--rates", default="100,120,150", help="ramp: offered req/s")
    parser.add_argument("--step-seconds", type=int, default=30)
    parser.add_argument("--smes", type=int, default=2000)
    parser.add_argument("--startups", type=int, default=500)
    args = parser.parse_args()
    root = Path(args.root).resolve()
    os.chdir(root)
    sys.path[:0] = [str(root), str(root / "bench")]
    import bench_soak as bench  # the checkout's own

    state = Path(args.state_dir) / f"{root.name}.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    if args.action == "setup":
        setup(bench, args, state, root)
        return
    saved = json.loads(state.read_text())
    if args.action == "drop":
        database = bench.Database()
        database.name = saved["db"]
        database.drop()
        state.unlink()
        drop_queue(environment(saved["url"], root)["JOBS_QUEUE"])
    elif args.action == "cost":
        cost(bench, args, saved, root)
    else:
        ramp(bench, args, saved, root)


if __name__ == "__main__":
    main()
