"""``python -m matchmaker.scheduling solve PROBLEM.json``: the pure solver's command line."""

import sys
import time

from matchmaker.scheduling.solver.__main__ import main, process_age

if __name__ == "__main__":
    sys.exit(main(started=time.perf_counter() - process_age()))
