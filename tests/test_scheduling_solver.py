"""Tests of the pure meeting-schedule solver (no app, no database)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matchmaker.scheduling.solver import (
    InvalidLockError,
    Problem,
    Result,
    check,
    evaluate,
    replan,
    solve,
)
from matchmaker.scheduling.solver import __main__ as cli
from matchmaker.scheduling.solver.check import count_holes
from matchmaker.scheduling.solver.instance import compile_instance
from matchmaker.scheduling.solver.model import hole_lower_bounds

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "schedule"
JUDGE = REPO / "tests" / "data" / "check_schedule.py"

#: Wall-clock cap of every solve here: far above what the work limits need even on a busy
#: machine, so that the work limit (CP-SAT deterministic time) alone decides the schedule.
NO_CLOCK = 600.0


def run_solver(problem: Any, work: float, **kwargs: Any) -> Result:
    """Solve with a work limit and no effective wall-clock limit (reproducible)."""
    return solve(problem, time_limit=NO_CLOCK, work_limit=work, **kwargs)


def load(name: str) -> dict:
    """Read a problem from tests/data/schedule."""
    path = DATA / name
    return json.loads(path.read_text(encoding="utf-8"))


def judge(problem: dict, schedule: dict, tmp_path: Path) -> dict:
    """Run the independent judge (a copy of the shared one) on a schedule; return its verdict."""
    assert JUDGE.exists(), f"judge {JUDGE} is missing"
    p, s = tmp_path / "problem.json", tmp_path / "schedule.json"
    p.write_text(json.dumps(problem), encoding="utf-8")
    s.write_text(json.dumps(schedule), encoding="utf-8")
    # The judge runs as its own process with this interpreter.
    run = subprocess.run(  # noqa: S603
        [sys.executable, str(JUDGE), str(p), str(s)], capture_output=True, text=True, check=False
    )
    verdict = json.loads(run.stdout)
    assert run.returncode == (1 if verdict["n_violations"] else 0)
    return verdict


def person(pid: str, cap: int | None = None, unavailable: tuple[int, ...] = ()) -> dict:
    out: dict = {"id": pid, "unavailable": list(unavailable)}
    if cap is not None:
        out["max_meetings"] = cap
    return out


def meeting(mid: str, a: str, b: str, score: float = 0.5, **extra) -> dict:
    return {"id": mid, "a": a, "b": b, "score": score, **extra}


# -- random problems ---------------------------------------------------------------------------


@st.composite
def problems(draw) -> dict:
    """Small random problems with every kind of constraint."""
    n_slots = draw(st.integers(2, 5))
    n_people = draw(st.integers(2, 7))
    morning = draw(st.one_of(st.none(), st.integers(1, n_slots - 1)))
    people = [
        person(
            f"p{k}",
            cap=draw(st.one_of(st.none(), st.integers(0, n_slots))),
            unavailable=tuple(
                draw(st.lists(st.integers(1, n_slots), max_size=n_slots // 2, unique=True))
            ),
        )
        for k in range(n_people)
    ]
    pairs = [(a, b) for a in range(n_people) for b in range(a + 1, n_people)]
    chosen = draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=10))
    meetings = []
    for k, (a, b) in enumerate(chosen):
        m = meeting(
            f"m{k}",
            f"p{a}",
            f"p{b}",
            score=draw(st.sampled_from([0.05, 0.1, 0.2, 0.35, 0.5])),
            required=draw(st.booleans()) and k % 3 == 0,
            window=draw(st.sampled_from(["any", "morning", "afternoon"])) if morning else "any",
            fixed_slot=draw(st.one_of(st.none(), st.integers(1, n_slots))) if k % 4 == 1 else None,
        )
        if k and k % 5 == 0:
            m["after"] = [f"m{k - 1}"]
        meetings.append(m)
    out = {
        "slots": n_slots,
        "tables": draw(st.integers(1, 3)),
        "fairness_threshold": 0.15,
        "participants": people,
        "meetings": meetings,
    }
    if morning:
        out["morning_slots"] = morning
    return out


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(problems())
def test_random_problems_give_valid_schedules(prob: dict) -> None:
    result = run_solver(prob, 2.0, workers=1)
    schedule = result.to_dict()
    violations = check(prob, schedule)
    # Only impossible required meetings may be reported, and each one comes with a reason.
    assert all("required meetings unscheduled" in v for v in violations)
    unplaced = {m["id"] for m in prob["meetings"] if m.get("required")} - {
        m["id"] for m in schedule["meetings"]
    }
    assert unplaced == {r.meeting_id for r in result.required_unplaced}
    assert all(r.reason for r in result.required_unplaced)
    stats = evaluate(prob, schedule)
    assert stats["score"] == pytest.approx(result.score, abs=1e-3)
    assert stats["holes"] == result.holes
    assert stats["fairness_misses"] == result.fairness_misses


@settings(max_examples=5, deadline=None, derandomize=True)
@given(prob=problems())
def test_random_schedules_pass_the_shared_judge(tmp_path_factory, prob: dict) -> None:
    result = run_solver(prob, 1.0, workers=1)
    verdict = judge(prob, result.to_dict(), tmp_path_factory.mktemp("judge"))
    assert verdict["n_violations"] == len(check(prob, result.to_dict()))
    assert verdict["holes"] == result.holes


def fewest_holes_by_search(prob: dict, meeting_ids: list[str]) -> int | None:
    """Fewest holes over every valid placement of exactly these meetings (exhaustive search)."""
    inst = compile_instance(Problem.from_dict(prob))
    index = {m["id"]: k for k, m in enumerate(prob["meetings"])}
    order = sorted((index[i] for i in meeting_ids), key=lambda i: len(inst.dom[i]))
    busy: dict[int, set[int]] = {q: set() for q in range(len(inst.pid))}
    load = [0] * (inst.n_slots + 1)
    slot: dict[int, int] = {}
    best: list[int | None] = [None]

    def place(k: int) -> None:
        if k == len(order):
            if all(slot[j] < slot[i] for i in slot for j in inst.before[i] if j in slot):
                holes = sum(count_holes(v) for v in busy.values())
                if best[0] is None or holes < best[0]:
                    best[0] = holes
            return
        i = order[k]
        a, b = inst.pa[i], inst.pb[i]
        for s in inst.dom[i]:
            if s in busy[a] or s in busy[b] or load[s] >= inst.n_tables:
                continue
            busy[a].add(s)
            busy[b].add(s)
            load[s] += 1
            slot[i] = s
            place(k + 1)
            del slot[i]
            load[s] -= 1
            busy[a].discard(s)
            busy[b].discard(s)

    place(0)
    return best[0]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(prob=problems())
def test_holes_proven_minimal_match_an_exhaustive_search(prob: dict) -> None:
    result = run_solver(prob, 2.0, workers=1)
    ids = [m.id for m in result.meetings]
    fewest = fewest_holes_by_search(prob, ids)
    assert fewest is not None
    assert result.holes >= fewest
    if result.holes_optimal:
        assert result.holes == fewest
    inst = compile_instance(Problem.from_dict(prob))
    index = {m["id"]: k for k, m in enumerate(prob["meetings"])}
    # The per-participant lower bounds hold for every placement of these meetings.
    assert sum(hole_lower_bounds(inst, [index[i] for i in ids]).values()) <= fewest


def test_a_forced_hole_is_a_lower_bound() -> None:
    # A is away in slot 3 and has four meetings in five slots: one hole whatever the schedule.
    people = [person("A", unavailable=(3,))] + [person(f"x{k}") for k in range(4)]
    prob = {
        "slots": 5,
        "tables": 4,
        "participants": people,
        "meetings": [meeting(f"m{k}", "A", f"x{k}", required=True) for k in range(4)],
    }
    inst = compile_instance(Problem.from_dict(prob))
    assert hole_lower_bounds(inst, range(4))[inst.pid.index("A")] == 1
    result = run_solver(prob, 2.0, workers=1)
    assert result.holes == 1
    assert result.holes_optimal
    assert not result.required_unplaced


# -- check() mirrors the judge ------------------------------------------------------------------


def test_check_reports_each_kind_of_violation() -> None:
    prob = {
        "slots": 3,
        "tables": 1,
        "morning_slots": 1,
        "participants": [person("a", cap=1, unavailable=(3,)), person("b"), person("c")],
        "meetings": [
            meeting("m1", "a", "b", window="afternoon"),
            meeting("m2", "a", "c", fixed_slot=2),
            meeting("m3", "b", "c", required=True, after=["m1"]),
            meeting("m4", "b", "c"),
        ],
    }
    schedule = [
        {"id": "m1", "slot": 1, "table": 1},
        {"id": "m2", "slot": 3, "table": 1},
        {"id": "m4", "slot": 1, "table": 1},
        {"id": "zz", "slot": 1},
    ]
    text = "\n".join(check(prob, schedule))
    for expected in (
        "unknown meeting zz",
        "m1: not in the afternoon",
        "m2: fixed at 2, placed at 3",
        "m2: a unavailable in slot 3",
        "table 1 used twice in slot 1",
        "slot 1: 2 meetings > 1 tables",
        "participant b double-booked in slot 1",
        "participant a has 2 > 1 meetings",
        "1 required meetings unscheduled",
    ):
        assert expected in text


def test_check_precedence() -> None:
    prob = {
        "slots": 2,
        "tables": 2,
        "participants": [person("a"), person("b")],
        "meetings": [meeting("m1", "a", "b"), meeting("m2", "a", "b", after=["m1"])],
    }
    assert check(prob, [{"id": "m1", "slot": 2}, {"id": "m2", "slot": 1}]) == [
        "m2 must come after m1"
    ]
    assert check(prob, [{"id": "m1", "slot": 1}, {"id": "m2", "slot": 2}]) == []


# -- shared instances ---------------------------------------------------------------------------
# Work limits are CP-SAT deterministic time: each is several times what the instance needs, so the
# results below do not depend on the machine or its load (only the test's duration does).


@pytest.mark.slow
def test_small_optimal_score(tmp_path: Path) -> None:
    prob = load("small.json")
    result = run_solver(prob, 10.0)
    assert result.optimal
    assert result.score == pytest.approx(18.3975, abs=1e-4)
    assert result.fairness_misses == 0
    verdict = judge(prob, result.to_dict(), tmp_path)
    assert verdict["n_violations"] == 0
    assert verdict["score"] == pytest.approx(18.3975, abs=1e-4)
    # Fewest holes for the chosen meetings, proven by CP-SAT's bound.
    assert result.holes_optimal
    assert verdict["holes"] == result.holes


@pytest.mark.slow
def test_conference_optimal_score_with_fairness(tmp_path: Path) -> None:
    prob = load("conference.json")
    result = run_solver(prob, 5.0)
    assert result.optimal
    assert result.score == pytest.approx(30.7267, abs=1e-4)
    assert result.fairness_misses == 0
    assert result.holes_optimal
    verdict = judge(prob, result.to_dict(), tmp_path)
    assert verdict["n_violations"] == 0
    assert verdict["holes"] == result.holes


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "best_known"),
    [
        ("tic-12", 0),
        ("forum-13", 0),
        ("forumt-14", 5),
        ("forum-14", 2),
        ("forum-13crafc", 1),
        ("forumt-14crafe", 5),
        ("tic-14crafc", 0),
        ("ticf-14crafa", 0),
    ],
)
def test_b2bsp_best_known_holes(tmp_path: Path, name: str, best_known: int) -> None:
    prob = load(f"b2bsp-{name}.json")
    result = run_solver(prob, 20.0)
    assert not result.required_unplaced
    assert result.holes == best_known
    assert result.holes_optimal
    verdict = judge(prob, result.to_dict(), tmp_path)
    assert verdict["n_violations"] == 0
    assert verdict["holes"] == best_known


def four_firms_meeting_each_other(slots: int, tables: int) -> dict:
    """Four firms, each with a required meeting with each of the other three."""
    people = [person(f"f{k}") for k in range(4)]
    meetings = [
        meeting(f"m{a}{b}", f"f{a}", f"f{b}", required=True)
        for a in range(4)
        for b in range(a + 1, 4)
    ]
    return {"slots": slots, "tables": tables, "participants": people, "meetings": meetings}


def test_target_without_holes_refuted_proves_a_higher_bound() -> None:
    # Four firms, each meeting the other three, in four slots at one table per pair of slots:
    # nobody can meet in one block, so the lower bound (0) is refuted and the schedule found
    # is proven minimal above it.
    prob = four_firms_meeting_each_other(slots=5, tables=2)
    result = run_solver(prob, 5.0, workers=1)
    assert not result.required_unplaced
    assert result.holes_optimal
    assert result.holes == fewest_holes_by_search(prob, [m["id"] for m in prob["meetings"]])


def test_refuted_target_one_hole_more_for_one_participant_is_optimal(tmp_path: Path) -> None:
    # forum-13 with 12 tables instead of 14: nobody can keep a schedule without holes
    # (refuted), and one participant with one hole is enough, found in holes:relax.
    prob = load("b2bsp-forum-13crafc.json")
    result = run_solver(prob, 3.0, workers=1)
    assert [p["name"] for p in result.phases][-2:] == ["holes:target", "holes:relax"]
    assert not result.required_unplaced
    assert result.holes == 1
    assert result.holes_optimal
    assert judge(prob, result.to_dict(), tmp_path)["n_violations"] == 0


def test_every_participant_refuted_one_hole_more_raises_the_bound_by_two() -> None:
    # Four firms, each meeting the other three, at one table in seven slots: a slot holds one
    # meeting, so no firm meets in one block, and no single firm with one hole is enough.
    prob = four_firms_meeting_each_other(slots=7, tables=1)
    result = run_solver(prob, 5.0, workers=1)
    relax = next(p for p in result.phases if p["name"] == "holes:relax")
    assert relax["bound"] == 2
    assert result.holes_optimal
    assert result.holes == fewest_holes_by_search(prob, [m["id"] for m in prob["meetings"]])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("skip", "workers"), [((), 1), ((), 2), (("holes:relax",), 1), (("holes:relax",), 2)]
)
def test_same_problem_seed_and_work_limit_give_the_same_schedule(
    skip: tuple[str, ...], workers: int
) -> None:
    # forum-13crafc refutes the target; without holes:relax the rest of the work limit goes to
    # holes:improve, where two workers interleave.
    prob = load("b2bsp-forum-13crafc.json")
    first = run_solver(prob, 3.0, seed=3, workers=workers, skip=skip)
    second = run_solver(prob, 3.0, seed=3, workers=workers, skip=skip)
    assert [p["name"] for p in first.phases][-1] == ("holes:improve" if skip else "holes:relax")
    assert first.holes >= 1
    assert first.to_dict()["meetings"] == second.to_dict()["meetings"]


# -- required meetings that cannot be placed ----------------------------------------------------


def test_required_without_common_slot_is_reported_with_reason() -> None:
    prob = {
        "slots": 2,
        "tables": 2,
        "participants": [person("A", unavailable=(1,)), person("B", unavailable=(2,)), person("C")],
        "meetings": [
            meeting("m1", "A", "B", required=True),
            meeting("m2", "A", "C", required=True),
        ],
    }
    result = run_solver(prob, 2.0, workers=1)
    assert [r.meeting_id for r in result.required_unplaced] == ["m1"]
    assert "A and B share no free slot" in result.required_unplaced[0].reason
    assert [m.id for m in result.meetings] == ["m2"]


def test_too_many_required_meetings_is_reported() -> None:
    people = [person("A", unavailable=(3,))] + [person(f"x{k}") for k in range(3)]
    prob = {
        "slots": 3,
        "tables": 3,
        "participants": people,
        "meetings": [meeting(f"m{k}", "A", f"x{k}", required=True) for k in range(3)],
    }
    result = run_solver(prob, 2.0, workers=1)
    assert len(result.meetings) == 2
    assert len(result.required_unplaced) == 1
    assert "A has 3 required meetings but only 2 available slots" in (
        result.required_unplaced[0].reason
    )


def test_fixed_slot_outside_window_is_reported() -> None:
    prob = {
        "slots": 4,
        "tables": 2,
        "morning_slots": 2,
        "participants": [person("A"), person("B")],
        "meetings": [meeting("m1", "A", "B", required=True, window="morning", fixed_slot=3)],
    }
    result = run_solver(prob, 1.0, workers=1)
    assert "fixed slot 3 is outside its morning window" in result.required_unplaced[0].reason


# -- determinism, time limits, locks ------------------------------------------------------------


def test_tiny_time_limit_still_returns_a_valid_schedule() -> None:
    prob = load("conference.json")
    result = solve(prob, time_limit=0.01, workers=1)
    assert result.meetings
    assert check(prob, result.to_dict()) == []


def test_locked_meetings_stay_where_they_are() -> None:
    prob = load("small.json")
    parsed = Problem.from_dict(prob)
    locks, used = [], set()
    for m in parsed.meetings:
        if {m.a, m.b} & used:
            continue
        # The last slot both sides can make, at a table of its own.
        slot = parsed.domain(m)[-1]
        locks.append((m.id, slot, len(locks) + 1))
        used |= {m.a, m.b}
        if len(locks) == 3:
            break
    result = run_solver(prob, 2.0, workers=1, locked=locks)
    placed = {m.id: (m.slot, m.table) for m in result.meetings}
    for mid, slot, table in locks:
        assert placed[mid] == (slot, table)
    assert check(prob, result.to_dict()) == []


def test_invalid_lock_is_refused() -> None:
    prob = {
        "slots": 2,
        "tables": 1,
        "participants": [person("A", unavailable=(1,)), person("B")],
        "meetings": [meeting("m1", "A", "B")],
    }
    with pytest.raises(InvalidLockError, match="A is unavailable"):
        solve(prob, locked=[{"id": "m1", "slot": 1}])


def test_replan_keeps_the_past_and_drops_the_absent() -> None:
    prob = load("small.json")
    first = run_solver(prob, 2.0, workers=1).to_dict()
    absent = first["meetings"][-1]["a"]
    result = replan(
        prob, first, from_slot=3, absent=[absent], time_limit=NO_CLOCK, work_limit=2.0, workers=1
    )
    before = {(m["id"], m["slot"], m["table"]) for m in first["meetings"] if m["slot"] < 3}
    after = {(m.id, m.slot, m.table) for m in result.meetings if m.slot < 3}
    assert before == after
    assert not [m for m in result.meetings if m.slot >= 3 and absent in (m.a, m.b)]
    assert check(prob, result.to_dict()) == []


# -- problem features ---------------------------------------------------------------------------


def test_general_pairs_between_the_same_side() -> None:
    prob = {
        "slots": 2,
        "tables": 2,
        "participants": [{"id": f"s{k}", "side": "sme"} for k in range(3)],
        "meetings": [
            meeting("m1", "s0", "s1", 0.4),
            meeting("m2", "s1", "s2", 0.3),
            meeting("m3", "s0", "s2", 0.2),
        ],
    }
    result = run_solver(prob, 2.0, workers=1)
    assert len(result.meetings) == 2
    assert result.score == pytest.approx(0.7)
    assert result.optimal


def test_pair_listed_twice_meets_twice_in_different_slots() -> None:
    prob = {
        "slots": 3,
        "tables": 1,
        "participants": [person("A"), person("B")],
        "meetings": [
            meeting("m1", "A", "B", required=True),
            meeting("m2", "A", "B", required=True),
        ],
    }
    result = run_solver(prob, 2.0, workers=1)
    slots = sorted(m.slot for m in result.meetings)
    assert len(slots) == 2
    assert slots[0] != slots[1]
    assert result.holes == 0


def test_precedence_and_windows_are_respected() -> None:
    prob = {
        "slots": 4,
        "tables": 2,
        "morning_slots": 2,
        "participants": [person("A"), person("B"), person("C")],
        "meetings": [
            meeting("m1", "A", "B", required=True, after=["m2"]),
            meeting("m2", "A", "C", required=True, window="afternoon"),
            meeting("m3", "B", "C", required=True, window="morning"),
        ],
    }
    result = run_solver(prob, 2.0, workers=1)
    slot = {m.id: m.slot for m in result.meetings}
    assert slot["m2"] < slot["m1"]
    assert slot["m2"] > 2
    assert slot["m3"] <= 2
    assert check(prob, result.to_dict()) == []


def test_levels_prove_the_optimum_when_the_selection_does_not_fit_in_slots() -> None:
    # The selection (no slots) takes both morning meetings, but the morning has one table: the
    # levels phase (CP-SAT over slots) proves that one of them plus the afternoon one is best.
    prob = {
        "slots": 2,
        "tables": 1,
        "morning_slots": 1,
        "participants": [person(q) for q in "ABCDEF"],
        "meetings": [
            meeting("m1", "A", "B", 0.5, window="morning"),
            meeting("m2", "C", "D", 0.5, window="morning"),
            meeting("m3", "E", "F", 0.1),
        ],
    }
    result = run_solver(prob, 2.0, workers=1)
    assert result.score == pytest.approx(0.6)
    assert result.optimal
    assert any(p["name"].startswith("levels:") for p in result.phases)
    assert not run_solver(prob, 2.0, workers=1, skip=["levels"]).optimal


def test_problem_round_trips_through_json() -> None:
    prob = load("conference.json")
    again = Problem.from_dict(Problem.from_dict(prob).to_dict())
    assert again.to_dict() == Problem.from_dict(prob).to_dict()


# -- command line --------------------------------------------------------------------------------

#: Runs the CLI as ``python -m matchmaker.scheduling`` with Flask and SQLAlchemy made unimportable.
PURE_CLI = (
    "import runpy, sys\n"
    "for name in ('flask', 'sqlalchemy', 'flask_sqlalchemy'):\n"
    "    sys.modules[name] = None\n"
    "sys.argv = ['python -m matchmaker.scheduling', *sys.argv[1:]]\n"
    "runpy.run_module('matchmaker.scheduling', run_name='__main__')\n"
)


def test_cli_runs_without_flask_and_prints_schedule_and_one_summary_line(tmp_path: Path) -> None:
    # Runs this package's own CLI with this interpreter.
    run = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-c",
            PURE_CLI,
            "solve",
            str(DATA / "small.json"),
            "--time-limit",
            str(NO_CLOCK),
            "--work-limit",
            "5",
            "--seed",
            "3",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    schedule = json.loads(run.stdout)
    assert schedule["meetings"]
    assert "unscheduled" in schedule
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("score 18.3975 holes ")
    assert "proven optimal" in lines[0]
    assert judge(load("small.json"), schedule, tmp_path)["n_violations"] == 0


def test_cli_time_limit_counts_from_the_start_of_the_process(monkeypatch) -> None:
    assert cli.process_age() > 0
    given: dict[str, float] = {}

    def fake_solve(problem: Problem, **kwargs: Any) -> Result:
        given.update(kwargs)
        return run_solver(problem, 0.1, workers=1)

    monkeypatch.setattr(cli, "solve", fake_solve)
    # As if the process had started 100 s ago: of a 101 s limit less than 1 s is left.
    started = time.perf_counter() - 100.0
    args = ["solve", str(DATA / "small.json"), "--time-limit", "101", "-o", "/dev/null"]
    assert cli.main(args, started=started) == 0
    assert given["time_limit"] < 1.0
    assert given["work_limit"] is None
