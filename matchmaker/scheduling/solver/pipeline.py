"""Solve a meeting-schedule problem in named phases, each with its share of one work budget.

(Over 500 lines: the phases read top-down in the order they run, with ``replan`` and the result
building at the end.)

Objective, lexicographic: (0) place every required meeting, (1) fewest eligible participants
without a meeting (fairness), (2) highest total score, (3) fewest holes. The phases, in order
(the docstring of ``model.py`` describes the model, and the ablation in ``bench/RESULTS.md``
what each phase buys):

``construct``
    Greedy schedule: always valid, the fallback and the first hint.
``select``
    The degree-capped matching relaxation, solved lexicographically (no slots): its optimum
    bounds fairness and score, and its meetings are the ones to put into slots. A min-cost flow
    solves it exactly when every required meeting is placed and the other candidates join two
    groups (SMEs and startups: 0.3-0.7 s at 5,000 people; ``flow.py`` says how a few meetings
    inside one group are handled on large problems); HiGHS's MIP otherwise.
``fit``
    Slots for the selected meetings: greedy colouring, alternating chains, then CP-SAT for what
    they miss. When all fit, fairness and score are proven optimal without any search over
    slots.
``levels``
    Small problems only: the CP-SAT slot model over all candidates solves the levels the
    selection did not prove.
``holes:target``
    A schedule of the chosen meetings with every participant at its hole lower bound (the block
    form of the model): when found, the holes are proven minimal.
``holes:relax``
    When that is refuted: one participant at a time may take one hole more than its bound, the
    others keep their shape; the first schedule found is optimal.
``holes:improve``
    CP-SAT minimises the holes from the best schedule (core-based bound, neighbourhood search).
``holes:swap``
    Problems too large for that model (thousands of participants): two slots swapped along
    paths of meetings wherever that saves holes (``swaps.py``), before ``holes:improve``.

Every CP-SAT call is stopped by deterministic time (CP-SAT's work units), so the same problem,
seed and work limit give the same schedule; the wall clock only caps the whole run.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from matchmaker.scheduling.solver.bound import lp_score_bound, select_meetings
from matchmaker.scheduling.solver.check import count_holes
from matchmaker.scheduling.solver.flow import FlowRelaxation
from matchmaker.scheduling.solver.greedy import chain_in, greedy_schedule
from matchmaker.scheduling.solver.instance import Instance, Lock, compile_instance
from matchmaker.scheduling.solver.model import (
    LevelOutcome,
    SlotModel,
    SolverSettings,
    hole_lower_bounds,
)
from matchmaker.scheduling.solver.problem import SCORE_SCALE, Problem
from matchmaker.scheduling.solver.result import (
    RequiredIssue,
    Result,
    ScheduledMeeting,
    assign_tables,
)
from matchmaker.scheduling.solver.swaps import swap_holes

#: Share of the work left when each phase starts (CP-SAT deterministic time), and why.
BUDGETS: dict[str, tuple[float, str]] = {
    "select": (0.6, "wall clock for HiGHS: under 2 s at 2,000 people; the score proof rests on it"),
    "fit": (0.4, "the greedy colouring misses a handful at most; the rest goes to holes"),
    "levels": (0.6, "small problems only, where the levels are proven in well under a unit"),
    "holes:target": (0.5, "decides B2B events in 0.03-2.4 units; half: busy machines"),
    "holes:relax": (0.3, "one hole more, found in under 1 unit (small, forumt-14crafe, 13crafc)"),
    "holes:improve": (1.0, "the rest: improves until proven or out of work"),
    "holes:swap": (0.0, "no CP-SAT: path swaps where holes:improve does not run (above its limit)"),
}

#: Above this many (meeting, slot) pairs the ``levels`` phase does not run (the selection's
#: bound and the greedy fit are all a large problem gets).
LEVELS_LIMIT = 25_000

#: Above this many (meeting, slot) pairs ``holes:target`` does not run (real B2B events have up
#: to 7,000; beyond, the block search does not finish in the time limits in use).
TARGET_LIMIT = 10_000

#: Work for one participant's try in ``holes:relax``: presolve refutes a try in under 0.15
#: units on the B2B instances, and the tries that succeed take 0.1-1.8.
RELAX_TRY = 1.0

#: Above this many (meeting, slot) pairs ``holes:improve`` does not run (building the model alone
#: would take longer than the time limits in use).
HOLES_LIMIT = 20_000

#: Most passes of ``holes:swap`` over all pairs of slots: at 5,000 participants the fourth
#: saves almost nothing (4,826 holes, then 3,807, 3,706, 3,694, 3,693).
SWAP_SWEEPS = 8

#: Deterministic time per second of the time limit when no work limit is given (CP-SAT's unit
#: is calibrated to about a second of one core).
WORK_PER_SECOND = 1.0

#: Seconds kept back at the end for numbering tables and building the result.
RESERVE = 0.1


class _Run:
    """Bookkeeping of one solve: clock, work left, phases done, phases skipped."""

    def __init__(self, time_limit: float, work_limit: float, skip: Collection[str]) -> None:
        self.t0 = time.perf_counter()
        self.time_limit = time_limit
        self.work_left = work_limit
        self.skip = set(skip)
        self.phases: list[LevelOutcome] = []

    def seconds_left(self) -> float:
        return self.time_limit - (time.perf_counter() - self.t0) - RESERVE

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def allows(self, phase: str) -> bool:
        """Tell whether ``phase`` runs: not skipped, and work and time are left."""
        return phase not in self.skip and self.work_left > 0.01 and self.seconds_left() > 0.01

    def budget(self, phase: str) -> tuple[float, float]:
        """Return (work, seconds) for ``phase``: its share of the work and of the time left.

        The wall-clock share keeps time for the later phases when a busy machine makes a unit of
        work take longer than a second (placing every required meeting comes after the target).
        """
        share = BUDGETS[phase][0]
        return share * self.work_left, share * self.seconds_left()

    def record(self, name: str, value: int, bound: int, optimal: bool, t0: float, work: float):
        self.work_left -= work
        seconds = time.perf_counter() - t0
        self.phases.append(LevelOutcome(name, value, bound, optimal, seconds, round(work, 3)))


@dataclass(frozen=True)
class Progress:
    """Where a solve is: the phase that starts and the best schedule so far.

    Attributes
    ----------
    phase : str
        ``construct``, ``select``, ``fit``, ``levels``, ``holes`` or ``done``.
    elapsed, time_limit : float
        Wall-clock seconds since the start, and the limit of the whole solve.
    placed : int
        Meetings in the best schedule so far.
    score : float
        Its total score.
    holes : int
        Its idle slots between meetings, over all participants.
    """

    phase: str
    elapsed: float
    time_limit: float
    placed: int
    score: float
    holes: int


def _key(inst: Instance, sol: Mapping[int, int]) -> tuple[int, int, int, int]:
    """Lexicographic cost of a schedule: required misses, fairness misses, -score, holes."""
    busy: dict[int, list[int]] = defaultdict(list)
    for i, s in sol.items():
        busy[inst.pa[i]].append(s)
        busy[inst.pb[i]].append(s)
    req_miss = sum(1 for i in inst.required_feasible() if i not in sol)
    fair = sum(1 for q in inst.eligible if q not in busy)
    score = sum(inst.weight[i] for i in sol)
    holes = sum(count_holes(v) for v in busy.values())
    return (req_miss, fair, -score, holes)


def solve(
    problem: Problem | Mapping[str, Any],
    time_limit: float = 10.0,
    seed: int = 0,
    locked: Iterable[Lock | Mapping[str, Any] | tuple] = (),
    frozen_slots: Iterable[int] = (),
    workers: int = 2,
    deterministic: bool = True,
    work_limit: float | None = None,
    skip: Collection[str] = (),
    progress: Callable[[Progress], None] | None = None,
) -> Result:
    """Schedule meetings: required first, then fairness, score and fewest holes.

    Parameters
    ----------
    problem : Problem or mapping
        The problem, parsed or as its JSON form.
    time_limit : float
        Wall-clock seconds; the best schedule found so far is returned when it runs out (the
        greedy schedule if nothing better was found).
    seed : int
        CP-SAT random seed.
    locked : iterable
        Meetings to keep at their slot (and table when given): ``Lock``, mappings with
        ``id``/``slot``/``table`` or ``(id, slot[, table])`` tuples.
    frozen_slots : iterable of int
        Slots already over: nothing but locked meetings is placed there.
    workers : int
        CP-SAT threads.
    deterministic : bool
        Use CP-SAT's interleaved search with several workers (reproducible).
    work_limit : float, optional
        CP-SAT deterministic time for all phases together (default: ``time_limit`` units). With
        a work limit the wall clock does not cut, the schedule depends only on the problem, the
        seed, the workers and the work limit.
    skip : collection of str
        Phases not to run (names as in :data:`BUDGETS`; for ablation benchmarks).
    progress : callable, optional
        Called with a :class:`Progress` when a phase starts, when a better schedule is found
        and at the end; an exception it raises stops the solve (e.g. a cancelled job).

    Returns
    -------
    Result

    Raises
    ------
    InvalidLockError
        When the locked meetings break a hard constraint or clash.
    """
    work = time_limit * WORK_PER_SECOND if work_limit is None else work_limit
    run = _Run(time_limit, work, skip)
    prob = Problem.coerce(problem)
    inst = compile_instance(prob, locked, frozen_slots)
    settings = SolverSettings(workers=workers, seed=seed, deterministic=deterministic)

    # construct
    best = greedy_schedule(inst)
    best_key = _key(inst, best)
    phase = "construct"

    def report(starting: str | None = None) -> None:
        nonlocal phase
        phase = starting or phase
        if progress is not None:
            score = -best_key[2] / SCORE_SCALE
            progress(Progress(phase, run.elapsed(), time_limit, len(best), score, best_key[3]))

    def consider(sol: Mapping[int, int] | None) -> None:
        nonlocal best, best_key
        if sol is not None and _key(inst, sol) < best_key:
            best, best_key = dict(sol), _key(inst, sol)
            report()

    report()

    core = set(inst.required_feasible()) | set(inst.locked)
    optional = len(inst.candidates()) > len(core)
    soft = best_key[0] > 0
    # Every required meeting is placed (the greedy did): the relaxation holds them, and on a
    # two-sided event it is a flow problem, solved exactly in a fraction of the LP's time.
    network = None if soft else FlowRelaxation(inst, keep=best)
    relaxed = network.select(fairness=False) if network is not None and network.exact else None
    if relaxed is not None:
        lp = relaxed.values["score"] / SCORE_SCALE
    else:
        # Held meetings and, when nobody eligible goes without, full cover bound the optimum.
        lp = lp_score_bound(inst, held=not soft, cover=not soft and best_key[1] == 0)

    # select
    report("select")
    sel_bound: dict[str, int] = {}
    selected = sorted(set(best) | set(inst.locked))
    if run.allows("select"):
        t0 = time.perf_counter()
        seconds = BUDGETS["select"][0] * run.seconds_left()
        chosen = network.select() if network is not None and network.applies else None
        if chosen is None:
            chosen = select_meetings(inst, soft, seconds, fairness_zero=best_key[1] == 0)
        if chosen is not None:
            selected = sorted(set(chosen.meetings) | set(inst.locked))
            if chosen.optimal:
                sel_bound = dict(chosen.values)
            run.record("select", chosen.values["score"], 0, chosen.optimal, t0, 0.0)

    # fit: greedy colouring; when every meeting is required the block search of holes:target
    # places them and their holes at once (measured faster than placing them without holes).
    report("fit")
    colour = greedy_schedule(inst, subset=selected, place_all=True)
    target: _Target | None = None
    if len(colour) < len(selected) and not optional:
        target = _shaped(inst, selected, colour, settings, run)
        colour = target.solution or colour
    if len(colour) < len(selected) and run.allows("fit"):
        colour = _fit(inst, selected, colour, settings, run)
    consider(colour)
    if len(colour) < len(selected):
        consider(greedy_schedule(inst, start=colour))

    # levels
    report("levels")
    proven = _proven_by_selection(inst, best_key, sel_bound, soft)
    if proven["required"] and proven["fairness"] and lp is not None:
        # The LP bounds the score at these levels: a score at its floor is optimal.
        proven["score"] = proven["score"] or -best_key[2] >= math.floor(lp * SCORE_SCALE + 1e-6)
    cands = inst.candidates()
    n_pairs = sum(len(inst.dom[i]) for i in cands)
    if not all(proven.values()) and n_pairs <= LEVELS_LIMIT and run.allows("levels"):
        proven, solutions = _levels(inst, cands, best, best_key, proven, soft, settings, run)
        for sol in solutions:
            consider(sol)
    optimal = all(proven[name] for name in ("required", "fairness", "score"))

    # holes
    report("holes")
    if target is None or set(best) != set(selected):
        target = _shaped(inst, sorted(best), best, settings, run)
        consider(target.solution)
    holes_optimal = best_key[3] <= target.lower
    if not holes_optimal and _pairs(inst, best) > HOLES_LIMIT and run.allows("holes:swap"):
        t0 = time.perf_counter()
        sol = swap_holes(inst, best, SWAP_SWEEPS, go_on=lambda: run.seconds_left() > 0.01)
        consider(sol)
        run.record("holes:swap", best_key[3], target.lower, best_key[3] <= target.lower, t0, 0.0)
        holes_optimal = best_key[3] <= target.lower
    if not holes_optimal:
        sol, holes_optimal = _improve(inst, best, target.lower, settings, run)
        consider(sol)
    status = "optimal" if optimal else ("feasible" if run.phases else "greedy")
    score_bound = lp
    if optimal:
        score_bound = -best_key[2] / SCORE_SCALE
    elif proven["fairness"] and "score" in sel_bound:
        score_bound = min(x for x in (lp, sel_bound["score"] / SCORE_SCALE) if x is not None)
    report("done")
    return _result(
        inst, best, run, lp, score_bound, optimal, holes_optimal and optimal, status, seed
    )


def _fit(
    inst: Instance,
    selected: list[int],
    colour: dict[int, int],
    settings: SolverSettings,
    run: _Run,
) -> dict[int, int]:
    """Give slots to the selected meetings the greedy colouring missed (phase ``fit``).

    First by alternating chains (two slots swapped along a path of meetings: no search, and
    at thousands of participants they find room where CP-SAT's neighbourhoods do not). Then
    CP-SAT re-slots only the neighbourhood of the meetings still missing (their participants'
    meetings, then those of their partners), everything else kept where it is: the colouring
    misses a handful, and a model over the whole selection is far slower to find them room.
    """
    t0 = time.perf_counter()
    work, seconds = run.budget("fit")
    missing = [i for i in selected if i not in colour]
    colour = chain_in(inst, colour, missing)
    missing = [i for i in missing if i not in colour]
    people = {q for i in missing for q in (inst.pa[i], inst.pb[i])}
    free: set[int] = set(missing)
    spent = 0.0
    out = colour
    for _hop in range(3 if missing else 0):
        free |= {i for i in colour if {inst.pa[i], inst.pb[i]} & people and i not in inst.locked}
        people |= {q for i in free for q in (inst.pa[i], inst.pb[i])}
        kept = {i: s for i, s in colour.items() if i not in free}
        model = SlotModel(inst, free, settings, place_all=True, background=kept, holes=False)
        done = model.run(None, (work - spent) / 2, seconds / 2, hint=colour)
        spent += done.work
        if done.solution is not None:
            out = {**kept, **done.solution}
            break
    run.record("fit", len(out), len(selected), len(out) == len(selected), t0, spent)
    return out


def _proven_by_selection(
    inst: Instance, key: tuple[int, int, int, int], sel_bound: Mapping[str, int], soft: bool
) -> dict[str, bool]:
    """Tell which levels the schedule ``key`` proves optimal by meeting the selection's bound."""
    values = {"required": key[0], "fairness": key[1], "score": -key[2]}
    out = {}
    for name, value in values.items():
        trivial = (
            (name == "required" and not soft)
            or (name in ("required", "fairness") and value == 0)
            or (name == "fairness" and not inst.eligible)
            or (name == "score" and not any(inst.weight[i] for i in inst.candidates()))
        )
        out[name] = trivial or sel_bound.get(name) == value
    return out


def _levels(
    inst: Instance,
    cands: list[int],
    best: Mapping[int, int],
    key: tuple[int, int, int, int],
    proven: Mapping[str, bool],
    soft: bool,
    settings: SolverSettings,
    run: _Run,
) -> tuple[dict[str, bool], list[dict[int, int]]]:
    """Solve, over all candidates, the levels the selection did not prove (phase ``levels``).

    Returns which levels are proven (each only when every earlier one is) and the schedules
    found on the way.
    """
    model = SlotModel(inst, cands, settings, soft_required=soft)
    values = {"required": key[0], "fairness": key[1], "score": -key[2]}
    hint: Mapping[int, int] = best
    out: dict[str, bool] = {}
    solutions: list[dict[int, int]] = []
    ok = True
    for name in ("required", "fairness", "score"):
        if name not in model.levels:
            out[name] = ok
            continue
        if proven[name] and ok:
            model.fix_level(name, values[name])
            out[name] = True
            continue
        if not ok or not run.allows("levels"):
            ok = out[name] = False
            continue
        t0 = time.perf_counter()
        done = model.run(name, *run.budget("levels"), hint=hint)
        ok = done.status == "OPTIMAL"
        run.record(f"levels:{name}", done.value or 0, done.bound or 0, ok, t0, done.work)
        out[name] = ok
        if done.solution is None or done.value is None:
            ok = False
            continue
        model.fix_level(name, done.value)
        hint = done.solution
        solutions.append(done.solution)
    return out, solutions


@dataclass
class _Target:
    """Outcome of ``holes:target``: the schedule found and the proven lower bound on holes."""

    solution: dict[int, int] | None
    lower: int


def _target(inst: Instance, meetings: list[int], settings: SolverSettings, run: _Run) -> _Target:
    """Place ``meetings`` with every participant at its hole bound (phase ``holes:target``).

    The lower bound returned is the sum of the participants' bounds, plus one when the target is
    proven infeasible.
    """
    lower = _target_bound(inst, meetings)
    n_pairs = sum(len(inst.dom[i]) for i in meetings)
    if n_pairs > TARGET_LIMIT or not run.allows("holes:target"):
        return _Target(None, lower)
    t0 = time.perf_counter()
    model = SlotModel(inst, meetings, settings, place_all=True, target=False)
    # One worker without the LP relaxation: measured fastest on these feasibility problems.
    done = model.run(None, *run.budget("holes:target"), workers=1, lp=False)
    value = lower if done.solution is not None else -1
    run.record("holes:target", value, lower, done.status != "UNKNOWN", t0, done.work)
    if done.status == "INFEASIBLE":
        lower += 1
    return _Target(done.solution, lower)


def _relax(
    inst: Instance,
    meetings: list[int],
    lower: int,
    start: Mapping[int, int],
    settings: SolverSettings,
    run: _Run,
) -> _Target:
    """Give one participant at a time one hole more than its bound (phase ``holes:relax``).

    Called when the target is refuted (``lower`` is the sum of the bounds plus one). The
    participants go in the order of their holes above the bound in ``start`` (a schedule of
    these meetings, or part of one): where a greedy schedule struggles is where a hole is
    needed. The first schedule found is optimal; when every participant is refuted, the lower
    bound rises by one more.
    """
    if not run.allows("holes:relax"):
        return _Target(None, lower)
    t0 = time.perf_counter()
    work, seconds = run.budget("holes:relax")
    deadline = time.perf_counter() + seconds
    model = SlotModel(inst, meetings, settings, place_all=True, target=True)
    busy: dict[int, list[int]] = defaultdict(list)
    for i, s in start.items():
        busy[inst.pa[i]].append(s)
        busy[inst.pb[i]].append(s)

    def excess(q: int) -> int:
        return count_holes(busy[q]) - model.bounds.get(q, 0)

    people = sorted(
        (q for q in model.at_bound if model.hole_lits.get(q)),
        key=lambda q: (-excess(q), -len(model.inc[q]), q),
    )
    spent = 0.0
    refuted = 0
    solution = None
    for q in people:
        left = deadline - time.perf_counter()
        if spent >= work or left <= 0.01:
            break
        model.relax_only(q)
        done = model.run(None, min(RELAX_TRY, work - spent), left, workers=1, lp=False)
        spent += done.work
        refuted += done.status == "INFEASIBLE"
        if done.solution is not None:
            solution = done.solution
            break
    if refuted == len(people):
        lower += 1
    holes = _key(inst, solution)[3] if solution is not None else -1
    run.record("holes:relax", holes, lower, solution is not None, t0, spent)
    return _Target(solution, lower)


def _shaped(
    inst: Instance,
    meetings: list[int],
    start: Mapping[int, int],
    settings: SolverSettings,
    run: _Run,
) -> _Target:
    """Run ``holes:target``, then ``holes:relax`` when the target is proven infeasible."""
    found = _target(inst, meetings, settings, run)
    if found.solution is None and found.lower > _target_bound(inst, meetings):
        return _relax(inst, meetings, found.lower, start, settings, run)
    return found


def _target_bound(inst: Instance, meetings: list[int]) -> int:
    """Return the sum of the participants' hole lower bounds for ``meetings``."""
    return sum(hole_lower_bounds(inst, meetings).values())


def _improve(
    inst: Instance,
    best: Mapping[int, int],
    lower: int,
    settings: SolverSettings,
    run: _Run,
) -> tuple[dict[int, int] | None, bool]:
    """Minimise the holes of ``best``'s meetings from ``best`` (phase ``holes:improve``).

    Returns the schedule found (``None``: nothing better) and whether its holes are proven
    minimal.
    """
    meetings = sorted(best)
    if _pairs(inst, meetings) > HOLES_LIMIT or not run.allows("holes:improve"):
        return None, False
    t0 = time.perf_counter()
    model = SlotModel(inst, meetings, settings, place_all=True)
    model.model.Add(model.levels["holes"][0] >= lower)
    done = model.run("holes", *run.budget("holes:improve"), hint=best)
    is_opt = done.status == "OPTIMAL"
    run.record("holes:improve", done.value or -1, done.bound or lower, is_opt, t0, done.work)
    if done.solution is None:
        return None, False
    return done.solution, is_opt or (done.value is not None and done.value <= lower)


def _pairs(inst: Instance, meetings: Iterable[int]) -> int:
    """Return the number of (meeting, slot) pairs of ``meetings``: the size of a slot model."""
    return sum(len(inst.dom[i]) for i in meetings)


def _result(
    inst: Instance,
    sol: Mapping[int, int],
    run: _Run,
    lp: float | None,
    score_bound: float | None,
    optimal: bool,
    holes_optimal: bool,
    status: str,
    seed: int,
) -> Result:
    """Build the :class:`Result` of a schedule (meeting index to slot)."""
    prob = inst.problem
    tables = assign_tables(inst, sol)
    meetings = [
        ScheduledMeeting(
            id=prob.meetings[i].id,
            a=prob.meetings[i].a,
            b=prob.meetings[i].b,
            slot=s,
            table=tables[i],
            score=prob.meetings[i].score,
        )
        for i, s in sorted(sol.items(), key=lambda kv: (kv[1], tables[kv[0]]))
    ]
    key = _key(inst, sol)
    issues = []
    for i, r in enumerate(inst.required):
        if not r or i in sol:
            continue
        m = prob.meetings[i]
        reason = inst.reasons.get(i)
        if reason is None:
            why = [inst.overload[q] for q in (inst.pa[i], inst.pb[i]) if q in inst.overload]
            reason = "; ".join(why) or (
                f"no slot left where {m.a} and {m.b} are both free, given their other required "
                "meetings, windows and the tables"
            )
        issues.append(RequiredIssue(m.id, m.a, m.b, reason))
    return Result(
        meetings=meetings,
        unscheduled=[m.id for i, m in enumerate(prob.meetings) if i not in sol],
        score=round(sum(prob.meetings[i].score for i in sol), 4),
        holes=key[3],
        fairness_misses=key[1],
        required_unplaced=issues,
        score_bound=None if score_bound is None else round(score_bound, 4),
        lp_bound=None if lp is None else round(lp, 4),
        optimal=optimal,
        holes_optimal=holes_optimal,
        status=status,
        seconds=run.elapsed(),
        seed=seed,
        phases=[asdict(p) for p in run.phases],
    )


def replan(
    problem: Problem | Mapping[str, Any],
    schedule: Mapping[str, Any] | Iterable[Mapping[str, Any]],
    from_slot: int,
    absent: Iterable[str] = (),
    locked: Iterable[Lock | Mapping[str, Any] | tuple] = (),
    **kwargs: Any,
) -> Result:
    """Re-plan the rest of the day: keep meetings before ``from_slot``, re-optimise the others.

    Parameters
    ----------
    problem : Problem or mapping
    schedule : mapping or iterable of mappings
        The current schedule (JSON form or its list of meetings).
    from_slot : int
        First slot that can still change; earlier slots are frozen with their meetings.
    absent : iterable of str
        Participants who left (no-shows): unavailable from ``from_slot`` on.
    locked : iterable
        Further meetings to keep (e.g. locked by the organiser) in the open slots.
    **kwargs
        Passed to :func:`solve`.

    Returns
    -------
    Result
    """
    prob = Problem.coerce(problem)
    entries = schedule.get("meetings", []) if isinstance(schedule, Mapping) else list(schedule)
    gone = set(absent)
    if gone:
        later = frozenset(range(from_slot, prob.slots + 1))
        prob = Problem(
            slots=prob.slots,
            tables=prob.tables,
            participants=[
                type(p)(p.id, p.max_meetings, p.unavailable | later, p.side) if p.id in gone else p
                for p in prob.participants
            ],
            meetings=prob.meetings,
            morning_slots=prob.morning_slots,
            fairness_threshold=prob.fairness_threshold,
        )
    past = [
        Lock(str(e["id"]), int(e["slot"]), e.get("table"))
        for e in entries
        if int(e["slot"]) < from_slot
    ]
    frozen = range(1, from_slot)
    return solve(prob, locked=[*past, *locked], frozen_slots=frozen, **kwargs)
