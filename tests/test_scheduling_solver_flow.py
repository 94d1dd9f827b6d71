"""The flow form of the selection: the exact relaxation optimum on two-sided events (issue 14)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from matchmaker.scheduling.solver import Problem, check, evaluate, flow, pipeline, solve
from matchmaker.scheduling.solver.bound import lp_score_bound, select_meetings
from matchmaker.scheduling.solver.flow import FlowRelaxation
from matchmaker.scheduling.solver.greedy import chain_in
from matchmaker.scheduling.solver.instance import compile_instance
from matchmaker.scheduling.solver.problem import SCORE_SCALE
from matchmaker.scheduling.solver.swaps import swap_holes

REPO = Path(__file__).resolve().parents[1]
JUDGE = REPO / "tests" / "data" / "check_schedule.py"

#: Wall-clock cap far above what the work limits need: the work limit alone decides.
NO_CLOCK = 600.0


def brokerage(seed: int, smes: int = 30, startups: int = 20, tables: int = 9) -> dict:
    """Return a small brokerage like the 5,000-participant one, scaled down.

    Skewed scores, candidates the best few of either side, blocked slots, meeting caps, a
    required meeting between two SMEs, required and wished cross meetings; with 6 slots and
    ``tables`` tables the tables, not the caps, limit the number of meetings.
    """
    rng = random.Random(seed)
    slots = 6
    a_side = [f"sme-{k}" for k in range(smes)]
    b_side = [f"st-{k}" for k in range(startups)]
    participants = []
    for pid in a_side + b_side:
        draw = rng.random()
        if draw < 0.12:
            blocked = [4, 5, 6] if rng.random() < 0.5 else [1, 2, 3]
        elif draw < 0.3:
            blocked = sorted(rng.sample(range(1, slots + 1), rng.randint(1, 2)))
        else:
            blocked = []
        cap = rng.choice([2, 3]) if rng.random() < 0.15 else 4
        participants.append({"id": pid, "max_meetings": cap, "unavailable": blocked})
    scores = {(a, b): round(0.4 * rng.betavariate(1.2, 4.0), 4) for a in a_side for b in b_side}
    best = set()
    for a in a_side:
        best.update((a, b) for b in sorted(b_side, key=lambda b, a=a: -scores[(a, b)])[:5])
    for b in b_side:
        best.update((a, b) for a in sorted(a_side, key=lambda a, b=b: -scores[(a, b)])[:5])
    pairs = sorted(best)
    meetings = []
    for n, (a, b) in enumerate(pairs):
        required = n % 17 == 0
        wished = n % 11 == 0 and not required
        score = scores[(a, b)] + (0.5 if wished else 0.0)
        meetings.append({"id": f"m{n}", "a": a, "b": b, "score": round(score, 4)})
        meetings[-1]["required"] = required
    meetings.append({"id": "same-side", "a": a_side[0], "b": a_side[1], "score": 0.05})
    meetings[-1]["required"] = True
    return {
        "slots": slots,
        "tables": tables,
        "morning_slots": 3,
        "fairness_threshold": 0.1,
        "participants": participants,
        "meetings": meetings,
    }


def judge(problem: dict, schedule: dict, tmp_path: Path) -> dict:
    """Run the independent judge (a copy of the shared one) on a schedule; return its verdict."""
    p, s = tmp_path / "problem.json", tmp_path / "schedule.json"
    p.write_text(json.dumps(problem), encoding="utf-8")
    s.write_text(json.dumps(schedule), encoding="utf-8")
    # The judge runs as its own process with this interpreter.
    run = subprocess.run(  # noqa: S603
        [sys.executable, str(JUDGE), str(p), str(s)], capture_output=True, text=True, check=False
    )
    return json.loads(run.stdout)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_flow_selection_equals_the_mip_optimum_level_by_level(seed: int) -> None:
    inst = compile_instance(Problem.from_dict(brokerage(seed)))
    network = FlowRelaxation(inst)
    assert network.applies  # the one same-side meeting is required, so held before the flow
    flow = network.select()
    mip = select_meetings(inst, soft_required=False, time_limit=NO_CLOCK)
    assert mip is not None and mip.optimal
    assert flow is not None and flow.optimal
    assert flow.values == mip.values
    chosen = set(flow.meetings)
    assert set(inst.required_feasible()) <= chosen
    assert sum(inst.weight[i] for i in chosen) == flow.values["score"]
    # The score alone: at least as high, and never above the LP that does not hold them.
    score_only = network.select(fairness=False)
    assert score_only is not None
    assert flow.values["score"] <= score_only.values["score"]
    assert score_only.values["score"] / SCORE_SCALE <= lp_score_bound(inst) + 1e-6


@pytest.mark.parametrize("seed", [1, 2])
def test_schedule_reaches_the_flow_optimum_and_passes_the_judge(seed: int, tmp_path: Path) -> None:
    problem = brokerage(seed)
    inst = compile_instance(Problem.from_dict(problem))
    optimum = FlowRelaxation(inst).select()
    assert optimum is not None
    result = solve(problem, time_limit=NO_CLOCK, work_limit=5.0)
    assert result.phases[0]["name"] == "select" and result.phases[0]["optimal"]
    assert result.required_unplaced == []
    assert result.fairness_misses == optimum.values["fairness"]
    assert round(result.score * SCORE_SCALE) <= optimum.values["score"]
    assert result.score_bound == pytest.approx(optimum.values["score"] / SCORE_SCALE)
    assert result.gap is not None and result.gap < 0.01
    schedule = result.to_dict()
    assert evaluate(problem, schedule)["violations"] == []
    verdict = judge(problem, schedule, tmp_path)
    assert verdict["n_violations"] == 0
    assert verdict["score"] == pytest.approx(result.score)


def test_a_cycle_of_free_meetings_within_one_group_leaves_the_flow_out() -> None:
    people = [{"id": p, "unavailable": []} for p in ("a", "b", "c")]
    meetings = [
        {"id": "ab", "a": "a", "b": "b", "score": 0.3},
        {"id": "bc", "a": "b", "b": "c", "score": 0.2},
        {"id": "ca", "a": "c", "b": "a", "score": 0.1},
    ]
    problem = {"slots": 2, "tables": 1, "participants": people, "meetings": meetings}
    inst = compile_instance(Problem.from_dict(problem))
    network = FlowRelaxation(inst)
    assert not network.applies and network.select() is None
    result = solve(problem, time_limit=NO_CLOCK, work_limit=2.0)
    # HiGHS decides instead: two meetings fit the two slots of the one table.
    assert result.optimal and result.score == pytest.approx(0.5)


def test_alternating_chain_frees_a_common_slot_and_a_table() -> None:
    # a meets e in slot 2, b meets c in slot 1, neither a nor b can meet in slot 3: they share
    # no free slot. The shortest chain swaps a-e into slot 1, which frees a in slot 2; slot 1
    # then holds one meeting over its two tables, so f-g (free in slot 3) moves there.
    people = [{"id": p, "unavailable": [3] if p in "ab" else []} for p in "abcdefg"]
    pairs = {"ab": 0.5, "ae": 0.1, "bc": 0.1, "cd": 0.1, "fg": 0.1}
    meetings = [{"id": k, "a": k[0], "b": k[1], "score": v} for k, v in pairs.items()]
    problem = {"slots": 3, "tables": 2, "participants": people, "meetings": meetings}
    inst = compile_instance(Problem.from_dict(problem))
    index = {m["id"]: k for k, m in enumerate(meetings)}
    before = {index["ae"]: 2, index["bc"]: 1, index["cd"]: 2, index["fg"]: 1}
    after = chain_in(inst, before, [index["ab"]])
    assert after == {index["ab"]: 2, index["ae"]: 1, index["bc"]: 1, index["cd"]: 2, index["fg"]: 3}
    schedule = []
    for m in meetings:
        slot = after[index[m["id"]]]
        table = 1 + sum(e["slot"] == slot for e in schedule)
        schedule.append({"id": m["id"], "a": m["a"], "b": m["b"], "slot": slot, "table": table})
    assert check(problem, {"meetings": schedule}) == []


def test_swapping_a_path_of_meetings_closes_a_hole() -> None:
    # a meets b in slot 1 and c in slot 3: one hole. The path of slots 1 and 2 through a-b is
    # that meeting alone; moving it to slot 2 closes the hole and opens none for b.
    people = [{"id": p, "unavailable": []} for p in "abcde"]
    pairs = ["ab", "ac", "de"]
    meetings = [{"id": k, "a": k[0], "b": k[1], "score": 0.1} for k in pairs]
    problem = {"slots": 3, "tables": 2, "participants": people, "meetings": meetings}
    inst = compile_instance(Problem.from_dict(problem))
    assert swap_holes(inst, {0: 1, 1: 3, 2: 2}, sweeps=3) == {0: 2, 1: 3, 2: 2}
    # Slot 2 full (one table): no meeting can move there, and swapping slots 1 and 3 along
    # a-b, a-c only trades b's and c's slots (no hole saved), so nothing moves.
    inst = compile_instance(Problem.from_dict({**problem, "tables": 1}))
    assert swap_holes(inst, {0: 1, 1: 3, 2: 2}, sweeps=3) == {0: 1, 1: 3, 2: 2}


def test_large_schedules_lose_holes_by_swaps_and_keep_their_score(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Treat the small brokerage as too large for the CP-SAT holes model.
    monkeypatch.setattr(pipeline, "TARGET_LIMIT", 0)
    monkeypatch.setattr(pipeline, "HOLES_LIMIT", 0)
    problem = brokerage(5, smes=60, startups=40, tables=30)
    plain = solve(problem, time_limit=NO_CLOCK, work_limit=5.0, skip=["holes:swap"])
    swapped = solve(problem, time_limit=NO_CLOCK, work_limit=5.0)
    assert "holes:swap" in [p["name"] for p in swapped.phases]
    assert swapped.score == plain.score and swapped.optimal
    assert swapped.holes < plain.holes
    verdict = judge(problem, swapped.to_dict(), tmp_path)
    assert verdict["n_violations"] == 0 and verdict["holes"] == swapped.holes


def test_meetings_inside_one_group_are_decided_before_the_flow_on_large_problems(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A free "must meet" wish between two SMEs: no two groups any more. Treated as large, the
    # flow still chooses (the wish held, as the greedy schedule has it); the bound is the LP's.
    monkeypatch.setattr(flow, "ODD_FLOW_MIN", 0)
    problem = brokerage(6)
    wish = {"id": "wish", "a": "sme-3", "b": "sme-4", "score": 0.6, "required": False}
    problem["meetings"].append(wish)
    inst = compile_instance(Problem.from_dict(problem))
    network = flow.FlowRelaxation(inst, keep=[len(problem["meetings"]) - 1])
    assert network.applies and not network.exact
    assert len(problem["meetings"]) - 1 in network.select().meetings
    optimum = select_meetings(inst, soft_required=False, time_limit=NO_CLOCK)
    assert optimum is not None and optimum.optimal
    result = solve(problem, time_limit=NO_CLOCK, work_limit=5.0)
    assert result.phases[0]["name"] == "select" and not result.phases[0]["optimal"]
    # Honest: the LP bound is never below the relaxation's proven optimum (HiGHS's MIP), and
    # the score never above the bound (here CP-SAT's levels prove a score below the relaxation).
    assert result.lp_bound * SCORE_SCALE >= optimum.values["score"] - 1
    assert result.score <= result.score_bound <= result.lp_bound
    assert result.fairness_misses == 0 and result.gap < 0.01
    assert judge(problem, result.to_dict(), tmp_path)["n_violations"] == 0


def test_flow_chains_and_swaps_give_the_same_schedule_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pipeline, "TARGET_LIMIT", 0)
    monkeypatch.setattr(pipeline, "HOLES_LIMIT", 0)
    problem = brokerage(7, smes=60, startups=40, tables=30)
    first = solve(problem, time_limit=NO_CLOCK, work_limit=5.0, seed=3)
    second = solve(problem, time_limit=NO_CLOCK, work_limit=5.0, seed=3)
    assert "holes:swap" in [p["name"] for p in first.phases]
    assert first.to_dict()["meetings"] == second.to_dict()["meetings"]
