"""Command line: ``python -m matchmaker.scheduling solve PROBLEM.json [--time-limit S] [--seed N]``.

Prints the schedule JSON to stdout and a one-line summary to stderr. Required meetings that could
not be placed are listed with the reason under ``required_unplaced`` in the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from matchmaker.scheduling.problem import Problem
from matchmaker.scheduling.solver import solve


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m matchmaker.scheduling")
    sub = parser.add_subparsers(dest="command", required=True)
    p_solve = sub.add_parser("solve", help="solve a problem and print the schedule JSON")
    p_solve.add_argument("problem", help="problem JSON file")
    p_solve.add_argument("--time-limit", type=float, default=30.0, help="seconds (default 30)")
    p_solve.add_argument("--seed", type=int, default=0, help="CP-SAT random seed (default 0)")
    p_solve.add_argument("--workers", type=int, default=2, help="CP-SAT threads (default 2)")
    p_solve.add_argument("--output", "-o", help="write the schedule here instead of stdout")
    args = parser.parse_args(argv)

    result = solve(
        Problem.load(args.problem),
        time_limit=args.time_limit,
        seed=args.seed,
        workers=args.workers,
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
    sys.exit(main())
