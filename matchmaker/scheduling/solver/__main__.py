"""Command line: ``python -m matchmaker.scheduling solve PROBLEM.json [--time-limit S] [--seed N]``.

Prints the schedule JSON to stdout and a one-line summary to stderr. Required meetings that could
not be placed are listed with the reason under ``required_unplaced`` in the JSON. The time limit
counts from the start of the process: starting Python, importing the solvers and reading the
problem come out of it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence

from matchmaker.scheduling.solver.pipeline import solve
from matchmaker.scheduling.solver.problem import Problem

#: Seconds kept back for numbering tables, writing the schedule and exiting.
EXIT_RESERVE = 0.5


def process_age() -> float:
    """Return the seconds since this process started (0 when the system does not say)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            # Field 22 (start time in clock ticks after boot); the command name may hold spaces.
            start = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        return max(0.0, uptime - start / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def main(argv: Sequence[str] | None = None, started: float | None = None) -> int:
    """Run the command line; return the exit status.

    ``started`` is the ``time.perf_counter()`` reading the time limit counts from (the start of
    the process when run as a program); by default the time of the call.
    """
    started = time.perf_counter() if started is None else started
    parser = argparse.ArgumentParser(prog="python -m matchmaker.scheduling")
    sub = parser.add_subparsers(dest="command", required=True)
    p_solve = sub.add_parser("solve", help="solve a problem and print the schedule JSON")
    p_solve.add_argument("problem", help="problem JSON file")
    p_solve.add_argument(
        "--time-limit",
        type=float,
        default=30.0,
        help="seconds from the start of the process (default 30)",
    )
    p_solve.add_argument("--seed", type=int, default=0, help="CP-SAT random seed (default 0)")
    p_solve.add_argument("--workers", type=int, default=2, help="CP-SAT threads (default 2)")
    p_solve.add_argument(
        "--work-limit",
        type=float,
        help="CP-SAT deterministic time for all phases (reproducible; default: the time limit)",
    )
    p_solve.add_argument(
        "--skip", action="append", default=[], help="phase not to run (ablation; repeatable)"
    )
    p_solve.add_argument("--output", "-o", help="write the schedule here instead of stdout")
    args = parser.parse_args(argv)

    problem = Problem.load(args.problem)
    spent = time.perf_counter() - started
    result = solve(
        problem,
        time_limit=max(0.01, args.time_limit - spent - EXIT_RESERVE),
        seed=args.seed,
        workers=args.workers,
        work_limit=args.work_limit,
        skip=args.skip,
    )
    text = json.dumps(result.to_dict(), indent=1)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    sys.stderr.write(result.summary() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(started=time.perf_counter() - process_age()))
