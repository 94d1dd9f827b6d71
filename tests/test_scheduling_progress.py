"""The solver reports its phases and the best schedule so far to a callback (pure, no app)."""

import json
from pathlib import Path

import pytest

from matchmaker.scheduling.solver import Progress, solve

DATA = Path(__file__).parent / "data" / "schedule"


def test_the_solver_reports_each_phase_and_its_best_so_far() -> None:
    problem = json.loads((DATA / "small.json").read_text(encoding="utf-8"))
    reports: list[Progress] = []
    result = solve(problem, time_limit=60.0, work_limit=5.0, workers=1, progress=reports.append)
    phases = list(dict.fromkeys(r.phase for r in reports))
    assert phases[0] == "construct" and phases[-1] == "done"
    assert {"select", "fit", "holes"} <= set(phases)
    assert [
        p for p in ("construct", "select", "fit", "levels", "holes", "done") if p in phases
    ] == (phases)
    # The last report is the schedule returned.
    final = reports[-1]
    assert final.placed == len(result.meetings)
    assert final.score == pytest.approx(result.score, abs=1e-3)
    assert final.holes == result.holes
    assert all(0 <= r.elapsed <= r.time_limit == 60.0 for r in reports)


def test_an_exception_from_the_callback_stops_the_solve() -> None:
    problem = json.loads((DATA / "small.json").read_text(encoding="utf-8"))

    class Stop(Exception):
        pass

    def stop_at_fit(progress: Progress) -> None:
        if progress.phase == "fit":
            raise Stop

    with pytest.raises(Stop):
        solve(problem, time_limit=60.0, work_limit=5.0, workers=1, progress=stop_at_fit)
